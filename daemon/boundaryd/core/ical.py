"""iCalendar in and out: calendars → Occurrences, blocks → owned VEVENTs, declines and flags as edits.

Shared by the iCalendar-file and CalDAV backends. Parsing is icalendar's, recurrence expansion is
recurring-ical-events', time zones are zoneinfo's: nothing here expands a rule by hand. Properties
are read through the typed accessors of :mod:`boundaryd.core.icalprops`; blocks are written and
expanded by :mod:`boundaryd.core.ical_blocks` (re-exported here).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import x_wr_timezone

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
from boundaryd.core.icalprops import (
    MAX_TEXT,
    Props,
    as_local,
    categories,
    duration,
    email,
    first,
    integer,
    one_line,
    param,
    params,
    props_of,
    required_when,
    text,
    upper,
    values,
    when,
)
from boundaryd.core.model import Attendee, BlockEvent, Occurrence, OwnedEvent, Skipped
from boundaryd.errors import BadInput

__all__ = [
    "BLOCK_PROP",
    "CONFLICT_CATEGORY",
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
_TIME_PROPS = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID")


# --- reading ------------------------------------------------------------------------------


def parse_calendar(data: bytes | str, name: str) -> icalendar.Calendar:
    """Parse a whole calendar; BadInput when it is not a calendar at all."""
    if isinstance(data, bytes):
        text = data.decode("utf-8", errors="replace")
    else:
        text = data
    text = text.lstrip("\ufeff")  # a byte order mark, as some Windows exports write
    if "BEGIN:VCALENDAR" not in text[:4096].upper():
        raise BadInput(f"{name}: not an iCalendar file (no BEGIN:VCALENDAR)")
    try:
        cals = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as e:  # noqa: BLE001 - icalendar raises ValueError and friends on damage
        raise BadInput(f"{name}: cannot be read as iCalendar ({one_line(e)})") from None
    if not cals:
        raise BadInput(f"{name}: no VCALENDAR in the file")
    cal = cals[0]
    for extra in cals[1:]:  # several VCALENDARs in one file: read them as one
        for sub in extra.subcomponents:
            cal.add_component(sub)
    if cal.get("X-WR-TIMEZONE"):
        try:
            cal = x_wr_timezone.to_standard(cal)
        except Exception as e:  # noqa: BLE001 - a broken event must not stop the rest
            raise BadInput(f"{name}: X-WR-TIMEZONE could not be applied ({one_line(e)})") from None
    return cal


def _broken_reason(comp: icalendar.Component) -> str | None:
    for prop, msg in comp.errors:
        if prop in _TIME_PROPS or prop is None:
            return f"{prop or 'structure'}: {one_line(Exception(msg))}"
    if "DTSTART" not in comp:
        return "no DTSTART"
    return None


def _attendees(props: Props) -> tuple[Attendee, ...]:
    return tuple(
        Attendee(
            email=email(a),
            partstat=param(a, "PARTSTAT", "NEEDS-ACTION").upper(),
            name=param(a, "CN")[:256],
        )
        for a in values(props, "ATTENDEE")
    )


def _end_of(props: Props, start: datetime, all_day: bool, tz: ZoneInfo) -> datetime:
    """Where an instance ends: DTEND, else DTSTART + DURATION, else RFC 5545's default length."""
    dtend = when(props, "DTEND")
    length = duration(props) if dtend is None else None  # DTEND wins; a DURATION beside it is not read
    if dtend is not None:
        end = as_local(dtend, tz)
    elif length is not None:
        end = start + length
    else:
        end = start + (timedelta(days=1) if all_day else timedelta(0))
    if all_day:  # a local day, whatever DST does to its length
        end = datetime.combine(end.date(), time(0), tz)
    return max(end, start)


def occurrence_from(comp: icalendar.Component, tz: ZoneInfo, in_series: bool) -> Occurrence:
    """The planner's view of one expanded instance (a component recurring-ical-events returned)."""
    props = props_of(comp)
    start_v = required_when(props, "DTSTART")
    all_day = not isinstance(start_v, datetime)
    start = as_local(start_v, tz)
    rid: date | datetime | None = None
    if in_series:
        r = when(props, "RECURRENCE-ID")
        rid = as_local(r, tz) if isinstance(r, datetime) else r
    organizer = first(props, "ORGANIZER")
    block = first(props, BLOCK_PROP)
    return Occurrence(
        uid=text(props, "UID")[:1024],
        recurrence_id=rid,
        summary=text(props, "SUMMARY"),
        description=text(props, "DESCRIPTION"),
        start=start,
        end=_end_of(props, start, all_day, tz),
        all_day=all_day,
        organizer=email(organizer) if organizer is not None else "",
        organizer_name=param(organizer, "CN")[:256],
        attendees=_attendees(props),
        status=upper(props, "STATUS", "CONFIRMED"),
        transparent=upper(props, "TRANSP", "OPAQUE") == "TRANSPARENT",
        owned_block=str(block) if block is not None else None,
        categories=categories(props),
        sequence=integer(props, "SEQUENCE"),
        zone=_zone_key(start_v),
    )


def _zone_key(start: date | datetime) -> str:
    """The IANA zone a DTSTART names (a Windows TZID mapped); "" for a date, floating time, UTC or an unknown zone."""
    from icalendar.timezone import tzid_from_dt
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    if not isinstance(start, datetime) or start.tzinfo is None:
        return ""
    name = str(tzid_from_dt(start) or "")
    name = WINDOWS_TO_OLSON.get(name, name)
    try:
        return "" if name.upper() in ("", "UTC", "ETC/UTC", "Z", "GMT") else ZoneInfo(name).key
    except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        return ""


def _uid(comp: Props) -> str:
    return text(comp, "UID").strip()


def occurrences_of(
    cal: icalendar.Calendar, start: datetime, end: datetime, tz: ZoneInfo
) -> tuple[list[Occurrence], list[OwnedEvent], list[Skipped]]:
    """Every occurrence starting in ``[start, end)``, the owned events, and the unreadable ones."""
    groups: dict[str, list[icalendar.Component]] = defaultdict(list)
    skipped: list[Skipped] = []
    others: list[icalendar.Component] = []
    for comp in cal.subcomponents:
        if comp.name != "VEVENT":
            others.append(comp)
            continue
        uid = _uid(comp)
        if not uid:
            skipped.append(Skipped(uid="(no UID)", reason=f"event {text(comp, 'SUMMARY')[:60]!r} has no UID"))
            continue
        groups[uid].append(comp)

    good: list[icalendar.Component] = []
    owned: list[OwnedEvent] = []
    series: set[str] = set()
    for uid, comps in groups.items():
        reason = next((r for c in comps if (r := _broken_reason(c))), None)
        if reason:
            skipped.append(Skipped(uid=uid[:200], reason=reason))
            continue
        good.extend(comps)
        # `in`, not get(): a miss in get() raises and catches KeyError, the bulk of this loop's cost
        if any(p in c for c in comps for p in ("RRULE", "RDATE", "RECURRENCE-ID")):
            series.add(uid)
        for c in comps:
            if BLOCK_PROP in c and "RECURRENCE-ID" not in c:
                owned.append(OwnedEvent(uid=uid, block=text(c, BLOCK_PROP), fingerprint=text(c, HASH_PROP)))

    occurrences: list[Occurrence] = []
    for instance in _expand(others, good, start, end, skipped):
        try:
            occ = occurrence_from(instance, tz, text(instance, "UID") in series)
        except Exception as e:  # noqa: BLE001 - one unreadable instance must not stop the rest
            skipped.append(Skipped(uid=text(instance, "UID")[:200], reason=one_line(e)))
            continue
        if start <= occ.start < end:
            occurrences.append(occ)
    return occurrences, owned, skipped


def _expand(
    others: list[icalendar.Component],
    events: list[icalendar.Component],
    start: datetime,
    end: datetime,
    skipped: list[Skipped],
) -> Iterable[icalendar.Component]:
    """Expand all events at once; if that fails, per UID so one bad series is skipped alone."""
    cal = icalendar.Calendar()
    cal.subcomponents = [*others, *events]
    # widen by a day each side: floating and all-day times are compared in UTC by the library
    lo, hi = start - timedelta(days=1), end + timedelta(days=1)
    try:
        return list(recurring_ical_events.of(cal).between(lo, hi))
    except Exception:  # noqa: BLE001, S110 - fall back to per-UID expansion below
        pass
    by_uid: dict[str, list[icalendar.Component]] = defaultdict(list)
    for e in events:
        by_uid[text(e, "UID")].append(e)
    out: list[icalendar.Component] = []
    for uid, comps in by_uid.items():
        one = icalendar.Calendar()
        one.subcomponents = [*others, *comps]
        try:
            out.extend(recurring_ical_events.of(one).between(lo, hi))
        except Exception as e:  # noqa: BLE001 - a broken event must not stop the rest
            skipped.append(Skipped(uid=uid[:200], reason=f"recurrence cannot be expanded ({one_line(e)})"))
    return out


# --- edits on the owner's copy --------------------------------------------------------------


def _components(cal: icalendar.Calendar, uid: str) -> list[icalendar.Component]:
    return [c for c in cal.subcomponents if c.name == "VEVENT" and _uid(c) == uid]


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
    length = _length(master)
    override.add("RECURRENCE-ID", value)
    override.add("DTSTART", value)
    override.add("DTEND", value + length)
    cal.add_component(override)
    return override


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
    before = len(cal.subcomponents)
    cal.subcomponents = [c for c in cal.subcomponents if not (c.name == "VEVENT" and _uid(c) == uid)]
    return len(cal.subcomponents) != before


def put_block_in(cal: icalendar.Calendar, event: BlockEvent, stamp: datetime) -> None:
    remove_uid(cal, event.uid)
    cal.add_component(block_component(event, stamp))
    cal.add_missing_timezones()
