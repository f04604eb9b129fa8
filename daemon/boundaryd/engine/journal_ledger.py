"""The ledger's history in the journal, so ``report`` reads past weeks from here, not the calendar.

Two tables, made when the journal opens (``CREATE ... IF NOT EXISTS``: no schema version needed,
and an existing journal is not written):

* ``ledger_weeks``: per (week, block) the planned, lost and made-up minutes (and the target and
  title then) as last computed. A sync updates the weeks its window touches; a week behind it is
  never computed again, so its numbers stay as they were when it ended.
* ``ledger_items``: each meeting that landed on a block (organizer, decision, minutes lost) and
  each make-up event, with its time: the part of the week a sync no longer sees (before ``now``).

A sync records with :func:`record`. It writes only what changed: a sync with nothing new leaves
the journal untouched (SPEC, sync step 7).
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from boundaryd.core.ledger import (
    BlockLine,
    Item,
    Ledger,
    WeekPoint,
    compute,
    fresh_items,
    merge,
    monday_of,
    week_bounds,
    week_ledger,
)

if TYPE_CHECKING:
    from boundaryd.core.model import BlockInstance, Plan, Snapshot
    from boundaryd.core.rules import Rules
    from boundaryd.engine.journal import Journal

__all__ = ["HISTORY_WEEKS", "LedgerStore", "create_tables", "ledger_of", "record"]

#: weeks of history a report shows before its own
HISTORY_WEEKS = 8

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_weeks (week TEXT NOT NULL, block TEXT NOT NULL, title TEXT NOT NULL,
    target INTEGER, planned INTEGER NOT NULL, lost INTEGER NOT NULL, made_up INTEGER NOT NULL,
    PRIMARY KEY (week, block));
CREATE TABLE IF NOT EXISTS ledger_items (kind TEXT NOT NULL, uid TEXT NOT NULL, rid TEXT NOT NULL,
    week TEXT NOT NULL, start TEXT NOT NULL, "end" TEXT NOT NULL, all_day INTEGER NOT NULL,
    person TEXT NOT NULL, decision TEXT NOT NULL, block TEXT NOT NULL, lost INTEGER NOT NULL,
    PRIMARY KEY (kind, uid, rid));
CREATE INDEX IF NOT EXISTS ledger_items_week ON ledger_items(week);
"""

_ItemRow = tuple[str, str, str, str, str, str, int, str, str, str, int]


def create_tables(db: sqlite3.Connection) -> None:
    """The ledger's tables, made once (a journal that has them is not written)."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name='ledger_items'").fetchone() is None:
        db.execute("BEGIN IMMEDIATE")
        try:
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    db.execute(stmt)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def _item_row(i: Item, tz: object) -> _ItemRow:
    week = monday_of(i.start, tz).isoformat()  # type: ignore[arg-type]
    return (i.kind, i.uid, i.rid, week, i.start.isoformat(), i.end.isoformat(), int(i.all_day), i.person,
            i.decision, i.block, i.lost)


def _item(row: Sequence[object]) -> Item:
    kind, uid, rid, _week, start, end, all_day, person, decision, block, lost = row
    return Item(str(kind), str(uid), str(rid), datetime.fromisoformat(str(start)), datetime.fromisoformat(str(end)),
                bool(all_day), str(person), str(decision), str(block), int(str(lost)))


class LedgerStore:
    """The two ledger tables of one journal."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.db = journal.db

    def items(self, *, since: date | None = None, week: date | None = None) -> list[Item]:
        """Items of the weeks from ``since`` on, or of the week ``week``."""
        sql = 'SELECT kind, uid, rid, week, start, "end", all_day, person, decision, block, lost FROM ledger_items'
        if week is not None:
            rows = self.db.execute(sql + " WHERE week=? ORDER BY start", (week.isoformat(),))
        else:
            rows = self.db.execute(sql + " WHERE week>=? ORDER BY start", ((since or date.min).isoformat(),))
        return [_item(r) for r in rows]

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
        """Make the weeks from the first of ``weeks`` on hold exactly these; True when something was written."""
        since = min(weeks).isoformat()
        want_items = {(r[0], r[1], r[2]): r for r in (_item_row(i, tz) for i in items)}
        have_items = {
            (str(r[0]), str(r[1]), str(r[2])): tuple(r)
            for r in self.db.execute(
                'SELECT kind, uid, rid, week, start, "end", all_day, person, decision, block, lost FROM ledger_items'
                " WHERE week>=?", (since,),
            )
        }
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
        put_items = [r for k, r in want_items.items() if have_items.get(k) != r]
        drop_items = [k for k in have_items if k not in want_items]
        put_weeks = [r for k, r in want_weeks.items() if have_weeks.get(k) != r]
        drop_weeks = [k for k in have_weeks if k not in want_weeks]
        if not (put_items or drop_items or put_weeks or drop_weeks):
            return False
        with self.journal.tx():
            self.db.executemany("DELETE FROM ledger_items WHERE kind=? AND uid=? AND rid=?", drop_items)
            self.db.executemany("INSERT OR REPLACE INTO ledger_items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", put_items)
            self.db.executemany("DELETE FROM ledger_weeks WHERE week=? AND block=?", drop_weeks)
            self.db.executemany("INSERT OR REPLACE INTO ledger_weeks VALUES (?, ?, ?, ?, ?, ?, ?)", put_weeks)
        return True


# --- what a sync records, what a report reads --------------------------------------------------


def _seen(rules: Rules, plan: Plan, snapshot: Snapshot) -> list[Item]:
    """The items of this plan's window (its conflicts and the make-up events it read)."""
    found = fresh_items(plan.conflicts, snapshot.occurrences, rules.owner.emails)
    return [i for i in found if plan.now <= i.start < plan.window_end]


def _seen_from(plan: Plan, snapshot: Snapshot) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """What :func:`_seen` makes its items of (its conflicts' occurrences, decisions and blocks; the
    make-up events): cheap to compare, as the occurrences of an unchanged calendar are the same objects."""
    lo, hi = plan.now, plan.window_end
    met = tuple((c.occurrence, c.decision, c.block) for c in plan.conflicts if lo <= c.occurrence.start < hi)
    owned = tuple(o for o in snapshot.occurrences if o.owned_block is not None and lo <= o.start < hi)
    return met, owned


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


#: the last week computed for each Monday, with what it was computed from: a quiet cycle a minute
#: later hands the same items for the same rules, and gets the same ledger without computing it again
_WEEKS: dict[date, tuple[Rules, list[object], tuple[Ledger, list[Item]]]] = {}


def _week(journal: Journal, rules: Rules, monday: date, items: Sequence[Item]) -> tuple[Ledger, list[Item]]:
    instances = _moved(journal, rules, monday, _instances(rules, monday))
    same: list[object] = [(i, i.start.tzinfo, i.end.tzinfo) for i in items]  # equal, and in the same zones
    same.append(tuple(instances))
    hit = _WEEKS.get(monday)
    if hit is not None and hit[0] is rules and hit[1] == same:
        return hit[2][0], list(hit[2][1])
    if len(_WEEKS) >= 16:
        _WEEKS.clear()
    found = compute(monday, rules.tz, rules.blocks, instances, items)
    _WEEKS[monday] = (rules, same, (found[0], list(found[1])))
    return found


def _moved(journal: Journal, rules: Rules, monday: date, instances: list[BlockInstance]) -> list[BlockInstance]:
    """The week's instances with each flexible instance where the planner moved it (the journal's
    ``ledger`` rows of kind ``flex``, written by ``journal_holds``): lost time is measured there."""
    from boundaryd.core.flexible import Moves
    from boundaryd.engine.journal_holds import ledger as remembered

    ws, we = week_bounds(monday, rules.tz)
    ids = {b.id for b in rules.blocks}
    moved = tuple(
        r for r in remembered(journal) if r.kind == "flex" and r.block in ids and r.start < we and r.end > ws
    )
    if not moved or not instances:
        return instances
    return Moves(moved=moved).instances(rules, instances, we)


#: what the last :func:`record` of each journal was computed from, and the journal's
#: ``data_version`` after it. The ledger a sync records is a fixpoint: the same weeks, the same items
#: seen, the same moved flexible instances and rules, and nobody else writing the journal (another
#: connection changes ``data_version``) give the rows already saved, so a quiet cycle reads nothing back.
_RECORDED: weakref.WeakKeyDictionary[Journal, tuple[Rules, tuple[object, ...], int]] = weakref.WeakKeyDictionary()


def _data_version(journal: Journal) -> int:
    return int(journal.db.execute("PRAGMA data_version").fetchone()[0])


def record(journal: Journal, rules: Rules, plan: Plan, snapshot: Snapshot) -> bool:
    """Keep the ledger of every week the plan's window touches; True when the journal was written."""
    from boundaryd.engine.journal_holds import ledger as remembered

    tz = rules.tz
    first = monday_of(plan.now, tz)
    last = monday_of(plan.window_end - timedelta(microseconds=1), tz)
    inputs = (first, last, *_seen_from(plan, snapshot), tuple(r for r in remembered(journal) if r.kind == "flex"))
    hit = _RECORDED.get(journal)
    if hit is not None and hit[0] is rules and hit[1] == inputs and hit[2] == _data_version(journal):
        return False
    written = _record(journal, rules, plan, _seen(rules, plan, snapshot), first, last)
    _RECORDED[journal] = (rules, inputs, _data_version(journal))
    return written


def _record(journal: Journal, rules: Rules, plan: Plan, seen: list[Item], first: date, last: date) -> bool:
    tz = rules.tz
    store = LedgerStore(journal)
    merged = merge(store.items(since=first), seen, plan.now)
    weeks: dict[date, Sequence[BlockLine]] = {}
    items: list[Item] = []
    monday = first
    while monday <= last:
        ledger, its = _week(journal, rules, monday, [i for i in merged if monday_of(i.start, tz) == monday])
        weeks[monday] = ledger.blocks
        items += its
        monday += timedelta(weeks=1)
    return store.save(weeks, items, tz)


def ledger_of(journal: Journal, rules: Rules, monday: date, now: datetime,
              seen: tuple[Plan, Snapshot] | None = None) -> Ledger:
    """The ledger of the week starting ``monday``, with its history.

    A week before ``now``'s is read from the journal alone; this week and later ones join what the
    journal kept with ``seen`` (a plan made now and the calendar it read), when given.
    """
    tz = rules.tz
    store = LedgerStore(journal)
    this = monday_of(now, tz)
    if monday < this:
        ws, we = week_bounds(monday, tz)
        ledger = week_ledger(ws, we, store.lines(monday), store.items(week=monday))
    else:
        kept = store.items(week=monday)
        merged = merge(kept, _seen(rules, *seen), now) if seen is not None else kept
        ledger = _week(journal, rules, monday, [i for i in merged if monday_of(i.start, tz) == monday])[0]
    return replace(ledger, history=tuple(store.history(monday)))
