"""Edits on the owner's copy of an iCalendar event that the core's ``ical`` module does not make.

Shared by the iCalendar-file, memory and CalDAV backends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import icalendar

from boundaryd.core import ical
from boundaryd.core.icalprops import categories, email, params, values
from boundaryd.core.model import Occurrence, Skipped
from boundaryd.errors import BadInput


def _holder(cal: icalendar.Calendar, occ: Occurrence, tz: ZoneInfo) -> icalendar.Component | None:
    """The component that holds this occurrence now, without creating an override."""
    comps = ical._components(cal, occ.uid)
    if occ.recurrence_id is None:
        plain = [c for c in comps if c.get("RECURRENCE-ID") is None]
        return plain[0] if plain else (comps[0] if comps else None)
    for c in comps:
        rid = c.get("RECURRENCE-ID")
        if rid is not None and ical._same_instant(rid.dt, occ.recurrence_id, tz):
            return c
    return None  # an instance without an override carries no mark of its own


def unflag_in(cal: icalendar.Calendar, occ: Occurrence, tz: ZoneInfo) -> bool:
    """Take CATEGORIES:Conflict off the owner's copy of this occurrence. Returns whether it changed.

    An instance of a series is marked on its own override, so the series' other instances keep
    theirs; other categories stay as they were."""
    comp = _holder(cal, occ, tz)
    if comp is None or ical.CONFLICT_CATEGORY not in categories(comp):
        return False
    rest = [c for c in categories(comp) if c != ical.CONFLICT_CATEGORY]
    comp.pop("CATEGORIES", None)
    if rest:
        comp.add("CATEGORIES", rest)
    return True


def answer_in(cal: icalendar.Calendar, occ: Occurrence, owner_emails: tuple[str, ...], partstat: str, tz: ZoneInfo) -> bool:
    """Set the owner's PARTSTAT from DECLINED back to ``partstat`` on this occurrence (the undo of a
    decline), and the decline's COMMENT off. Returns whether it changed; the series is untouched
    for one instance (the decline's override holds the answer)."""
    comp = _holder(cal, occ, tz)
    if comp is None:
        return False
    owners = {e.lower() for e in owner_emails}
    changed = False
    for a in values(comp, "ATTENDEE"):
        p = params(a)
        if email(a) in owners and str(p.get("PARTSTAT", "")).upper() == "DECLINED":
            p["PARTSTAT"] = partstat
            changed = True
    if changed:
        comp.pop("COMMENT", None)
    return changed


def ical_uid_in(text: str) -> str | None:
    """The first UID in a resource that cannot be parsed, so the report names the event."""
    m = re.search(r"^UID(?:;[^:\r\n]*)?:([^\r\n]+)", text, flags=re.MULTILINE | re.IGNORECASE)
    return m.group(1).strip()[:200] if m else None


# What a plan's decision about an event rests on: when it is, whether it happens, what it is.
# A change elsewhere (DTSTAMP, SEQUENCE, SCHEDULE-STATUS, an alarm, a server's own properties)
# does not change the decision, so an edit may be applied again on top of it.
_MATERIAL = ("RECURRENCE-ID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "STATUS", "TRANSP",
             "SUMMARY")


def material(cal: icalendar.Calendar, uid: str) -> list[tuple[str, ...]]:
    """The parts of event ``uid`` the plan decided on, comparable across two reads."""
    out = []
    for comp in ical._components(cal, uid):
        row = []
        for name in _MATERIAL:
            value = comp.get(name)
            values = value if isinstance(value, list) else [value]
            row.append("|".join(v.to_ical().decode() if hasattr(v, "to_ical") else str(v) for v in values))
        out.append(tuple(row))
    return sorted(out)


def combine(resources: Iterable[tuple[str, str, str]]) -> tuple[icalendar.Calendar, list[Skipped], dict[str, str]]:
    """One calendar from many resources, each ``(key, label, text)`` (a CalDAV href, a memory UID):
    every VTIMEZONE once, every VEVENT; the UID each key holds; unreadable resources skipped by the UID
    in their text (else the key's last path segment)."""
    combined = ical.new_calendar()
    zones: set[str] = set()
    skipped: list[Skipped] = []
    uid_key: dict[str, str] = {}
    for key, label, text in resources:
        try:
            cal = ical.parse_calendar(text, label)
        except BadInput as e:
            skipped.append(Skipped(uid=(ical_uid_in(text) or key.rsplit("/", 1)[-1])[:200], reason=e.problems[0]))
            continue
        for comp in cal.subcomponents:
            if comp.name == "VTIMEZONE":
                tzid = str(comp.get("TZID"))
                if tzid in zones:
                    continue
                zones.add(tzid)
            elif comp.name == "VEVENT":
                uid_key.setdefault(str(comp.get("UID", "")).strip(), key)
            combined.add_component(comp)
    return combined, skipped, uid_key
