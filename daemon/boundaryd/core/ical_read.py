"""iCalendar in: a calendar's events as Occurrences, owned events and the unreadable ones.

Parsing is icalendar's, recurrence expansion is recurring-ical-events'; properties are read through
the typed accessors of :mod:`boundaryd.core.icalprops`. :func:`expand` keeps the result as data
(:class:`Expanded`), so a later, narrower window is read from it without the component trees.
Re-exported by :mod:`boundaryd.core.ical`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from sys import intern
from typing import TypeVar
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import x_wr_timezone

from boundaryd.core.ical_blocks import BLOCK_PROP, HASH_PROP
from boundaryd.core.icalprops import (
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
    timed_span,
    upper,
    values,
    when,
)
from boundaryd.core.model import Attendee, Occurrence, OwnedEvent, Skipped
from boundaryd.errors import BadInput

_T = TypeVar("_T")
#: floating and all-day times are compared in UTC by recurring-ical-events: expand a day wider
_WIDEN = timedelta(days=1)
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


def _attendees(props: Props, keep: dict[object, object]) -> tuple[Attendee, ...]:
    return tuple(
        _once(keep, Attendee(
            email=intern(email(a)),  # addresses and the few words of the standard: one copy each
            partstat=intern(param(a, "PARTSTAT", "NEEDS-ACTION").upper()),
            name=param(a, "CN")[:256],
            schedule_status=_schedule_status(a),
        ))
        for a in values(props, "ATTENDEE")
    )


def _schedule_status(value: object) -> str:
    """RFC 6638 SCHEDULE-STATUS on a calendar address: its codes, comma-separated ("" when none)."""
    found = params(value).get("SCHEDULE-STATUS") if value is not None else None
    if found is None:
        return ""
    codes = found if isinstance(found, list) else str(found).split(",")
    return ",".join(str(c).strip() for c in codes)[:64]


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


def occurrence_from(
    comp: icalendar.Component, tz: ZoneInfo, in_series: bool, shared: dict[object, object] | None = None
) -> Occurrence:
    """The planner's view of one expanded instance (a component recurring-ical-events returned).

    ``shared``: equal texts, attendees and attendee lists of the events read with it are kept once."""
    props = props_of(comp)
    keep: dict[object, object] = {} if shared is None else shared
    start_v = required_when(props, "DTSTART")
    all_day = not isinstance(start_v, datetime)
    start = as_local(start_v, tz)
    end = _end_of(props, start, all_day, tz)
    if not all_day:  # a start or end in a spring-forward gap moves forward by the gap
        start, end = timed_span(start, end)
    rid: date | datetime | None = None
    if in_series:
        r = when(props, "RECURRENCE-ID")
        rid = as_local(r, tz) if isinstance(r, datetime) else r
        if _same_time(rid, start):  # an instance where its rule put it: one object for both
            rid = start
    organizer = first(props, "ORGANIZER")
    block = first(props, BLOCK_PROP)
    return Occurrence(
        uid=_once(keep, text(props, "UID")[:1024]),
        recurrence_id=rid,
        summary=_once(keep, text(props, "SUMMARY")),
        description=_once(keep, text(props, "DESCRIPTION")),
        start=start,
        end=end,
        all_day=all_day,
        organizer=intern(email(organizer)) if organizer is not None else "",
        organizer_name=_once(keep, param(organizer, "CN")[:256]),
        attendees=_once(keep, _attendees(props, keep)),
        status=intern(upper(props, "STATUS", "CONFIRMED")),
        transparent=upper(props, "TRANSP", "OPAQUE") == "TRANSPARENT",
        owned_block=str(block) if block is not None else None,
        categories=tuple(intern(c) for c in categories(props)),
        sequence=integer(props, "SEQUENCE"),
        zone=intern(_zone_key(start_v)),
        schedule_status=_schedule_status(organizer),
        comment=text(props, "COMMENT")[:4000],
    )


def _same_time(a: date | datetime | None, b: date | datetime) -> bool:
    """``a`` and ``b`` are the same value to the letter (zone object and fold too)."""
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a == b and a.tzinfo is b.tzinfo and a.fold == b.fold
    return type(a) is type(b) and a == b


def _once(keep: dict[object, object], value: _T) -> _T:
    """``value``, or the equal one ``keep`` already holds."""
    return keep.setdefault(value, value)  # type: ignore[return-value]


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


@dataclass(frozen=True, slots=True)
class Part:
    """What one UID's components hold for a window: compact data, no component trees."""

    occurrences: tuple[Occurrence, ...] = ()
    owned: tuple[OwnedEvent, ...] = ()
    #: the UID's events that cannot be read whatever the window
    skipped: tuple[Skipped, ...] = ()
    #: instances that could not be read, with their start where it is known
    skipped_at: tuple[tuple[datetime | None, Skipped], ...] = ()
    #: RECURRENCE-IDs (in the reader's zone) of the overrides: instances with a component of their own
    overridden: frozenset[date | datetime] = frozenset()


#: the part of a UID with nothing in the window (one object for all of them)
EMPTY = Part()


@dataclass(frozen=True)
class Expanded:
    """What a calendar holds for ``[lo, hi)``, kept so a narrower window can be read from it
    without the component trees: a window inside ``[lo, hi)`` gives exactly what
    :func:`occurrences_of` gives for it. One :class:`Part` per UID, in the order the UIDs first
    appear (the events without a UID under ""), so one UID's part can be replaced alone."""

    lo: datetime
    hi: datetime
    parts: dict[str, Part]

    def covers(self, start: datetime, end: datetime) -> bool:
        return self.lo <= start and end <= self.hi

    def overrides(self, uid: str, rid: date | datetime) -> bool:
        """Whether this instance of ``uid`` has a component of its own."""
        part = self.parts.get(uid)
        return part is not None and rid in part.overridden

    def window(self, start: datetime, end: datetime) -> tuple[list[Occurrence], list[OwnedEvent], list[Skipped]]:
        """The occurrences starting in ``[start, end)`` (within ``[lo, hi)``), UID by UID."""
        occs: list[Occurrence] = []
        owned: list[OwnedEvent] = []
        skipped: list[Skipped] = []
        lo, hi = start - _WIDEN, end + _WIDEN  # the instances a fresh read of this window expands
        for p in self.parts.values():
            if p is EMPTY:  # most UIDs of a long history
                continue
            for o in p.occurrences:
                if start <= o.start < end:
                    occs.append(o)
            owned.extend(p.owned)
            skipped.extend(p.skipped)
            if p.skipped_at:
                skipped.extend(s for t, s in p.skipped_at if t is None or lo <= t < hi)
        return occs, owned, skipped


def occurrences_of(
    cal: icalendar.Calendar, start: datetime, end: datetime, tz: ZoneInfo
) -> tuple[list[Occurrence], list[OwnedEvent], list[Skipped]]:
    """Every occurrence starting in ``[start, end)``, the owned events, and the unreadable ones."""
    return expand(cal, start, end, tz).window(start, end)


def expand(cal: icalendar.Calendar, lo: datetime, hi: datetime, tz: ZoneInfo) -> Expanded:
    """Every occurrence starting in ``[lo, hi)``, the owned events and the unreadable ones, as data."""
    return Expanded(lo, hi, expand_parts(cal, lo, hi, tz))


def expand_parts(cal: icalendar.Calendar, lo: datetime, hi: datetime, tz: ZoneInfo) -> dict[str, Part]:
    """:func:`expand`'s parts: one per UID of ``cal``, in the order the UIDs first appear.

    Each UID is read on its own (nothing crosses UIDs), so a calendar of some of the UIDs gives
    the same parts for them as the whole calendar does."""
    groups: dict[str, list[icalendar.Component]] = {}
    others: list[icalendar.Component] = []
    for comp in cal.subcomponents:
        if comp.name != "VEVENT":
            others.append(comp)
        else:
            groups.setdefault(_uid(comp), []).append(comp)

    out: dict[str, _Acc] = {}
    shared: dict[object, object] = {}  # equal values of all these events kept once (they are immutable)
    good: list[icalendar.Component] = []
    series: set[str] = set()
    for uid, comps in groups.items():
        acc = out[uid] = _Acc(shared=shared)
        shared[uid] = uid  # its occurrences' UID: this very text
        if not uid:
            acc.skipped += [Skipped(uid="(no UID)", reason=f"event {text(c, 'SUMMARY')[:60]!r} has no UID") for c in comps]
            continue
        reason = next((r for c in comps if (r := _broken_reason(c))), None)
        if reason:
            acc.skipped.append(Skipped(uid=uid[:200], reason=reason))
            continue
        good.extend(comps)
        # `in`, not get(): a miss in get() raises and catches KeyError, the bulk of this loop's cost
        if any(p in c for c in comps for p in ("RRULE", "RDATE", "RECURRENCE-ID")):
            series.add(uid)
        for c in comps:
            if BLOCK_PROP in c and "RECURRENCE-ID" not in c:
                acc.owned.append(OwnedEvent(uid=uid, block=text(c, BLOCK_PROP), fingerprint=text(c, HASH_PROP)))
            if "RECURRENCE-ID" in c:
                acc.overridden.add(_rid_key(c, tz))

    failed: list[tuple[str, Skipped]] = []
    for instance in _expand(others, good, lo, hi, failed):
        uid = text(instance, "UID")
        acc = out.setdefault(uid.strip(), _Acc(shared=shared))
        try:
            occ = occurrence_from(instance, tz, uid in series, acc.shared)
        except Exception as e:  # noqa: BLE001 - one unreadable instance must not stop the rest
            acc.skipped_at.append((_start_or_none(instance, tz), Skipped(uid=uid[:200], reason=one_line(e))))
            continue
        if lo <= occ.start < hi:
            acc.occurrences.append(occ)
    for key, s in failed:
        out.setdefault(key, _Acc()).skipped.append(s)
    return {uid: acc.part() for uid, acc in out.items()}


@dataclass(slots=True)
class _Acc:
    occurrences: list[Occurrence] = field(default_factory=list)
    owned: list[OwnedEvent] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    skipped_at: list[tuple[datetime | None, Skipped]] = field(default_factory=list)
    overridden: set[date | datetime] = field(default_factory=set)
    shared: dict[object, object] = field(default_factory=dict)

    def part(self) -> Part:
        if not (self.occurrences or self.owned or self.skipped or self.skipped_at or self.overridden):
            return EMPTY  # most UIDs of a long history: nothing in the window
        return Part(tuple(self.occurrences), tuple(self.owned), tuple(self.skipped), tuple(self.skipped_at),
                    frozenset(self.overridden) if self.overridden else _NO_RIDS)


_NO_RIDS: frozenset[date | datetime] = frozenset()  # one for every part without overrides


def _rid_key(comp: icalendar.Component, tz: ZoneInfo) -> date | datetime:
    """An override's RECURRENCE-ID as :func:`occurrence_from` gives it (``Occurrence.recurrence_id``)."""
    try:
        r = when(comp, "RECURRENCE-ID")
    except Exception:  # noqa: BLE001 - not a date: it overrides no instance we can name
        return date.min
    if r is None:
        return date.min
    return as_local(r, tz) if isinstance(r, datetime) else r


def _start_or_none(instance: icalendar.Component, tz: ZoneInfo) -> datetime | None:
    try:
        v = when(instance, "DTSTART")
    except Exception:  # noqa: BLE001 - the instance is unreadable already
        return None
    return as_local(v, tz) if v is not None else None


def _expand(
    others: list[icalendar.Component],
    events: list[icalendar.Component],
    start: datetime,
    end: datetime,
    skipped: list[tuple[str, Skipped]],
) -> Iterable[icalendar.Component]:
    """Expand all events at once; if that fails, per UID so one bad series is skipped alone."""
    cal = icalendar.Calendar()
    cal.subcomponents = [*others, *events]
    # widen by a day each side: floating and all-day times are compared in UTC by the library
    lo, hi = start - _WIDEN, end + _WIDEN
    try:
        return list(recurring_ical_events.of(cal).between(lo, hi))
    except Exception:  # noqa: BLE001, S110 - fall back to per-UID expansion below
        pass
    by_uid: dict[str, list[icalendar.Component]] = defaultdict(list)
    for e in events:
        by_uid[_uid(e)].append(e)
    out: list[icalendar.Component] = []
    for uid, comps in by_uid.items():
        one = icalendar.Calendar()
        one.subcomponents = [*others, *comps]
        try:
            out.extend(recurring_ical_events.of(one).between(lo, hi))
        except Exception as e:  # noqa: BLE001 - a broken event must not stop the rest
            skipped.append((uid, Skipped(uid=uid[:200], reason=f"recurrence cannot be expanded ({one_line(e)})")))
    return out


