"""The weekly boundary ledger: per block, what was planned, lost to meetings let through, kept and
made up, in one week (Monday to Sunday in the rules' zone). Pure: no clock, no I/O.

The ledger counts two kinds of :class:`Item`: a meeting that landed on a block (with the decision
boundaryd made) and a make-up event boundaryd owns (tag ``makeup:KEY``). A sync sees only the
window ahead of ``now``; the journal's one record of the week's past (the planner's
``LedgerRow`` rows, read by ``engine.journal_ledger``) holds what it saw
before. :func:`fresh_items` and :func:`merge` state the rule that record follows (what a plan sees,
plus the past and boundaryd's declines that left the view: ``core.keepweek`` keeps them). All
minutes are real minutes (instants, across DST changes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from boundaryd.core.ical_owned import role_of
from boundaryd.core.makeup import block_of
from boundaryd.core.model import BlockInstance, Conflict, Decision, Occurrence
from boundaryd.core.week import LET_THROUGH, block_week, monday_of, taken, union_minutes, week_bounds

__all__ = [
    "BlockLine", "Item", "Ledger", "PersonLine", "WeekPoint", "compute", "fresh_items", "merge", "monday_of",
    "target_minutes", "week_bounds",
]

MEETING = "meeting"
MAKEUP = "makeup"


@dataclass(frozen=True, slots=True)
class Item:
    """A meeting on a block, or a make-up event: what the ledger counts, as the journal keeps it."""

    kind: str  # MEETING | MAKEUP
    uid: str
    rid: str
    start: datetime  # aware
    end: datetime
    all_day: bool = False
    person: str = ""  # a meeting's organizer (the owner for their own events)
    decision: str = ""  # a meeting's Decision value
    block: str = ""  # the block a meeting was decided by; the block a make-up event makes up for
    lost: int = 0  # a meeting's minutes taken from blocks (filled by ``compute``)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.uid, self.rid)


@dataclass(frozen=True)
class BlockLine:
    block: str
    title: str
    target_minutes: int | None
    planned_minutes: int
    lost_minutes: int
    made_up_minutes: int

    @property
    def kept_minutes(self) -> int:
        return self.planned_minutes - self.lost_minutes


@dataclass(frozen=True)
class PersonLine:
    person: str
    lost_minutes: int
    events: int


@dataclass(frozen=True)
class WeekPoint:
    """One week of the history: planned and kept minutes over every block."""

    week: date
    planned_minutes: int
    kept_minutes: int


@dataclass(frozen=True)
class Ledger:
    start: datetime  # Monday 00:00 local
    end: datetime  # the next Monday 00:00 local
    blocks: tuple[BlockLine, ...]
    declined: int
    flagged: int
    allowed: int
    by_person: tuple[PersonLine, ...]
    history: tuple[WeekPoint, ...] = ()

    @property
    def planned_minutes(self) -> int:
        return sum(b.planned_minutes for b in self.blocks)

    @property
    def kept_minutes(self) -> int:
        return sum(b.kept_minutes for b in self.blocks)

    @property
    def point(self) -> WeekPoint:
        return WeekPoint(self.start.date(), self.planned_minutes, self.kept_minutes)


# --- weeks --------------------------------------------------------------------------------------


def target_minutes(block: Any) -> int | None:
    """A block's ``weekly_target`` in minutes (a duration, or a number of minutes); None when it has none."""
    value = getattr(block, "weekly_target", None)
    if value is None:
        return None
    if isinstance(value, timedelta):
        return int(value.total_seconds()) // 60
    return int(value)


# --- items from a sync --------------------------------------------------------------------------


def fresh_items(conflicts: Iterable[Conflict], occurrences: Iterable[Occurrence], owners: Sequence[str]) -> list[Item]:
    """What one plan saw: each conflicting meeting with its decision, and each make-up event."""
    me = owners[0] if owners else ""
    out = [
        Item(MEETING, c.occurrence.uid, c.occurrence.key[1], _utc(c.occurrence.start), _utc(c.occurrence.end),
             c.occurrence.all_day, c.occurrence.organizer or me, c.decision.value, c.block)
        for c in conflicts
    ]
    for o in occurrences:
        role, key = role_of(o.owned_block) if o.owned_block else ("", "")
        if role == MAKEUP and o.end > o.start:
            out.append(Item(MAKEUP, o.uid, o.key[1], _utc(o.start), _utc(o.end), o.all_day, block=block_of(key)))
    return out


def merge(stored: Iterable[Item], fresh: Iterable[Item], now: datetime) -> list[Item]:
    """The items of a week as far as known: what this sync saw, plus what an earlier sync saw and
    this one cannot (it started before ``now``, or boundaryd declined it and it left the view)."""
    seen = {i.key: i for i in fresh}
    kept = [
        i for i in stored
        if i.key not in seen and (i.start < now or (i.kind == MEETING and i.decision == Decision.DECLINE.value))
    ]
    return sorted([*seen.values(), *kept], key=lambda i: (i.start, i.key))


# --- the week's numbers --------------------------------------------------------------------------


def compute(
    monday: date, tz: ZoneInfo, blocks: Sequence[Any], instances: Sequence[BlockInstance], items: Iterable[Item]
) -> tuple[Ledger, list[Item]]:
    """The ledger of the week starting ``monday``, and its items with each meeting's lost minutes.

    ``blocks``: the rules' blocks (id, label, weekly_target); ``instances``: their instances
    overlapping the week (``planner.block_instances``), clipped here to the week.
    """
    ws, we = week_bounds(monday, tz)
    mine = [i for i in items if i.start < we and i.end > ws]
    through = [i for i in mine if i.kind == MEETING and i.decision in LET_THROUGH]
    lines = []
    for block in blocks:
        own = [b for b in instances if b.block == block.id]
        week = block_week(
            block.id, 0,
            [(b.start, b.end) for b in own],
            [(s, e) for _, s, e in taken(own, [(i.start, i.end, i.all_day) for i in through])],
            [(i.start, i.end) for i in mine if i.kind == MAKEUP and i.block == block.id],
            (ws, we),
        )
        label = getattr(block, "label", None) or getattr(block, "title", None) or block.id
        lines.append(BlockLine(block.id, str(label), target_minutes(block), week.planned_minutes, week.lost_minutes,
                               week.made_up_minutes))
    taking = {i.key for i in through}
    out = [
        replace(i, lost=union_minutes([(s, e) for _, s, e in taken(instances, [(i.start, i.end, i.all_day)])], ws, we))
        if i.key in taking else i
        for i in mine
    ]
    return week_ledger(ws, we, lines, out), out


def week_ledger(ws: datetime, we: datetime, lines: Sequence[BlockLine], items: Sequence[Item]) -> Ledger:
    """A ledger from its block lines and items (a week computed now, or one the journal kept)."""
    meetings = [i for i in items if i.kind == MEETING and ws <= i.start < we]
    people: dict[str, list[int]] = {}
    for i in items:
        if i.kind == MEETING and i.lost > 0:
            row = people.setdefault(i.person, [0, 0])
            row[0] += i.lost
            row[1] += 1
    by_person = tuple(PersonLine(p, m, n) for p, (m, n) in sorted(people.items(), key=lambda kv: (-kv[1][0], kv[0])))

    def count(d: Decision) -> int:
        return sum(1 for i in meetings if i.decision == d.value)

    return Ledger(ws, we, tuple(lines), count(Decision.DECLINE), count(Decision.FLAG), count(Decision.ALLOW), by_person)


def _utc(t: datetime) -> datetime:
    return t.astimezone(timezone.utc)
