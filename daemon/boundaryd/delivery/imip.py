"""Replies to organizers: an iTIP REPLY (RFC 5546) declining one occurrence, sent as iMIP (RFC 6047).

The message is ``multipart/alternative``: a ``text/plain`` part a person reads (the decline
message) and a ``text/calendar; method=REPLY`` part a calendar reads. The VEVENT carries only
what a REPLY needs — UID, DTSTAMP, DTSTART, SEQUENCE (unchanged), RECURRENCE-ID for an instance
of a series, ORGANIZER, and the owner's ATTENDEE alone with PARTSTAT=DECLINED — plus the decline
message as COMMENT. What the person reads (subject, text part, and why a reply cannot be sent)
is worded by ``presentation.reply``.

Date-times are written in UTC (no VTIMEZONE needed; RECURRENCE-ID matches by instant), floating
ones stay floating, all-day ones are DATE values.
"""

from __future__ import annotations

import email.utils
from datetime import date, datetime, timezone
from email.message import EmailMessage
from typing import Any

from boundaryd.core import addresses, model
from boundaryd.delivery.mail import format_address, message_id, usable_address
from boundaryd.presentation.reply import problem_words, reply_subject, reply_text
from boundaryd.presentation.safe import clean_header, clean_text

__all__ = ["PRODID", "build_reply", "reply_problem"]

PRODID = "-//boundaryd//boundaryd iMIP//EN"
_COMMENT_LIMIT = 4000


def reply_problem(occ: model.Occurrence) -> str | None:
    """Why no reply can be sent for ``occ`` (one line), or None when it can."""
    problem = addresses.reply_problem(occ)
    return None if problem is None else problem_words(problem, occ)


def build_reply(
    *,
    occ: model.Occurrence,
    owner_email: str,
    owner_name: str | None,
    comment: str,
    now: datetime,
    key: str,
    raw_event: Any | None = None,
    partstat: str = "DECLINED",
) -> EmailMessage:
    """The REPLY declining ``occ`` (or, undoing that, answering ``partstat``), from the owner to its organizer.

    Raises ValueError (with :func:`reply_problem`'s text) when the organizer's address cannot be
    used — the executor records that instead of sending.
    """
    import icalendar

    problem = reply_problem(occ)
    if problem:
        raise ValueError(problem)
    organizer = usable_address(occ.organizer)
    owner = usable_address(owner_email)
    assert organizer is not None
    if owner is None:
        raise ValueError(problem_words("owner-unusable", occ, owner_email=owner_email))
    text_comment = clean_text(comment, _COMMENT_LIMIT)

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "REPLY")
    ev = icalendar.Event()
    ev.add("uid", occ.uid)
    ev.add("dtstamp", now.astimezone(timezone.utc))
    ev.add("dtstart", _value(occ.start, occ.all_day))
    ev.add("dtend", _value(occ.end, occ.all_day))
    if occ.recurrence_id is not None:
        ev.add("recurrence-id", _value(occ.recurrence_id, isinstance(occ.recurrence_id, date) and not isinstance(occ.recurrence_id, datetime)))
    ev.add("sequence", int(occ.sequence))
    if occ.summary:
        ev.add("summary", clean_header(occ.summary, 300))

    org = icalendar.vCalAddress(_original_address(raw_event, "organizer", organizer) or f"mailto:{organizer}")
    if occ.organizer_name:
        org.params["CN"] = clean_header(occ.organizer_name, 100)
    ev.add("organizer", org)

    att = icalendar.vCalAddress(_original_address(raw_event, "attendee", owner) or f"mailto:{owner}")
    att.params["PARTSTAT"] = partstat
    if owner_name:
        att.params["CN"] = clean_header(owner_name, 100)
    ev.add("attendee", att)
    if text_comment:
        ev.add("comment", text_comment)
    cal.add_component(ev)
    ics = cal.to_ical().decode("utf-8")

    msg = EmailMessage()
    msg["From"] = format_address(owner_name or "", owner)
    msg["To"] = format_address(occ.organizer_name, organizer)
    msg["Subject"] = reply_subject(occ, partstat)  # which instance
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = message_id(key, owner.rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-replied"  # RFC 3834: no vacation replies to this
    msg["X-Auto-Response-Suppress"] = "All"
    text = reply_text(occ, comment=text_comment, owner_name=owner_name, owner=owner, partstat=partstat)
    msg.set_content(text, subtype="plain")
    msg.add_alternative(ics, subtype="calendar", params={"method": "REPLY"})
    return msg


def _value(value: datetime | date, all_day: bool) -> datetime | date:
    if isinstance(value, datetime):
        if all_day:
            return value.date()
        if value.tzinfo is None:
            return value  # floating stays floating
        return value.astimezone(timezone.utc)
    return value


def _original_address(raw_event: Any | None, prop: str, addr: str) -> str | None:
    """The cal-address exactly as the invitation wrote it (case, scheme), when it is ``addr``."""
    if raw_event is None:
        return None
    try:
        values = raw_event.get(prop)
        if values is None:
            return None
        if not isinstance(values, list):
            values = [values]
        for v in values:
            text = str(v)
            if usable_address(text) == addr and text.lower().startswith("mailto:"):
                return text
    except Exception:  # a malformed invitation only loses the nicety  # noqa: BLE001
        return None
    return None

