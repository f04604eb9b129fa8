"""Free time to offer instead: free working-hours slots after a declined meeting, spread out.

The first aims at the meeting's own time of day on the first working day that has room, the
second at the other half of the working day on the next one (the same day when no other has room):
never the first free minute of each day.

Pure. Busy time is the blocks plus the events not declined; a slot offered once is busy for the
next decline of the same plan, so two organizers are never offered the same time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from boundaryd.core.model import BlockInstance, Occurrence
from boundaryd.core.rules import Rules

SLOT_STEP = timedelta(minutes=30)
MAX_ALTERNATIVES = 2


class BusyIndex:
    """Busy intervals bucketed by local date, for quick 'is this slot free' checks."""

    def __init__(self, blocks: Sequence[BlockInstance], events: Sequence[Occurrence]) -> None:
        self.by_day: dict[date, list[tuple[datetime, datetime]]] = defaultdict(list)
        for s, e in [(b.start, b.end) for b in blocks] + [(o.start, o.end) for o in events]:
            self.add(s, e)

    def add(self, s: datetime, e: datetime) -> None:
        d = s.date()
        while True:
            self.by_day[d].append((s, e))
            d += timedelta(days=1)
            if datetime.combine(d, time(0), s.tzinfo) >= e:
                break

    def busy_until(self, start: datetime, end: datetime) -> datetime | None:
        """The end of a busy interval overlapping ``[start, end)``; None when the slot is free."""
        for s, e in self.by_day.get(start.date(), ()):
            if s < end and e > start:
                return e
        return None

    def day_free(self, d: date) -> bool:
        return not self.by_day.get(d)


def alternatives(
    rules: Rules, occ: Occurrence, busy: BusyIndex, now: datetime, window_end: datetime
) -> tuple[datetime, ...]:
    tz = rules.tz
    wh = rules.working_hours
    if occ.all_day:
        out: list[datetime] = []
        n = max(1, (occ.end.date() - occ.start.date()).days)  # as many days as the event
        d = max(occ.start, now).date() + timedelta(days=1)
        # the whole span inside the window: beyond it, blocks and busy events are unknown
        while len(out) < MAX_ALTERNATIVES and datetime.combine(d + timedelta(days=n), time(0), tz) <= window_end:
            span = [d + timedelta(days=k) for k in range(n)]
            if all(x.weekday() in wh.days and busy.day_free(x) for x in span):
                out.append(datetime.combine(d, time(0), tz))
                d += timedelta(days=n)
            else:
                d += timedelta(days=1)
        return tuple(out)
    length = occ.end - occ.start
    earliest = max(occ.start, now)
    targets = _targets(occ.start.astimezone(tz), wh.start, wh.end, length)
    found: list[datetime] = []
    d = earliest.date()
    while datetime.combine(d, time(0), tz) < window_end and len(found) < MAX_ALTERNATIVES:
        if d.weekday() in wh.days:
            slot = _nearest_free_on(d, targets[len(found)], wh.start, wh.end, length, earliest, window_end, busy, tz, found)
            if slot is not None:
                found.append(slot)
        d += timedelta(days=1)
    if len(found) < MAX_ALTERNATIVES and found:  # no second day: a second slot on the same day
        d = found[0].date()
        slot = _nearest_free_on(d, targets[1], wh.start, wh.end, length, earliest, window_end, busy, tz, found)
        if slot is not None:
            found.append(slot)
            found.sort()
    return tuple(found)


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _targets(start: datetime, wh_start: time, wh_end: time, length: timedelta) -> tuple[int, int]:
    """The times of day (minutes) the two alternatives aim at: the meeting's own time of day (the
    organizer chose it), then the other half of the working day, so the offers are spread."""
    lo, hi = _minutes(wh_start), max(_minutes(wh_start), _minutes(wh_end) - int(length.total_seconds()) // 60)
    first = min(max(_minutes(start.time()), lo), hi)
    half = (_minutes(wh_end) - _minutes(wh_start)) // 2
    second = first + half if first - lo < half else first - half
    return first, min(max(second, lo), hi)


def _nearest_free_on(
    d: date,
    target: int,
    wh_start: time,
    wh_end: time,
    length: timedelta,
    earliest: datetime,
    window_end: datetime,
    busy: BusyIndex,
    tz: object,
    taken: Sequence[datetime],
) -> datetime | None:
    """The free slot of day ``d`` (on the working-hours grid) nearest ``target`` minutes after
    midnight, the earlier of two equally near; None when the day has none."""
    day_start = datetime.combine(d, wh_start, tz)  # type: ignore[arg-type]
    day_end = datetime.combine(d, wh_end, tz)  # type: ignore[arg-type]
    aim = datetime.combine(d, time(0), tz) + timedelta(minutes=target)  # type: ignore[arg-type]
    best: datetime | None = None
    t = day_start
    while t + length <= day_end and t + length <= window_end:
        end = t + length
        if (
            t >= earliest
            and busy.busy_until(t, end) is None
            and not any(x < end and x + length > t for x in taken)
            and (best is None or abs(t - aim) < abs(best - aim))
        ):
            best = t
        t += SLOT_STEP
    return best
