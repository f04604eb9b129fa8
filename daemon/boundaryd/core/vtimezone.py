"""Compact VTIMEZONEs: STANDARD/DAYLIGHT observances with an RRULE, as calendar clients write them.

icalendar's own ``add_missing_timezones`` lists every transition since 1970 as long RDATE lines;
ical.js (Thunderbird, Nextcloud) misplaces summer-time instances with those and libical stops at
2037. Here the zone's current yearly rule is found from the zone itself (the transitions it makes
in years well past today, which come from the zone's rule string), written as one RRULE per
observance starting in the first year the rule held; transitions between the events' first year
and that year, if any, are written one by one. Zones without summer time get one STANDARD.
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

_SAMPLE_YEARS = range(2040, 2068)  # 28 years: every weekday position of every date occurs
_OLDEST = 1970
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class _Transition:
    utc: datetime
    before: timedelta
    after: timedelta
    name: str
    dst: bool

    @property
    def local(self) -> datetime:
        """The wall-clock time of the change, in the offset before it (an observance's DTSTART)."""
        return (self.utc + self.before).replace(tzinfo=None)

    @property
    def kind(self) -> tuple[timedelta, timedelta, str, bool]:
        return (self.before, self.after, self.name, self.dst)


def _offset(tz: ZoneInfo, at: datetime) -> timedelta:
    off = at.astimezone(tz).utcoffset()
    assert off is not None
    return off


def _transition(tz: ZoneInfo, lo: datetime, hi: datetime) -> _Transition:
    """The change of offset in ``(lo, hi]`` (one), found to the second."""
    before = _offset(tz, lo)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if _offset(tz, mid) == before:
            lo = mid
        else:
            hi = mid
    local = hi.astimezone(tz)
    dst = local.dst()
    return _Transition(hi, before, _offset(tz, hi), local.tzname() or "", bool(dst))


def _transitions(tz: ZoneInfo, first: int, last: int) -> list[_Transition]:
    """Every change of UTC offset from the start of ``first`` to the end of ``last`` (inclusive)."""
    out = []
    step = timedelta(hours=12)
    t = datetime(first, 1, 1, tzinfo=timezone.utc) - timedelta(days=1)
    end = datetime(last + 1, 1, 1, tzinfo=timezone.utc)
    prev = _offset(tz, t)
    while t < end:
        nxt = t + step
        off = _offset(tz, nxt)
        if off != prev:
            out.append(_transition(tz, t, nxt))
            prev = off
        t = nxt
    return [x for x in out if first <= x.local.year <= last]


@dataclass(frozen=True)
class _Rule:
    """A yearly change: in ``month``, on ``weekday`` with day of month in ``days``, at ``clock``."""

    month: int
    weekday: int
    days: tuple[int, ...]
    clock: tuple[int, int, int]

    def matches(self, t: _Transition) -> bool:
        loc = t.local
        return (
            loc.month == self.month and loc.weekday() == self.weekday and loc.day in self.days
            and (loc.hour, loc.minute, loc.second) == self.clock
        )

    def recur(self) -> dict[str, object]:
        wd = _BYDAY[self.weekday]
        first = self.days[0]
        if first in (1, 8, 15, 22) and self.days == tuple(range(first, first + 7)):
            return {"FREQ": "YEARLY", "BYMONTH": self.month, "BYDAY": f"{(first - 1) // 7 + 1}{wd}"}
        if self.month != 2 and self.days[-1] == calendar.monthrange(2001, self.month)[1]:
            return {"FREQ": "YEARLY", "BYMONTH": self.month, "BYDAY": f"-1{wd}"}
        return {"FREQ": "YEARLY", "BYMONTH": self.month, "BYDAY": wd, "BYMONTHDAY": list(self.days)}


def _rule_of(samples: list[_Transition]) -> _Rule | None:
    """The yearly rule every sample follows, or None when they follow none we can write."""
    locs = [t.local for t in samples]
    months = {x.month for x in locs}
    weekdays = {x.weekday() for x in locs}
    clocks = {(x.hour, x.minute, x.second) for x in locs}
    day_lo, day_hi = min(x.day for x in locs), max(x.day for x in locs)
    if len(months) != 1 or len(weekdays) != 1 or len(clocks) != 1 or day_hi - day_lo != 6:
        return None
    return _Rule(months.pop(), weekdays.pop(), tuple(range(day_lo, day_hi + 1)), clocks.pop())


def _follows(rule: _Rule | None, t: _Transition) -> bool:
    return rule is not None and rule.matches(t)


def _observance(kind: tuple[timedelta, timedelta, str, bool], start: datetime) -> icalendar.cal.Component:
    before, after, name, dst = kind
    comp: icalendar.cal.Component = icalendar.TimezoneDaylight() if dst else icalendar.TimezoneStandard()
    comp.add("DTSTART", start)
    comp.add("TZOFFSETFROM", before)
    comp.add("TZOFFSETTO", after)
    if name:
        comp.add("TZNAME", name)
    return comp


def _yearly_part(tz: ZoneInfo, since: int) -> tuple[list[icalendar.cal.Component], int] | None:
    """The RRULE observances of the zone's current rule and the first year they hold from."""
    future = _transitions(tz, _SAMPLE_YEARS[0], _SAMPLE_YEARS[-1])
    if not future:
        return None
    kinds: dict[tuple[timedelta, timedelta, str, bool], list[_Transition]] = {}
    for t in future:
        kinds.setdefault(t.kind, []).append(t)
    rules = {k: _rule_of(v) for k, v in kinds.items()}
    if any(r is None or len(kinds[k]) != len(_SAMPLE_YEARS) for k, r in rules.items()):
        raise ValueError(f"{tz.key}: no yearly rule found for its transitions")
    # Walk back year by year while the zone still follows the rule, to where it began.
    start = _SAMPLE_YEARS[0]
    while start >= since:  # one year before `since` too: an observance precedes every instant
        year = _transitions(tz, start - 1, start - 1)
        if len(year) != len(rules) or not all(_follows(rules.get(t.kind), t) for t in year):
            break
        start -= 1
    out = []
    for kind, rule in rules.items():
        assert rule is not None
        first = next(t for t in _transitions(tz, start, start) if t.kind == kind)
        comp = _observance(kind, first.local)
        comp.add("RRULE", rule.recur())
        out.append(comp)
    return out, start


def vtimezone(tzid: str, since: date) -> icalendar.Timezone:
    """A compact VTIMEZONE for ``tzid`` that is right for every instant from ``since`` on."""
    comp = icalendar.Timezone.from_ical(_vtimezone_text(tzid, max(since.year, _OLDEST)))
    assert isinstance(comp, icalendar.Timezone)
    return comp


@functools.lru_cache(maxsize=64)
def _vtimezone_text(tzid: str, since_year: int) -> str:
    tz = ZoneInfo(tzid)
    yearly = _yearly_part(tz, since_year)
    comps, rule_start = yearly if yearly is not None else ([], _SAMPLE_YEARS[-1] + 1)
    # Changes between `since` and the rule's first year, written one by one (none for most zones).
    explicit = _transitions(tz, since_year, rule_start - 1) if since_year < rule_start else []
    if yearly is None or explicit or since_year < rule_start:
        at = datetime(since_year, 1, 1, tzinfo=timezone.utc) - timedelta(days=1)
        off = _offset(tz, at)
        loc = at.astimezone(tz)
        initial = _observance((off, off, loc.tzname() or "", bool(loc.dst())), datetime(_OLDEST, 1, 1))
        comps.insert(0, initial)
    for t in explicit:
        comps.append(_observance(t.kind, t.local))
    vtz = icalendar.Timezone()
    vtz.add("TZID", tzid)
    for c in comps:
        vtz.add_component(c)
    return str(vtz.to_ical().decode())


def _tzids_and_starts(cal: icalendar.Calendar) -> dict[str, date]:
    """Each TZID the calendar's events use, with the earliest date it is used from."""
    out: dict[str, date] = {}
    for comp in cal.walk():
        if comp.name == "VTIMEZONE":
            continue
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE", "DUE"):
            values = comp.get(name)
            for prop in values if isinstance(values, list) else [values]:
                try:
                    _note_start(prop, out)
                except Exception:  # noqa: BLE001, S112 - a broken property is the reader's to report
                    continue
    return out


def _note_start(prop: Any, out: dict[str, date]) -> None:
    """Add the zone and day of one date-time property to ``out``."""
    if prop is None:
        return
    tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
    dts = [d.dt for d in prop.dts] if hasattr(prop, "dts") else [getattr(prop, "dt", None)]
    for dt in dts:
        if isinstance(dt, datetime) and dt.tzinfo is not None:
            key = str(tzid) if tzid else getattr(dt.tzinfo, "key", None)
            if key and key != "UTC":
                day = dt.date()
                out[key] = min(out.get(key, day), day)


def add_timezones(cal: icalendar.Calendar) -> None:
    """Add a compact VTIMEZONE for every zone the events use that the calendar does not define."""
    have = {str(c["TZID"]) for c in cal.walk("VTIMEZONE")}
    for tzid, since in sorted(_tzids_and_starts(cal).items()):
        if tzid in have:
            continue
        try:
            zone = vtimezone(tzid, since)
        except ValueError:  # no yearly rule (e.g. Morocco's moving Ramadan change): every transition
            zone = icalendar.Timezone.from_tzid(tzid)
        except (KeyError, OSError):
            continue  # not an IANA zone: leave it to the reader, as before
        cal.subcomponents.insert(0, zone)
