"""iMIP replies: built, sent through a real SMTP server, parsed back with icalendar."""

from __future__ import annotations

import sys
from datetime import date, datetime, timezone
from pathlib import Path

import icalendar
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from boundaryd.delivery.imip import build_reply, reply_problem
from boundaryd.delivery.mail import Outbox, SmtpTransport, deliver
from mail_fixtures import conflict, load_rules, occurrence
from smtp_server import SmtpServer

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def calendar_part(msg: object) -> icalendar.Calendar:
    parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]  # type: ignore[attr-defined]
    assert len(parts) == 1
    part = parts[0]
    assert part.get_param("method") == "REPLY"
    assert part.get_content_charset() == "utf-8"
    return icalendar.Calendar.from_ical(part.get_content())


def test_reply_for_an_instance_of_a_series_through_smtp(tmp_path: Path) -> None:
    rules = load_rules()
    tz = rules.tz
    rid = datetime(2026, 11, 24, 9, 0, tzinfo=tz)
    occ = occurrence(tz, recurrence_id=rid, uid="series-7@client.example")
    c = conflict(occ)
    msg = build_reply(occ=occ, owner_email="alice@example.com", owner_name="Alice Agent", comment=c.message, now=NOW, key="reply-1")
    ob = Outbox(tmp_path / "outbox")
    assert ob.put("reply-1", msg)
    with SmtpServer("none") as srv:
        r = deliver(ob, SmtpTransport(srv.config()))
        assert (r.sent, r.error) == (1, None)
        (got,) = srv.wait_for(1)
    assert got.mail_from == "alice@example.com"
    assert got.rcpt_tos == ["bob@client.example"]
    m = got.message
    assert m.get_content_type() == "multipart/alternative"
    assert m["From"].addresses[0].addr_spec == "alice@example.com"
    assert m["To"].addresses[0].addr_spec == "bob@client.example"
    assert m["To"].addresses[0].display_name == "Bob Builder"
    assert str(m["Subject"]) == "Declined: Quarterly sync (Tue 24 Nov 2026)"
    assert m["Message-ID"] == msg["Message-ID"]
    assert m.get_body(("plain",)).get_content().startswith(c.message)

    cal = calendar_part(m)
    assert str(cal["METHOD"]) == "REPLY"
    assert str(cal["PRODID"]).startswith("-//boundaryd")
    (ev,) = cal.walk("VEVENT")
    assert str(ev["UID"]) == "series-7@client.example"
    assert ev.decoded("RECURRENCE-ID") == rid  # same instant
    assert ev.decoded("DTSTART") == occ.start
    assert int(ev["SEQUENCE"]) == 2  # unchanged
    assert str(ev["COMMENT"]) == c.message
    assert "DTSTAMP" in ev
    assert str(ev["ORGANIZER"]) == "mailto:bob@client.example"
    atts = ev.get("ATTENDEE")
    atts = atts if isinstance(atts, list) else [atts]
    assert len(atts) == 1  # only the owner
    assert str(atts[0]) == "mailto:alice@example.com"
    assert atts[0].params["PARTSTAT"] == "DECLINED"
    assert atts[0].params["CN"] == "Alice Agent"


def test_deterministic_message_id_and_body() -> None:
    tz = load_rules().tz
    occ = occurrence(tz)
    a = build_reply(occ=occ, owner_email="alice@example.com", owner_name=None, comment="no", now=NOW, key="k")
    b = build_reply(occ=occ, owner_email="alice@example.com", owner_name=None, comment="no", now=NOW, key="k")
    c = build_reply(occ=occ, owner_email="alice@example.com", owner_name=None, comment="no", now=NOW, key="k2")
    assert a["Message-ID"] == b["Message-ID"] != c["Message-ID"]
    assert a["Message-ID"].endswith("@example.com>")
    ev = calendar_part(a).walk("VEVENT")[0]
    assert "RECURRENCE-ID" not in ev  # a single event: no RECURRENCE-ID
    assert a["From"] == "alice@example.com"


def test_all_day_instance_uses_dates_and_raw_event_address_is_kept() -> None:
    tz = load_rules().tz
    occ = occurrence(
        tz,
        all_day=True,
        recurrence_id=date(2026, 11, 29),
        start=datetime(2026, 11, 29, tzinfo=tz),
        end=datetime(2026, 11, 30, tzinfo=tz),
        sequence=0,
    )
    raw = icalendar.Event()
    raw.add("organizer", "MAILTO:Bob@Client.Example")
    raw.add("attendee", "mailto:Alice@Example.com")
    msg = build_reply(occ=occ, owner_email="alice@example.com", owner_name="A", comment="x", now=NOW, key="k", raw_event=raw)
    ev = calendar_part(msg).walk("VEVENT")[0]
    assert ev.decoded("RECURRENCE-ID") == date(2026, 11, 29)
    assert ev.decoded("DTSTART") == date(2026, 11, 29)
    assert str(ev["ATTENDEE"]) == "mailto:Alice@Example.com"  # as the organizer wrote it
    assert int(ev["SEQUENCE"]) == 0


def test_hostile_invitation_cannot_inject_headers() -> None:
    tz = load_rules().tz
    occ = occurrence(
        tz,
        summary="Sync\r\nBcc: victim@evil.example\r\nX-Evil: 1\u2028Cc: b@evil.example",
        organizer_name='Mallory\r\nBcc: x@evil.example "quoted" \\',
        description="<script>alert(1)</script>",
    )
    msg = build_reply(
        occ=occ, owner_email="alice@example.com", owner_name="Alice\nBcc: y@evil.example", comment="No\r\nBcc: z@evil.example",
        now=NOW, key="k",
    )
    raw = msg.as_bytes()
    head = raw.split(b"\n\n", 1)[0]
    for line in head.split(b"\n"):
        assert not line.lower().startswith((b"bcc:", b"cc:", b"x-evil:"))
    assert msg["Bcc"] is None and msg["Cc"] is None and msg["X-Evil"] is None
    assert "\n" not in str(msg["Subject"]) and "\r" not in str(msg["Subject"])
    assert msg["To"].addresses[0].addr_spec == "bob@client.example"
    assert len(msg["To"].addresses) == 1 and len(msg["From"].addresses) == 1
    ev = calendar_part(msg).walk("VEVENT")[0]
    assert "Bcc: z@evil.example" in str(ev["COMMENT"])  # body text keeps it, safely escaped in iCalendar


@pytest.mark.parametrize("organizer", ["", "not an address", "a@b.c>, evil@x.example", "x\r\n@y.example", "a@" + "b" * 300 + ".com"])
def test_unusable_organizer_is_refused_clearly(organizer: str) -> None:
    tz = load_rules().tz
    occ = occurrence(tz, organizer=organizer)
    problem = reply_problem(occ)
    assert problem is not None and problem.startswith("event evt-1@client.example:") and "\n" not in problem
    with pytest.raises(ValueError, match="evt-1@client.example"):
        build_reply(occ=occ, owner_email="alice@example.com", owner_name=None, comment="x", now=NOW, key="k")


def test_garbage_text_and_huge_fields_do_not_crash() -> None:
    tz = load_rules().tz
    occ = occurrence(
        tz,
        summary=b"\xff\xfe caf\xe9".decode("utf-8", "surrogateescape") + "x" * 1_000_000,
        organizer_name="\udcff" * 10,
        description="y" * 1_000_000,
    )
    msg = build_reply(occ=occ, owner_email="alice@example.com", owner_name=None, comment="z" * 1_000_000, now=NOW, key="k")
    data = msg.as_bytes()
    assert len(data) < 100_000
    assert len(str(msg["Subject"])) <= 170
    calendar_part(msg)
