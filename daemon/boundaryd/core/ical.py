"""iCalendar in and out: calendars → Occurrences, blocks → owned VEVENTs, declines and flags as edits.

Shared by the iCalendar-file and CalDAV backends. Parsing is icalendar's, recurrence expansion is
recurring-ical-events', time zones are zoneinfo's: nothing here expands a rule by hand. Properties
are read through the typed accessors of :mod:`boundaryd.core.icalprops`; blocks are written and
expanded by :mod:`boundaryd.core.ical_blocks` and calendars read by :mod:`boundaryd.core.ical_read` (both re-exported here).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar

from boundaryd.core.ical_blocks import (
    BLOCK_PROP,
    HASH_PROP,
    PRODID,
    RRULE_EPOCH,
    UID_DOMAIN,
    block_calendar,
    block_component,
    block_events,
    block_uid,
    expand_blocks,
    new_calendar,
)
from boundaryd.core.ical_read import Expanded, _uid, expand, occurrence_from, occurrences_of, parse_calendar
from boundaryd.core.icalprops import (
    MAX_TEXT,
    as_local,
    categories,
    duration,
    email,
    params,
    required_when,
    text,
    values,
    when,
)
from boundaryd.core.model import BlockEvent, Occurrence
from boundaryd.core.vtimezone import add_timezones

__all__ = [
    "BLOCK_PROP",
    "CONFLICT_CATEGORY",
    "Expanded",
    "HASH_PROP",
    "MAX_TEXT",
    "PRODID",
    "RRULE_EPOCH",
    "UID_DOMAIN",
    "as_local",
    "block_calendar",
    "block_component",
    "block_events",
    "block_uid",
    "decline_in",
    "expand",
    "expand_blocks",
    "flag_in",
    "new_calendar",
    "occurrence_from",
    "occurrences_of",
    "parse_calendar",
    "put_block_in",
    "remove_uid",
]

CONFLICT_CATEGORY = "Conflict"


# --- edits on the owner's copy --------------------------------------------------------------


_INDEX_ATTR = "_boundaryd_uid_index"


def _uid_index(cal: icalendar.Calendar) -> dict[str, list[icalendar.Component]]:
    """The calendar's VEVENTs by UID, in calendar order; kept on the calendar and brought up to
    date when components were appended (rebuilt when the list was replaced or changed otherwise)."""
    subs: list[icalendar.Component] = cal.subcomponents
    cached = getattr(cal, _INDEX_ATTR, None)
    if cached is not None:
        owner, count, last, index = cached
        if owner is subs and len(subs) >= count and (count == 0 or subs[count - 1] is last):
            start = count
        else:
            start, index = 0, defaultdict(list)
    else:
        start, index = 0, defaultdict(list)
    for c in subs[start:]:
        if c.name == "VEVENT":
            index[_uid(c)].append(c)
    setattr(cal, _INDEX_ATTR, (subs, len(subs), subs[-1] if subs else None, index))
    return index  # type: ignore[no-any-return]


def _components(cal: icalendar.Calendar, uid: str) -> list[icalendar.Component]:
    """The VEVENTs of ``uid``, by key (an index on the calendar), not by a scan of every event."""
    return list(_uid_index(cal).get(uid, ()))


def _same_instant(a: date | datetime, b: date | datetime, tz: ZoneInfo) -> bool:
    if isinstance(a, datetime) != isinstance(b, datetime):
        return False
    if isinstance(a, datetime) and isinstance(b, datetime):
        return as_local(a, tz) == as_local(b, tz)
    return a == b


def _is_master(comp: icalendar.Component) -> bool:
    return "RECURRENCE-ID" not in comp


def _is_instance(comp: icalendar.Component, rid: date | datetime, tz: ZoneInfo) -> bool:
    """Whether ``comp`` is the override for the instance whose original start is ``rid``."""
    if _is_master(comp):
        return False
    try:
        own = when(comp, "RECURRENCE-ID")
    except ValueError:  # not a date: it overrides no instance we can name
        return False
    return own is not None and _same_instant(own, rid, tz)


def _instance_component(cal: icalendar.Calendar, occ: Occurrence, tz: ZoneInfo) -> icalendar.Component | None:
    """The component that holds this occurrence, creating an override for one instance of a series."""
    comps = _components(cal, occ.uid)
    if not comps:
        return None
    rid_v = occ.recurrence_id
    if rid_v is None:
        plain = [c for c in comps if _is_master(c)]
        return plain[0] if plain else comps[0]
    for c in comps:
        if _is_instance(c, rid_v, tz):
            return c
    masters = [c for c in comps if _is_master(c)]
    if not masters:
        return None
    master = masters[0]
    override = copy.deepcopy(master)
    for prop in ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "DTSTART", "DTEND", "DURATION"):
        override.pop(prop, None)
    m_start = required_when(master, "DTSTART")
    if isinstance(m_start, datetime) and isinstance(rid_v, datetime):
        value: date | datetime = (
            rid_v.astimezone(m_start.tzinfo) if m_start.tzinfo else rid_v.astimezone(tz).replace(tzinfo=None)
        )
    else:
        value = rid_v if not isinstance(rid_v, datetime) else rid_v.date()
    override.add("RECURRENCE-ID", value)
    override.add("DTSTART", value)
    override.add("DTEND", _instance_end(value, occ, _length(master)))
    cal.add_component(override)
    return override


def _instance_end(start: date | datetime, occ: Occurrence, length: timedelta) -> date | datetime:
    """Where the override of ``occ`` ends: as long as the instance was, in real time.

    An aware start keeps the instance's elapsed length (a wall-clock sum would stretch or shrink it
    when the master's start falls in a daylight-saving gap); floating times and dates add ``length``.
    """
    if isinstance(start, datetime) and start.tzinfo is not None:
        elapsed = occ.end.astimezone(timezone.utc) - occ.start.astimezone(timezone.utc)
        return (start.astimezone(timezone.utc) + elapsed).astimezone(start.tzinfo)
    return start + length


def _length(comp: icalendar.Component) -> timedelta:
    start = required_when(comp, "DTSTART")
    end = when(comp, "DTEND")
    if end is not None:
        if isinstance(start, datetime) != isinstance(end, datetime):
            raise TypeError("DTSTART and DTEND are not of one type (a date and a date-time)")
        return end - start
    length = duration(comp)
    if length is not None:
        return length
    return timedelta(days=1) if not isinstance(start, datetime) else timedelta(0)


def decline_in(
    cal: icalendar.Calendar, occ: Occurrence, owner_emails: Sequence[str], comment: str | None, tz: ZoneInfo
) -> bool:
    """Set the owner's PARTSTAT=DECLINED on this occurrence only, with ``comment`` as COMMENT
    (None: leave COMMENT alone, for servers that let attendees change nothing else).
    Returns whether anything changed."""
    comp = _instance_component(cal, occ, tz)
    if comp is None:
        return False
    owners = {e.lower() for e in owner_emails}
    changed = False
    for a in values(comp, "ATTENDEE"):
        p = params(a)  # the attendee's own parameters: setting PARTSTAT here changes the event
        if email(a) in owners and str(p.get("PARTSTAT", "")).upper() != "DECLINED":
            p["PARTSTAT"] = "DECLINED"
            p.pop("RSVP", None)
            changed = True
    if comment is not None and (changed or text(comp, "COMMENT") != comment):
        comp.pop("COMMENT", None)
        comp.add("COMMENT", comment)
        changed = True
    return changed


def flag_in(cal: icalendar.Calendar, occ: Occurrence, tz: ZoneInfo) -> bool:
    """Add CATEGORIES:Conflict to the owner's copy of this occurrence. Returns whether it changed."""
    comps = _components(cal, occ.uid)
    if not comps:
        return False
    # check before creating an override, so flagging twice writes nothing
    rid = occ.recurrence_id
    if rid is None or any(_is_instance(c, rid, tz) for c in comps):
        comp = _instance_component(cal, occ, tz)
        if comp is None or CONFLICT_CATEGORY in categories(comp):
            return False
    else:
        comp = _instance_component(cal, occ, tz)
        if comp is None:
            return False
    comp.add("CATEGORIES", [CONFLICT_CATEGORY])
    return True


def remove_uid(cal: icalendar.Calendar, uid: str) -> bool:
    if uid not in _uid_index(cal):
        return False
    before = len(cal.subcomponents)
    cal.subcomponents = [c for c in cal.subcomponents if not (c.name == "VEVENT" and _uid(c) == uid)]
    return len(cal.subcomponents) != before


def put_block_in(cal: icalendar.Calendar, event: BlockEvent, stamp: datetime) -> None:
    remove_uid(cal, event.uid)
    cal.add_component(block_component(event, stamp))
    add_timezones(cal)
