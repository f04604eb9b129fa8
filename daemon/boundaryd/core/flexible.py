"""Flexible blocks: an instance whose usual time is taken moves to the earliest free time of its window.

Pure, part of the planner. An instance moves when a meeting boundaryd lets through (allowed,
flagged, kept, already accepted) sits on its usual time; a meeting boundaryd declines does not
move it (the decline frees the time). It moves to the earliest time inside the block's
``flexible`` window that day that is free of other blocks, busy meetings, held offers and make-up
time, never into the past; if none fits, it stays and the meeting is decided as usual.

SPEC calls the moved instance "an override of that occurrence". It is written as an EXDATE of
that date in the block's series plus one owned single event (role ``flex``, key ``block@date``):
that pair reads and writes identically on every backend (an iCalendar file, CalDAV, Google,
Microsoft Graph), where a RECURRENCE-ID override of an event boundaryd owns is not carried the
same way by Google's and Graph's instance models.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from boundaryd.core.holds import cached_event
from boundaryd.core.model import BlockEvent, BlockInstance, Conflict, Decision, LedgerRow
from boundaryd.core.rules import Rules

Interval = tuple[datetime, datetime]
#: how long moved instances stay excluded from the series after their day (so the series is not
#: rewritten the day after each move; older EXDATEs are before any series' DTSTART anyway)
KEEP_EXDATES = timedelta(days=35)


@dataclass(frozen=True)
class Moves:
    """The flexible instances moved this plan (and those remembered from earlier, still in force)."""

    moved: tuple[LedgerRow, ...] = ()  # kind "flex": key "block@date", start/end the new time

    def skips(self) -> dict[str, list[date]]:
        """The dates to exclude from each block's series."""
        out: dict[str, list[date]] = {}
        for r in self.moved:
            out.setdefault(r.block, []).append(date.fromisoformat(r.key.split("@", 1)[1]))
        return {k: sorted(set(v)) for k, v in out.items()}

    def instances(self, rules: Rules, blocks: Sequence[BlockInstance], end: datetime) -> list[BlockInstance]:
        """``blocks`` with each moved instance at its new time."""
        gone = {(r.block, date.fromisoformat(r.key.split("@", 1)[1])) for r in self.moved}
        out = [b for b in blocks if (b.block, b.start.date()) not in gone]
        start = min((b.start for b in blocks), default=end)
        for r in self.moved:
            if r.end > start and r.start < end:
                block = rules.block(r.block)
                out.append(BlockInstance(block=r.block, title=block.label, kind=block.kind, start=r.start, end=r.end))
        out.sort(key=lambda b: (b.start, b.block))
        return out

    def events(self, rules: Rules, owned: Collection[str], now: datetime) -> dict[str, BlockEvent]:
        """The owned events of the moved instances (one begun only while it is still on the calendar:
        boundaryd never writes into the past)."""
        out = {}
        for r in self.moved:
            ev = cached_event("flex", r.key, rules.block(r.block).label, r.start.astimezone(rules.tz), r.end.astimezone(rules.tz))
            if r.start >= now or ev.uid in owned:
                out[ev.uid] = ev
        return out


def moves(
    rules: Rules,
    blocks: Sequence[BlockInstance],
    conflicts: Sequence[Conflict],
    busy: Mapping[str, Sequence[Interval]],
    remembered: Iterable[LedgerRow],
    now: datetime,
) -> Moves:
    """Where each flexible instance goes this plan. ``busy``: by flexible block, the meetings it lets
    through, held offers, make-up time (other blocks' instances are taken from ``blocks``). ``remembered``: moves the
    journal keeps; those that have begun (or whose usual time has) stand as they are."""
    tz = rules.tz
    frozen = [r for r in remembered if r.kind == "flex" and _frozen(rules, r, now) and r.start >= now - KEEP_EXDATES]
    fixed = {r.key for r in frozen}
    taken = _let_through(conflicts)
    out = list(frozen)
    for b in blocks:
        block = rules.block(b.block)
        key = f"{b.block}@{b.start.date().isoformat()}"
        if block.flexible is None or b.all_day or b.start < now or key in fixed:
            continue
        if not any(s < b.end and e > b.start for s, e in taken.get(b.block, ())):
            continue
        day = b.start.date()
        lo = datetime.combine(day, block.flexible.start, tz)
        hi = datetime.combine(day, block.flexible.end, tz)
        others = [(x.start, x.end) for x in blocks if x is not b and not x.all_day] + list(busy.get(b.block, ()))
        at = earliest_free(max(lo, now), hi, _length(b.start, b.end), others)
        if at is not None and at[0] != b.start:
            out.append(LedgerRow("flex", b.block, key, at[0], at[1]))
    return Moves(tuple(sorted(out, key=lambda r: (r.start, r.key))))


def _frozen(rules: Rules, r: LedgerRow, now: datetime) -> bool:
    """A remembered move that has begun, or whose usual time has: it stands as it is."""
    block = rules.block(r.block) if any(b.id == r.block for b in rules.blocks) else None
    if block is None or block.start is None:
        return False
    usual = datetime.combine(date.fromisoformat(r.key.split("@", 1)[1]), block.start, rules.tz)
    return min(usual, r.start) < now


def _let_through(conflicts: Sequence[Conflict]) -> dict[str, list[Interval]]:
    """Meetings boundaryd lets through, by the blocks they land on."""
    out: dict[str, list[Interval]] = {}
    for c in conflicts:
        if c.decision is Decision.DECLINE:
            continue
        for bid in c.blocks:
            out.setdefault(bid, []).append((c.occurrence.start, c.occurrence.end))
    return out


def _length(s: datetime, e: datetime) -> timedelta:
    return e.astimezone(timezone.utc) - s.astimezone(timezone.utc)


def earliest_free(lo: datetime, hi: datetime, length: timedelta, busy: Sequence[Interval]) -> Interval | None:
    """The earliest ``[s, s + length)`` inside ``[lo, hi)`` that overlaps nothing in ``busy``
    (real minutes: the end is computed in UTC, so a DST change inside the slot is counted)."""
    def end_of(s: datetime) -> datetime:
        return (s.astimezone(timezone.utc) + length).astimezone(lo.tzinfo)

    candidates = sorted({lo, *(e for _, e in busy if lo <= e < hi)})
    for s in candidates:
        e = end_of(s)
        if e > hi:
            continue
        if not any(bs < e and be > s for bs, be in busy):
            return (s, e)
    return None
