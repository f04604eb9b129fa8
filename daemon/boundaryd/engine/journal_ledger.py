"""The ledger's history in the journal, so ``report`` reads past weeks from here, not the calendar.

The week's past is recorded once, in ``ledger_items`` (``engine.journal_holds``): each meeting that
landed on a block (organizer, decision) and each make-up event, written by the planner before the
calendar changes they describe; the report reads the same rows, and adds to each meeting the
minutes it took from blocks (``lost``) after the sync. Beside it, ``ledger_weeks`` keeps per (week,
block) the planned, lost and made-up minutes (and the target and title then) as last computed. A
sync updates the weeks its window touches; a week behind it is never computed again, so its numbers
stay as they were when it ended.

A sync records with :func:`record`. It writes only what changed: a sync with nothing new leaves
the journal untouched (SPEC, sync step 7).
"""

from __future__ import annotations

import weakref
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from boundaryd.core.actions import RememberOwned
from boundaryd.core.ical_owned import owned_uid
from boundaryd.core.ledger import (
    MAKEUP,
    MEETING,
    BlockLine,
    Item,
    Ledger,
    WeekPoint,
    compute,
    monday_of,
    week_bounds,
    week_ledger,
)
from boundaryd.engine.journal_holds import recent as remembered
from boundaryd.engine.journal_holds import utc

if TYPE_CHECKING:
    from boundaryd.core.model import BlockInstance, LedgerRow, Plan, Snapshot
    from boundaryd.core.rules import Rules
    from boundaryd.engine.journal import Journal

__all__ = ["HISTORY_WEEKS", "WEEKS", "LedgerStore", "ledger_of", "record"]

#: weeks of history a report shows before its own
HISTORY_WEEKS = 8

#: the report's own table (schema 4 makes it where an older journal lacks it)
WEEKS = """
CREATE TABLE IF NOT EXISTS ledger_weeks (week TEXT NOT NULL, block TEXT NOT NULL, title TEXT NOT NULL,
    target INTEGER, planned INTEGER NOT NULL, lost INTEGER NOT NULL, made_up INTEGER NOT NULL,
    PRIMARY KEY (week, block));
"""


def _item(r: LedgerRow) -> Item:
    """A row of the record as the ledger counts it (a meeting's ``lost`` is measured by ``compute``)."""
    start, end = r.start.astimezone(timezone.utc), r.end.astimezone(timezone.utc)
    if r.kind == MEETING:
        return Item(MEETING, r.uid, r.rid, start, end, r.all_day, r.person, r.decision, r.block)
    return Item(MAKEUP, r.key, "", start, end, block=r.block)


def items_of(rows: Iterable[LedgerRow], now: datetime, on_calendar: Collection[str] | None = None) -> list[Item]:
    """The meetings and make-up events among ``rows``, by start. A make-up event ahead counts once it
    is on the calendar (``on_calendar``: the owned UIDs read, None: every one)."""
    out = [
        _item(r) for r in rows
        if r.kind == MEETING or (r.kind == MAKEUP and (
            on_calendar is None or r.start < now or owned_uid(MAKEUP, r.key) in on_calendar))
    ]
    return sorted(out, key=lambda i: (i.start, i.key))


def _week_range(first: date, last: date, tz: object) -> tuple[str, str]:
    return utc(week_bounds(first, tz)[0]), utc(week_bounds(last, tz)[1])  # type: ignore[arg-type]


class LedgerStore:
    """The ledger's rows of one journal: the record's items, and ``ledger_weeks``."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.db = journal.db

    def items(self, week: date, tz: object) -> list[Item]:
        """The items of the week ``week``, with the minutes measured when they were recorded."""
        lo, hi = _week_range(week, week, tz)
        rows = self.db.execute(
            'SELECT kind, key, uid, rid, start, "end", all_day, person, decision, block, lost FROM ledger_items'
            " WHERE kind IN ('meeting', 'makeup') AND start>=? AND start<? ORDER BY start", (lo, hi),
        )
        out = [
            Item(k, u if k == MEETING else key, r, datetime.fromisoformat(s), datetime.fromisoformat(e),
                 bool(d), p, dec, b, int(lost))
            for k, key, u, r, s, e, d, p, dec, b, lost in rows
        ]
        return sorted(out, key=lambda i: (i.start, i.key))

    def lines(self, monday: date) -> list[BlockLine]:
        rows = self.db.execute(
            "SELECT block, title, target, planned, lost, made_up FROM ledger_weeks WHERE week=? ORDER BY rowid",
            (monday.isoformat(),),
        )
        return [BlockLine(b, t, None if g is None else int(g), int(p), int(lo), int(m)) for b, t, g, p, lo, m in rows]

    def history(self, monday: date, weeks: int = HISTORY_WEEKS) -> list[WeekPoint]:
        """The recorded weeks among the ``weeks`` before ``monday``, oldest first."""
        first = monday - timedelta(weeks=weeks)
        rows = self.db.execute(
            "SELECT week, sum(planned), sum(planned - lost) FROM ledger_weeks WHERE week>=? AND week<?"
            " GROUP BY week ORDER BY week",
            (first.isoformat(), monday.isoformat()),
        )
        return [WeekPoint(date.fromisoformat(w), int(p), int(k)) for w, p, k in rows]

    def save(self, weeks: dict[date, Sequence[BlockLine]], items: Iterable[Item], tz: object) -> bool:
        """Make the weeks from the first of ``weeks`` on hold exactly these lines, and each meeting
        recorded in them the minutes it took; True when something was written."""
        first, last = min(weeks), max(weeks)
        lo, hi = _week_range(first, last, tz)
        have_lost = {
            str(k): int(n) for k, n in self.db.execute(
                "SELECT key, lost FROM ledger_items WHERE kind='meeting' AND start>=? AND start<?", (lo, hi))
        }
        put_lost = [(i.lost, f"{i.uid}|{i.rid}") for i in items
                    if i.kind == MEETING and have_lost.get(f"{i.uid}|{i.rid}", i.lost) != i.lost]
        since = first.isoformat()
        want_weeks = {
            (m.isoformat(), b.block): (m.isoformat(), b.block, b.title, b.target_minutes, b.planned_minutes,
                                       b.lost_minutes, b.made_up_minutes)
            for m, lines in weeks.items() for b in lines
        }
        have_weeks = {
            (str(r[0]), str(r[1])): tuple(r)
            for r in self.db.execute(
                "SELECT week, block, title, target, planned, lost, made_up FROM ledger_weeks WHERE week>=?", (since,)
            )
        }
        put_weeks = [r for k, r in want_weeks.items() if have_weeks.get(k) != r]
        drop_weeks = [k for k in have_weeks if k not in want_weeks]
        if not (put_lost or put_weeks or drop_weeks):
            return False
        with self.journal.tx():
            self.db.executemany("UPDATE ledger_items SET lost=? WHERE kind='meeting' AND key=?", put_lost)
            self.db.executemany("DELETE FROM ledger_weeks WHERE week=? AND block=?", drop_weeks)
            self.db.executemany("INSERT OR REPLACE INTO ledger_weeks VALUES (?, ?, ?, ?, ?, ?, ?)", put_weeks)
        return True


# --- what a sync records, what a report reads --------------------------------------------------


def _on_calendar(snapshot: Snapshot) -> frozenset[str]:
    """The make-up events the sync read (one planned but not yet written does not count yet)."""
    return frozenset(o.uid for o in snapshot.owned if o.block.startswith(MAKEUP + ":"))


def _after(rows: Sequence[LedgerRow], plan: Plan) -> list[LedgerRow]:
    """The record as it will be once ``plan`` is journaled (``report`` plans without syncing)."""
    out = {(r.kind, r.key): r for r in rows}
    for a in plan.actions:
        if isinstance(a, RememberOwned):
            for k in a.forgotten:
                out.pop(k, None)
            out.update(((r.kind, r.key), r) for r in a.ledger)
    return list(out.values())


#: a week's block instances for the rules in force (the daemon syncs with one rules object until a
#: reload): expanding them is most of a quiet cycle's work otherwise
_INSTANCES: dict[tuple[int, date], tuple[Rules, list[BlockInstance]]] = {}


def _instances(rules: Rules, monday: date) -> list[BlockInstance]:
    from boundaryd.core.planner import block_instances

    hit = _INSTANCES.get((id(rules), monday))
    if hit is not None and hit[0] is rules:
        return hit[1]
    if len(_INSTANCES) >= 16:
        _INSTANCES.clear()
    ws, we = week_bounds(monday, rules.tz)
    found = block_instances(rules, ws, we)
    _INSTANCES[(id(rules), monday)] = (rules, found)
    return found


def _week(rows: Sequence[LedgerRow], rules: Rules, monday: date, items: Sequence[Item]) -> tuple[Ledger, list[Item]]:
    """The week's ledger and items (a quiet cycle does not get here: :func:`record` keeps what it made)."""
    return compute(monday, rules.tz, rules.blocks, _moved(rows, rules, monday, _instances(rules, monday)), items)


def _moved(rows: Sequence[LedgerRow], rules: Rules, monday: date, instances: list[BlockInstance]) -> list[BlockInstance]:
    """The week's instances with each flexible instance where the planner moved it (the record's
    rows of kind ``flex``): lost time is measured there."""
    from boundaryd.core.flexible import Moves

    ws, we = week_bounds(monday, rules.tz)
    ids = {b.id for b in rules.blocks}
    moved = tuple(r for r in rows if r.kind == "flex" and r.block in ids and r.start < we and r.end > ws)
    if not moved or not instances:
        return instances
    return Moves(moved=moved).instances(rules, instances, we)


#: what the last :func:`record` of each journal was computed from, and the journal's
#: ``data_version`` after it. The ledger a sync records is a fixpoint: the same weeks, the same
#: record (the planner's rows, read once per change of the journal), the same make-up events on the
#: calendar and rules, and nobody else writing the journal (another connection changes
#: ``data_version``) give the rows already saved, so a quiet cycle reads nothing back.
_RECORDED: weakref.WeakKeyDictionary[Journal, tuple[Rules, tuple[object, ...], tuple[int, int]]] = weakref.WeakKeyDictionary()


def record(journal: Journal, rules: Rules, plan: Plan, snapshot: Snapshot) -> bool:
    """Keep the ledger of every week the plan's window touches; True when the journal was written."""
    tz = rules.tz
    first = monday_of(plan.now, tz)
    last = monday_of(plan.window_end - timedelta(microseconds=1), tz)
    rows = remembered(journal, plan.now)
    lo = week_bounds(first, tz)[0]
    cal = _on_calendar(snapshot)
    counted = tuple(r.key for r in rows if r.kind == MAKEUP and r.start >= lo
                    and (r.start < plan.now or owned_uid(MAKEUP, r.key) in cal))
    inputs = (first, last, rows, counted)
    hit = _RECORDED.get(journal)
    if hit is not None and hit[0] is rules and hit[1] == inputs and hit[2] == journal.version():
        return False
    items = [i for i in items_of(rows, plan.now, cal) if i.start >= lo]
    written = _record(journal, rules, rows, items, first, last)
    _RECORDED[journal] = (rules, inputs, journal.version())
    return written


def _record(journal: Journal, rules: Rules, rows: Sequence[LedgerRow], items: list[Item], first: date, last: date) -> bool:
    tz = rules.tz
    weeks: dict[date, Sequence[BlockLine]] = {}
    out: list[Item] = []
    monday = first
    while monday <= last:
        ledger, its = _week(rows, rules, monday, [i for i in items if monday_of(i.start, tz) == monday])
        weeks[monday] = ledger.blocks
        out += its
        monday += timedelta(weeks=1)
    return LedgerStore(journal).save(weeks, out, tz)


def ledger_of(journal: Journal, rules: Rules, monday: date, now: datetime,
              seen: tuple[Plan, Snapshot] | None = None) -> Ledger:
    """The ledger of the week starting ``monday``, with its history.

    A week before ``now``'s is read from the journal alone; this week and later ones are computed
    from the record, as it will be after ``seen`` (a plan made now and the calendar it read), when given.
    """
    tz = rules.tz
    store = LedgerStore(journal)
    this = monday_of(now, tz)
    if monday < this:
        ws, we = week_bounds(monday, tz)
        ledger = week_ledger(ws, we, store.lines(monday), store.items(monday, tz))
    else:
        rows: Sequence[LedgerRow] = remembered(journal, now)
        if seen is not None:
            rows = _after(rows, seen[0])
        items = items_of(rows, now, None if seen is None else _on_calendar(seen[1]))
        ledger = _week(rows, rules, monday, [i for i in items if monday_of(i.start, tz) == monday])[0]
    return replace(ledger, history=tuple(store.history(monday)))
