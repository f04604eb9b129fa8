"""Keeping the week whole and offers held: the owned events a plan wants besides blocks.

Pure, part of the planner, which calls it in three steps (see ``planner.plan``):
1. :meth:`Week.read`: the held offers still standing and the owned time already on the calendar;
2. :meth:`Week.moves`: where flexible instances go (before conflicts are decided for good);
3. :meth:`Week.owned`: the held, make-up and moved events wanted, and what the journal must
   remember of them and of the window's meetings (organizer, decision: the one record of the
   week's past, which the weekly report reads too); a :class:`RememberOwned` only when something
   changed: a sync with nothing new writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo

from boundaryd.core import busy as busy_from
from boundaryd.core import carry, flexible, holds, makeup
from boundaryd.core.actions import Decline, RememberOwned
from boundaryd.core.ical_owned import role_of
from boundaryd.core.model import (
    BlockEvent,
    BlockInstance,
    Conflict,
    Decision,
    Hold,
    LedgerRow,
    Memory,
    Occurrence,
    Snapshot,
)
from boundaryd.core.rules import Rules

Interval = tuple[datetime, datetime]

#: the journal's rows in the rules' zone, and what a plan's rows add to them and drop: carried while
#: the journal's rows (one object while the journal is unchanged) and the plan's are the same
_IN_ZONE: carry.Carried[tuple[LedgerRow, ...]] = carry.Carried()
_DIFF: carry.Carried[tuple[frozenset[LedgerRow], frozenset[LedgerRow]]] = carry.Carried()


@dataclass(frozen=True)
class Week:
    now: datetime
    memory: Memory
    standing: holds.Standing
    owned_uids: frozenset[str]
    #: make-up and moved-block time already on the calendar
    owned_time: tuple[Interval, ...]
    #: of which make-up time
    makeup_time: tuple[Interval, ...] = ()
    #: the ``busy_from`` calendars' events (busy for make-up time and flexible moves)
    source_time: tuple[Interval, ...] = ()

    @classmethod
    def read(cls, snapshot: Snapshot, memory: Memory, now: datetime) -> Week:
        """``now`` in the rules' zone; what the journal remembers is read back in it too."""
        tz = now.tzinfo
        memory = replace(
            memory,
            holds=tuple(replace(h, start=h.start.astimezone(tz), end=h.end.astimezone(tz)) for h in memory.holds),
            ledger=_IN_ZONE.get(memory.ledger, tz, _in_zone, memory.ledger, tz),
        )
        roles = {o.uid: role_of(o.owned_block)[0] for o in snapshot.occurrences if o.owned_block is not None}
        owned_time = tuple((o.start, o.end) for o in snapshot.occurrences if roles.get(o.uid) in ("makeup", "flex"))
        makeup_time = tuple((o.start, o.end) for o in snapshot.occurrences if roles.get(o.uid) == "makeup")
        return cls(
            now=now,
            memory=memory,
            standing=holds.standing(memory.holds, snapshot.occurrences, now),
            owned_uids=frozenset(o.uid for o in snapshot.owned),
            owned_time=owned_time,
            makeup_time=makeup_time,
            source_time=tuple(busy_from.spans(snapshot.busy)),
        )

    @property
    def offered(self) -> dict[tuple[str, str], tuple[datetime, ...]]:
        """Slots already held for a declined occurrence (a decline planned again offers exactly them)."""
        return self.standing.offered()

    def busy(self) -> list[Interval]:
        """Held slots and owned time already on the calendar: busy for alternatives."""
        return [*((h.start, h.end) for h in self.standing.holds), *self.owned_time]

    def moves(
        self,
        rules: Rules,
        blocks: Sequence[BlockInstance],
        conflicts: Sequence[Conflict],
        considered: Sequence[Occurrence],
        would_decline: Callable[[str, Occurrence], bool],
    ) -> flexible.Moves:
        """Where flexible instances go. A meeting busy for one is one its block would let through
        where it is: one it would decline is no reason to move (the decline frees the time)."""
        timed = [o for o in considered if o.end > o.start and not o.all_day]
        # make-up time is busy; an earlier move of a flexible instance is not (it is worked out again)
        shared = [*self.makeup_time, *self._held(), *self.source_time]
        busy = {
            b.id: [*((o.start, o.end) for o in timed if not would_decline(b.id, o)), *shared]
            for b in rules.blocks
            if b.flexible is not None
        }
        return flexible.moves(rules, blocks, conflicts, busy, self.memory.ledger, self.now)

    def _held(self) -> list[Interval]:
        return [(h.start, h.end) for h in self.standing.holds]

    def owned(
        self,
        rules: Rules,
        blocks: Sequence[BlockInstance],
        conflicts: Sequence[Conflict],
        declines: Iterable[Decline],
        considered: Sequence[Occurrence],
        moves: flexible.Moves,
        window_end: datetime,
    ) -> tuple[dict[str, BlockEvent], RememberOwned | None]:
        """The owned events wanted besides blocks, by UID, and what to journal (None: nothing new)."""
        made = holds.new_holds(rules, declines, self.standing, self.now)
        all_holds = [*self.standing.holds, *made]
        declined = {c.occurrence.key for c in conflicts if c.decision is Decision.DECLINE}
        meetings = [(o.start, o.end) for o in considered if o.key not in declined and o.end > o.start]
        busy = [*meetings, *((h.start, h.end) for h in all_holds), *self.source_time]
        mk = makeup.plan_makeups(
            rules, blocks, conflicts, busy, self.memory.ledger, self.owned_uids, self.now, window_end
        )
        events = {
            **holds.hold_events(all_holds, rules.tz, rules.owner.locale),
            **moves.events(rules, self.owned_uids, self.now),
            **mk.events(rules, self.owned_uids, self.now),
        }
        ledger = [*moves.moved, *mk.rows, *makeup.meeting_rows(rules, conflicts, self.now, window_end)]
        return events, self._remember(made, ledger)

    def _remember(self, made: Sequence[Hold], ledger: Sequence[LedgerRow]) -> RememberOwned | None:
        rows = tuple(ledger)
        new, gone = _DIFF.get(self.memory.ledger, rows, _diff, self.memory.ledger, rows)
        write = tuple(sorted(new, key=_row_order))
        rewritten = {(r.kind, r.key) for r in write}
        forget = tuple(sorted(
            {(r.kind, r.key) for r in gone if r.start >= self.now and not _declined(r)} - rewritten
        ))
        released = self.standing.released
        if not (made or released or write or forget):
            return None
        return RememberOwned(holds=tuple(made), released=released, ledger=write, forgotten=forget)


def _in_zone(rows: Iterable[LedgerRow], tz: tzinfo | None) -> tuple[LedgerRow, ...]:
    return tuple(r if r.start.tzinfo is tz and r.end.tzinfo is tz else replace(r, start=r.start.astimezone(tz),
                                                                               end=r.end.astimezone(tz)) for r in rows)


def _diff(before: Iterable[LedgerRow], now: Iterable[LedgerRow]) -> tuple[frozenset[LedgerRow], frozenset[LedgerRow]]:
    """The rows ``now`` adds to ``before``, and those it no longer has."""
    b, n = frozenset(before), frozenset(now)
    return n - b, b - n


def _declined(r: LedgerRow) -> bool:
    """A meeting boundaryd declined stays in the record when it leaves the calendar's view (the week's
    report counts it); it is written again if it comes back decided otherwise."""
    return r.kind == "meeting" and r.decision == Decision.DECLINE.value


def _row_order(r: LedgerRow) -> tuple[datetime, str, str]:
    return (r.start, r.kind, r.key)
