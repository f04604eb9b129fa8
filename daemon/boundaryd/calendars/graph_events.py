"""Microsoft Graph events as JSON, and the planner's values: pure functions, no I/O.

Reads ask for UTC (``Prefer: outlook.timezone="UTC"``); writes name the zone the Windows way
(CLDR windowsZones, :mod:`graph_recur`) or send UTC, never an IANA name Graph may refuse.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from boundaryd.calendars.graph_recur import iana_zone, pattern_of, windows_zone
from boundaryd.core.model import Attendee, BlockEvent, Occurrence
from boundaryd.errors import BadInput

UTC = timezone.utc
#: boundaryd's property set (a fixed GUID) for its single-value extended properties
PROPSET = "{9c2f4a57-6b1e-4d0a-8f43-b0a7e1d2c3f5}"
BLOCK_ID = f"String {PROPSET} Name boundarydBlock"
HASH_ID = f"String {PROPSET} Name boundarydHash"
UID_ID = f"String {PROPSET} Name boundarydUid"
PROP_IDS = (BLOCK_ID, HASH_ID, UID_ID)
#: ``$expand`` that brings our three properties along with an event
EXPAND = "singleValueExtendedProperties($filter=" + " or ".join(f"id eq '{i}'" for i in PROP_IDS) + ")"
OWNED_CATEGORY = "boundaryd"
FLAG_CATEGORY = "Conflict"
_PARTSTAT = {"none": "NEEDS-ACTION", "notResponded": "NEEDS-ACTION", "organizer": "ACCEPTED",
             "accepted": "ACCEPTED", "tentativelyAccepted": "TENTATIVE", "declined": "DECLINED"}


def parse_time(value: dict[str, Any]) -> datetime:
    """A ``dateTimeTimeZone`` as an aware datetime (Graph gives seven fractional digits)."""
    text = str(value["dateTime"])
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?", text)
    if not m:
        raise ValueError(f"not a date-time: {text!r}")
    dt = datetime.fromisoformat(m.group(1) + (m.group(2) or "")[:7] + (m.group(3) or "").replace("Z", "+00:00"))
    if dt.tzinfo is None:
        zone = iana_zone(str(value.get("timeZone") or "UTC"))
        if not zone:
            raise ValueError(f"unknown time zone {value.get('timeZone')!r}")
        dt = dt.replace(tzinfo=ZoneInfo(zone))
    return dt


def _day(value: dict[str, Any]) -> date:
    return date.fromisoformat(str(value["dateTime"])[:10])


def props_of(e: dict[str, Any]) -> dict[str, str]:
    """Our extended properties of an event (by short name: block, hash, uid)."""
    out = {}
    for p in e.get("singleValueExtendedProperties") or []:
        name = {BLOCK_ID: "block", HASH_ID: "hash", UID_ID: "uid"}.get(str(p.get("id", "")))
        if name is None:  # Graph may answer with the property set's GUID in another case
            low = str(p.get("id", "")).lower()
            name = next((n for i, n in ((BLOCK_ID, "block"), (HASH_ID, "hash"), (UID_ID, "uid")) if i.lower() == low), None)
        if name:
            out[name] = str(p.get("value", ""))
    return out


def etag_of(e: dict[str, Any]) -> str | None:
    """The event's etag for ``If-Match``: ``@odata.etag`` as Graph gives it (``W/"<changeKey>"``),
    else built from ``changeKey``; None when the answer carries neither."""
    tag = e.get("@odata.etag")
    if tag:
        return str(tag)
    key = e.get("changeKey")
    return f'W/"{key}"' if key else None


def _email(r: Any) -> str:
    return str(((r or {}).get("emailAddress") or {}).get("address", "")).lower()


def occurrence(e: dict[str, Any], tz: ZoneInfo, owner_emails: tuple[str, ...], uid: str, props: dict[str, str]) -> Occurrence:
    """The planner's view of one calendarView item (single event, occurrence or exception).

    ``uid``: the series' iCalendar UID (Graph gives each occurrence an iCalUId of its own);
    ``props``: our extended properties, from the event or its series master.
    """
    all_day = bool(e.get("isAllDay"))
    if all_day:
        start = datetime.combine(_day(e["start"]), datetime.min.time(), tz)
        end = datetime.combine(_day(e["end"]), datetime.min.time(), tz)
    else:
        start, end = parse_time(e["start"]).astimezone(tz), parse_time(e["end"]).astimezone(tz)
    rid: datetime | date | None = None
    if e.get("seriesMasterId") and e.get("originalStart"):
        orig = parse_time({"dateTime": e["originalStart"], "timeZone": "UTC"})
        rid = orig.date() if all_day else orig.astimezone(tz)
    me = str((e.get("responseStatus") or {}).get("response", "none"))
    owners = set(owner_emails)
    organizer = _email(e.get("organizer"))
    attendees = []
    seen_me = False
    for a in e.get("attendees") or []:
        email = _email(a)
        if not email:
            continue
        partstat = _PARTSTAT.get(str((a.get("status") or {}).get("response", "none")), "NEEDS-ACTION")
        if email in owners:  # the owner's own answer is the event's responseStatus
            seen_me, partstat = True, _PARTSTAT.get(me, "NEEDS-ACTION")
        attendees.append(Attendee(email=email, partstat=partstat, name=str((a.get("emailAddress") or {}).get("name", ""))[:256]))
    if not seen_me and attendees and not e.get("isOrganizer") and owner_emails:
        attendees.append(Attendee(email=owner_emails[0], partstat=_PARTSTAT.get(me, "NEEDS-ACTION")))
    body = e.get("body") or {}
    description = str(body.get("content", "")) if body.get("contentType") == "text" else str(e.get("bodyPreview", ""))
    return Occurrence(
        uid=(props.get("uid") or uid)[:1024],
        recurrence_id=rid,
        summary=str(e.get("subject") or "")[:1024],
        description=description[:8192],
        start=start,
        end=max(end, start),
        all_day=all_day,
        organizer=organizer,
        organizer_name=str(((e.get("organizer") or {}).get("emailAddress") or {}).get("name", ""))[:256],
        attendees=tuple(attendees),
        status="CANCELLED" if e.get("isCancelled") else "CONFIRMED",
        transparent=e.get("showAs") == "free",
        owned_block=props.get("block") or None,
        categories=tuple(str(c) for c in e.get("categories") or () if c != OWNED_CATEGORY),
        zone=iana_zone(str(e.get("originalStartTimeZone") or "")),
    )


def graph_time(value: datetime | date, zone: str) -> dict[str, str]:
    """A ``dateTimeTimeZone`` to write: wall-clock time in ``zone`` named the Windows way, else UTC."""
    if not isinstance(value, datetime):
        return {"dateTime": f"{value.isoformat()}T00:00:00", "timeZone": windows_zone(zone)}
    name = windows_zone(zone)
    local = value.astimezone(ZoneInfo(zone)) if name != "UTC" else value.astimezone(UTC)
    return {"dateTime": local.replace(tzinfo=None).isoformat(timespec="seconds"), "timeZone": name}


def parse_block(event: BlockEvent, tz: ZoneInfo, name: str) -> dict[str, Any]:
    """What a block event's iCalendar says: start, end, zone, rule, skipped starts, texts."""
    import icalendar

    try:
        comp: Any = icalendar.Event.from_ical(event.ical)
    except ValueError as e:
        raise BadInput(f"{name}: block {event.block}: the block event cannot be parsed ({e})") from None
    dtstart = comp["DTSTART"]
    start = dtstart.dt
    zone = str(getattr(start, "tzinfo", None) and getattr(start.tzinfo, "key", "") or dtstart.params.get("TZID") or tz.key)
    if comp.get("DTEND") is not None:
        end = comp["DTEND"].dt
    elif comp.get("DURATION") is not None:
        end = (start.astimezone(UTC) + comp["DURATION"].dt).astimezone(start.tzinfo) if isinstance(start, datetime) else start + comp["DURATION"].dt
    else:
        end = start + timedelta(days=1) if not isinstance(start, datetime) else start
    exdates: list[date | datetime] = []
    raw = comp.get("EXDATE")
    for group in raw if isinstance(raw, list) else [raw] if raw is not None else []:
        exdates.extend(d.dt for d in group.dts)
    raw_cats = comp.get("CATEGORIES")
    categories = [str(c) for group in (raw_cats if isinstance(raw_cats, list) else [raw_cats] if raw_cats is not None else [])
                  for c in group.cats]
    return {
        "start": start, "end": end, "zone": zone, "all_day": not isinstance(start, datetime),
        "rrule": dict(comp["RRULE"]) if comp.get("RRULE") is not None else None, "exdates": exdates,
        "summary": str(comp.get("SUMMARY", event.title)), "description": str(comp.get("DESCRIPTION", "")),
        "tag": str(comp.get("X-BOUNDARYD-BLOCK", event.block)), "categories": categories,
    }


def block_body(event: BlockEvent, b: dict[str, Any], start: datetime | date, end: datetime | date,
               recurrence: dict[str, Any] | None) -> dict[str, Any]:
    """The Graph event for a block (or one of its single events): busy, private, no reminder, tagged."""
    cats = [OWNED_CATEGORY] + [c for c in b["categories"] if c != OWNED_CATEGORY]
    body: dict[str, Any] = {
        "subject": b["summary"],
        "body": {"contentType": "text", "content": b["description"]},
        "start": graph_time(start, b["zone"]),
        "end": graph_time(end, b["zone"]),
        "isAllDay": b["all_day"],
        "showAs": "busy",
        "sensitivity": "private",
        "isReminderOn": False,
        "categories": cats,
        "singleValueExtendedProperties": [
            {"id": BLOCK_ID, "value": b["tag"]},
            {"id": HASH_ID, "value": event.fingerprint},
            {"id": UID_ID, "value": event.uid},
        ],
    }
    if recurrence is not None:
        recurrence["range"]["recurrenceTimeZone"] = windows_zone(b["zone"])
        body["recurrence"] = recurrence
    return body


def recurrence_of(b: dict[str, Any]) -> dict[str, Any] | None:
    """The block's rule as Graph's pattern, or None (no rule, or one Graph cannot express)."""
    if b["rrule"] is None:
        return None
    start = b["start"]
    day = start.date() if isinstance(start, datetime) else start
    return pattern_of(b["rrule"], day)


def utc_text(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
