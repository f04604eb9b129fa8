"""One block's week, computed once: planned, lost, kept, made up, target, shortfall.

Pure: no clock, no I/O. The make-up planner (``core.makeup``) and the weekly report
(``core.ledger``) both call :func:`block_week`; they differ only in where the stretches come from
(the plan's conflicts and the journal's meeting rows, or the report's items of the same rows). A week is Monday 00:00 to
the next Monday 00:00 in the rules' zone (167, 168 or 169 real hours); every stretch is clipped to
it. Minutes are real minutes (instants, across a daylight-saving change).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from boundaryd.core.model import BlockInstance, Decision

__all__ = ["LET_THROUGH", "BlockWeek", "Interval", "Meeting", "block_week", "minutes", "monday_of", "taken", "union_minutes", "week_bounds"]

Interval = tuple[datetime, datetime]
#: a meeting let through, as :func:`taken` sees it: (start, end, all_day)
Meeting = tuple[datetime, datetime, bool]
#: decisions that let a meeting take the block's time (everything but a decline)
LET_THROUGH = frozenset({Decision.ALLOW.value, Decision.FLAG.value, Decision.KEEP.value})


@dataclass(frozen=True)
class BlockWeek:
    """One block's week, in minutes."""

    block: str
    target_minutes: int
    planned_minutes: int
    lost_minutes: int
    made_up_minutes: int

    @property
    def kept_minutes(self) -> int:
        return self.planned_minutes - self.lost_minutes

    @property
    def needed_minutes(self) -> int:
        """What make-up time should give back (the target less what was kept)."""
        return max(0, self.target_minutes - self.kept_minutes)

    @property
    def shortfall_minutes(self) -> int:
        """What no make-up time covers (a week with no free make-up time)."""
        return max(0, self.needed_minutes - self.made_up_minutes)


def monday_of(t: datetime | date, tz: ZoneInfo) -> date:
    """The Monday of the week (``tz``) holding ``t``."""
    d = t.astimezone(tz).date() if isinstance(t, datetime) else t
    return d - timedelta(days=d.weekday())


def week_bounds(monday: date, tz: ZoneInfo) -> Interval:
    """``[Monday 00:00, next Monday 00:00)`` local."""
    return datetime.combine(monday, time(0), tz), datetime.combine(monday + timedelta(days=7), time(0), tz)


def minutes(s: datetime, e: datetime) -> int:
    """Real minutes from ``s`` to ``e`` (across a DST change too)."""
    return int((e.astimezone(timezone.utc) - s.astimezone(timezone.utc)).total_seconds()) // 60


def union_minutes(stretches: Iterable[Interval], lo: datetime | None = None, hi: datetime | None = None) -> int:
    """Real minutes covered by the union of ``stretches`` (clipped to ``[lo, hi)`` when given)."""
    total, end = 0.0, float("-inf")
    cut_lo = float("-inf") if lo is None else lo.timestamp()
    cut_hi = float("inf") if hi is None else hi.timestamp()
    for s, e in sorted((max(s.timestamp(), cut_lo), min(e.timestamp(), cut_hi)) for s, e in stretches):
        if e <= end or e <= s:
            continue
        total += e - max(s, end)
        end = e
    return int(total) // 60


def taken(instances: Sequence[BlockInstance], meetings: Iterable[Meeting]) -> list[tuple[BlockInstance, datetime, datetime]]:
    """(instance, start, end) of every stretch where a meeting overlaps a block instance. An
    all-day meeting takes from all-day blocks only."""
    out = []
    for ms, me, all_day in meetings:
        for b in instances:
            if all_day and not b.all_day:
                continue
            if b.start < me and b.end > ms:
                out.append((b, max(b.start, ms), min(b.end, me)))
    return out


def block_week(
    block: str,
    target: int | None,
    planned: Iterable[Interval],
    lost: Iterable[Interval],
    made_up: Iterable[Interval],
    bounds: Interval,
) -> BlockWeek:
    """One block's week: its instances' time (``planned``), the stretches meetings let through took
    from them (``lost``) and its make-up events (``made_up``), each counted once inside ``bounds``.
    ``target``: the block's ``weekly_target`` in minutes (None: what was planned)."""
    lo, hi = bounds
    planned_m = sum(union_minutes([p], lo, hi) for p in planned)
    return BlockWeek(
        block,
        planned_m if target is None else target,
        planned_m,
        union_minutes(lost, lo, hi),
        union_minutes(made_up, lo, hi),
    )
