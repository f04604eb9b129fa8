"""Google Calendar events as JSON, and the planner's values: pure functions, no I/O."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from boundaryd.core.model import Attendee, BlockEvent, Occurrence
from boundaryd.errors import BadInput

UTC = timezone.utc
BLOCK_KEY = "boundarydBlock"
HASH_KEY = "boundarydHash"
UID_KEY = "boundarydUid"
FLAG_COLOR = "11"  # "Tomato" in Google's event colours
FLAG_CATEGORY = "Conflict"
_PARTSTAT = {"needsAction": "NEEDS-ACTION", "accepted": "ACCEPTED", "declined": "DECLINED", "tentative": "TENTATIVE"}


def event_id_for(uid: str, variant: str = "") -> str:
    """Google's event id for the owned event ``uid``: base32hex (a-v, 0-9), 5-1024 characters."""
    digest = hashlib.sha256(f"boundaryd:{variant}:{uid}".encode()).digest()[:20]
    return "bd" + variant + base64.b32hexencode(digest).decode().lower().rstrip("=")


def stored_fingerprint(stored: str) -> str:
    """The planner's fingerprint from ``boundarydHash`` (older versions appended ``.<extra>``)."""
    return stored.partition(".")[0]


def occurrence(e: dict[str, Any], tz: ZoneInfo, owner_emails: tuple[str, ...]) -> Occurrence:
    """The planner's view of one Google event (a single event or one instance of a series)."""
    start, all_day = when(e["start"], tz)
    end, _ = when(e["end"], tz)
    rid: datetime | date | None = None
    if e.get("recurringEventId") and e.get("originalStartTime"):
        ost = e["originalStartTime"]
        rid = date.fromisoformat(ost["date"]) if ost.get("date") else when(ost, tz)[0]
    org = e.get("organizer") or {}
    attendees = tuple(
        Attendee(
            email=_me(a.get("email", ""), bool(a.get("self")), owner_emails),
            partstat=_PARTSTAT.get(a.get("responseStatus", "needsAction"), "NEEDS-ACTION"),
            name=str(a.get("displayName", ""))[:256],
        )
        for a in e.get("attendees") or []
        if a.get("email")
    )
    priv = (e.get("extendedProperties") or {}).get("private") or {}
    return Occurrence(
        uid=str(priv.get(UID_KEY) or e.get("iCalUID") or e["id"])[:1024],  # our events: the uid we wrote
        recurrence_id=rid,
        summary=str(e.get("summary", ""))[:1024],
        description=str(e.get("description", ""))[:8192],
        start=start,
        end=max(end, start),
        all_day=all_day,
        organizer=_me(org.get("email", ""), bool(org.get("self")), owner_emails),
        organizer_name=str(org.get("displayName", ""))[:256],
        attendees=attendees,
        status=str(e.get("status", "confirmed")).upper(),
        transparent=e.get("transparency") == "transparent",
        owned_block=priv.get(BLOCK_KEY) or None,
        categories=(FLAG_CATEGORY,) if e.get("colorId") == FLAG_COLOR else (),
        sequence=int(e.get("sequence", 0) or 0),
    )


def _me(email: str, is_self: bool, owner_emails: tuple[str, ...]) -> str:
    """Google's ``self`` marks the owner's entry; show it with an owner address the rules know."""
    email = email.lower()
    if is_self and owner_emails and email not in owner_emails:
        return owner_emails[0]
    return email


def block_body(event: BlockEvent, focus: bool, tz: ZoneInfo, name: str) -> dict[str, Any]:
    """The Google event for a block: recurring, busy, private, tagged; focus time when ``focus``
    (with the decline message the planner gave)."""
    import icalendar

    try:
        comp: Any = icalendar.Event.from_ical(event.ical)
    except ValueError as e:
        raise BadInput(f"{name}: block {event.block}: the block event cannot be parsed ({e})") from None
    dtstart = comp["DTSTART"]
    tzid = str(dtstart.params.get("TZID") or tz.key)
    start = dtstart.dt
    if comp.get("DTEND") is not None:
        end = comp["DTEND"].dt
    elif comp.get("DURATION") is not None:
        end = start + comp["DURATION"].dt
    else:
        end = start + timedelta(days=1) if not isinstance(start, datetime) else start
    recurrence = [
        line
        for line in unfolded(event.ical)
        if re.split(r"[;:]", line, maxsplit=1)[0].upper() in ("RRULE", "EXDATE", "RDATE", "EXRULE")
    ]
    body: dict[str, Any] = {
        "summary": str(comp.get("SUMMARY", event.title)),
        "start": edt(start, tzid),
        "end": edt(end, tzid),
        "recurrence": recurrence,
        "transparency": "opaque",
        "visibility": "private",
        "status": "confirmed",
        "extendedProperties": {
            "private": {
                BLOCK_KEY: str(comp.get("X-BOUNDARYD-BLOCK", event.block)),
                HASH_KEY: event.fingerprint,
                UID_KEY: event.uid,
            }
        },
    }
    if comp.get("DESCRIPTION") is not None:
        body["description"] = str(comp["DESCRIPTION"])
    if focus:
        body["eventType"] = "focusTime"
        body["focusTimeProperties"] = {
            "autoDeclineMode": "declineOnlyNewConflictingInvitations",
            "declineMessage": event.decline_message[:1000],
            "chatStatus": "doNotDisturb",
        }
    return body


def rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def when(value: dict[str, Any], tz: ZoneInfo) -> tuple[datetime, bool]:
    if value.get("date"):
        return datetime.combine(date.fromisoformat(value["date"]), datetime.min.time(), tz), True
    dt = datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(value.get("timeZone") or "UTC"))
    return dt.astimezone(tz), False


def bounds(e: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    try:
        return when(e["start"], ZoneInfo("UTC"))[0], when(e["end"], ZoneInfo("UTC"))[0]
    except (KeyError, ValueError, TypeError):
        return None, None


def edt(value: date | datetime, tzid: str) -> dict[str, Any]:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(tzid))
        return {"dateTime": value.isoformat(), "timeZone": tzid}
    return {"date": value.isoformat(), "timeZone": tzid}


def unfolded(text: str) -> list[str]:
    return [ln for ln in re.sub(r"\r?\n[ \t]", "", text).splitlines() if ln]


def self_email(e: dict[str, Any], owners: tuple[str, ...]) -> str | None:
    for a in e.get("attendees") or []:
        if a.get("self") or str(a.get("email", "")).lower() in owners:
            return str(a.get("email"))
    return None


_KEEP = (
    "id", "iCalUID", "status", "summary", "description", "start", "end", "originalStartTime", "recurringEventId",
    "organizer", "attendees", "transparency", "extendedProperties", "eventType", "colorId", "sequence",
)


def slim(e: dict[str, Any]) -> dict[str, Any]:
    """What the cache keeps of an event (what the planner's view needs)."""
    out = {k: e[k] for k in _KEEP if k in e}
    if "description" in out:
        out["description"] = str(out["description"])[:8192]
    return out
