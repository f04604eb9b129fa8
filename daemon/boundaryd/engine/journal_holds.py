"""The journal's memory of held offers and of the weeks' past: the planner's side of two tables.

Held offers are made in the plan that sends the decline and must stand, unchanged, until taken or
expired. The week's past (``ledger_items``, the one record of it: meetings that landed on blocks
with organizer and decision, make-up events, moved flexible instances) must still count once it is
past (the calendar read only shows what lies ahead): the planner reads it for make-up time and
flexible moves, the weekly report (``engine.journal_ledger``) for its numbers. Both are written
from a plan's :class:`RememberOwned` before the calendar changes it describes, and read back into
:class:`Memory` for the next plan. Times are kept in UTC (a week is a range of them).
"""

from __future__ import annotations

import time
import weakref
from dataclasses import replace
from datetime import datetime, timedelta, timezone, tzinfo
from sys import intern
from typing import TYPE_CHECKING

from boundaryd.core.actions import RememberOwned
from boundaryd.core.model import Hold, LedgerRow, Memory, Plan

if TYPE_CHECKING:
    from boundaryd.engine.journal import Journal

#: created where missing (an older journal gains it as it is opened; it needs no migration of data)
TABLES = """
CREATE TABLE IF NOT EXISTS holds (key TEXT PRIMARY KEY, uid TEXT NOT NULL, recurrence_id TEXT NOT NULL,
    organizer TEXT NOT NULL, summary TEXT NOT NULL, start TEXT NOT NULL, "end" TEXT NOT NULL,
    expires TEXT NOT NULL, all_day INTEGER NOT NULL, at REAL NOT NULL);
"""

#: the week's past, one row per fact (schema 4: ``engine.journal`` makes it, moving the rows of the
#: planner's ``ledger`` and the report's former ``ledger_items`` into it). ``lost``: a meeting's
#: minutes taken from blocks, filled in by the report after the sync
ITEMS = """
CREATE TABLE ledger_items (kind TEXT NOT NULL, key TEXT NOT NULL, block TEXT NOT NULL,
    start TEXT NOT NULL, "end" TEXT NOT NULL, uid TEXT NOT NULL, rid TEXT NOT NULL, all_day INTEGER NOT NULL,
    person TEXT NOT NULL, decision TEXT NOT NULL, blocks TEXT NOT NULL, lost INTEGER NOT NULL DEFAULT 0,
    at REAL NOT NULL, PRIMARY KEY (kind, key));
CREATE INDEX ledger_items_start ON ledger_items(start);
"""

_UTC = "strftime('%Y-%m-%dT%H:%M:%S+00:00', {})"

#: schema 3 to 4: the planner's ``ledger`` rows and the report's ``ledger_items`` become one record.
#: A meeting keeps the report's row (organizer, decision, lost minutes) and gains the blocks its lost
#: rows were on; a lost row with no such meeting becomes one (its stretches' span, let through);
#: make-up and moved rows are the planner's (the report's make-up rows were read from the events
#: the planner wrote). Times become UTC.
MIGRATE_4 = f"""
CREATE TABLE IF NOT EXISTS ledger (kind TEXT NOT NULL, key TEXT NOT NULL, block TEXT NOT NULL,
    start TEXT NOT NULL, "end" TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS ledger_items (kind TEXT NOT NULL, uid TEXT NOT NULL, rid TEXT NOT NULL,
    week TEXT NOT NULL, start TEXT NOT NULL, "end" TEXT NOT NULL, all_day INTEGER NOT NULL,
    person TEXT NOT NULL, decision TEXT NOT NULL, block TEXT NOT NULL, lost INTEGER NOT NULL,
    PRIMARY KEY (kind, uid, rid));
ALTER TABLE ledger_items RENAME TO ledger_items_3;
{ITEMS};
CREATE TEMP TABLE lost_3 AS SELECT block, start, "end", uid, substr(r2, 1, instr(r2, '|') - 1) AS rid FROM (
    SELECT block, start, "end", substr(r, 1, instr(r, '|') - 1) AS uid, substr(r, instr(r, '|') + 1) AS r2 FROM (
        SELECT block, start, "end", substr(key, length(block) + 2) AS r FROM ledger WHERE kind = 'lost'));
INSERT INTO ledger_items(kind, key, block, start, "end", uid, rid, all_day, person, decision, blocks, lost, at)
    SELECT 'meeting', i.uid || '|' || i.rid, i.block, i.start, i."end", i.uid, i.rid, i.all_day, i.person,
        i.decision, coalesce((SELECT group_concat(DISTINCT l.block) FROM lost_3 l WHERE l.uid = i.uid
        AND l.rid = i.rid), ''), i.lost, 0 FROM ledger_items_3 i WHERE i.kind = 'meeting';
INSERT OR IGNORE INTO ledger_items(kind, key, block, start, "end", uid, rid, all_day, person, decision, blocks,
        lost, at)
    SELECT 'meeting', uid || '|' || rid, min(block), min({_UTC.format("start")}), max({_UTC.format('"end"')}),
        uid, rid, 0, '', 'keep', group_concat(DISTINCT block), 0, 0 FROM lost_3 GROUP BY uid, rid;
INSERT INTO ledger_items(kind, key, block, start, "end", uid, rid, all_day, person, decision, blocks, lost, at)
    SELECT kind, key, block, {_UTC.format("start")}, {_UTC.format('"end"')}, '', '', 0, '', '', '', 0, at
    FROM ledger WHERE kind IN ('makeup', 'flex');
DROP TABLE lost_3;
DROP TABLE ledger_items_3;
DROP TABLE ledger;
"""

#: how far back the planner reads the record (make-up looks at this week, moved instances stay
#: excluded from their series 35 days: ``flexible.KEEP_EXDATES``)
LOOKBACK = timedelta(days=42)


def ensure(journal: Journal) -> None:
    if journal.db.execute("SELECT 1 FROM sqlite_master WHERE name='holds'").fetchone():
        return
    with journal.tx() as db:
        for stmt in TABLES.split(";"):
            if stmt.strip():
                db.execute(stmt)


def utc(t: datetime) -> str:
    """How the record keeps a time (UTC text orders as time does)."""
    return t.astimezone(timezone.utc).isoformat()


def record(journal: Journal, r: RememberOwned) -> None:
    """What a plan makes and lets go of, in one transaction."""
    now = time.time()
    with journal.tx() as db:
        for h in r.holds:
            db.execute(
                'INSERT OR IGNORE INTO holds(key, uid, recurrence_id, organizer, summary, start, "end", expires, all_day, at)'
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (h.key, h.occurrence[0], h.occurrence[1], h.organizer, h.summary, h.start.isoformat(),
                 h.end.isoformat(), h.expires.isoformat(), int(h.all_day), now),
            )
        db.executemany("DELETE FROM holds WHERE key=?", [(k,) for k in r.released])
        db.executemany("DELETE FROM ledger_items WHERE kind=? AND key=?", list(r.forgotten))
        db.executemany(  # a row written again keeps the minutes the report measured (it measures them anew)
            'INSERT INTO ledger_items(kind, key, block, start, "end", uid, rid, all_day, person, decision, blocks, at)'
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET block=excluded.block,"
            ' start=excluded.start, "end"=excluded."end", uid=excluded.uid, rid=excluded.rid, all_day=excluded.all_day,'
            " person=excluded.person, decision=excluded.decision, blocks=excluded.blocks, at=excluded.at",
            [(row.kind, row.key, row.block, utc(row.start), utc(row.end), row.uid, row.rid, int(row.all_day),
              row.person, row.decision, ",".join(row.blocks), now) for row in r.ledger],
        )


def record_plan(journal: Journal, p: Plan) -> None:
    """Journal the plan's :class:`RememberOwned` (if any), before the plan is carried out."""
    for a in p.actions:
        if isinstance(a, RememberOwned):
            record(journal, a)


def holds(journal: Journal) -> list[Hold]:
    rows = journal.db.execute(
        'SELECT key, uid, recurrence_id, organizer, summary, start, "end", expires, all_day FROM holds ORDER BY key'
    )
    return [
        Hold(k, (u, r), o, s, datetime.fromisoformat(a), datetime.fromisoformat(b), datetime.fromisoformat(x), bool(d))
        for k, u, r, o, s, a, b, x, d in rows
    ]


#: the rows last read from each journal, with what says they are still the journal's: the
#: connection's own changes (``total_changes``) and other connections' (``data_version``), and how
#: far back they go. A quiet cycle reads nothing.
_READ: weakref.WeakKeyDictionary[Journal, tuple[tuple[int, int, str, tzinfo | None], tuple[LedgerRow, ...]]] = weakref.WeakKeyDictionary()


def _at(text: str, tz: tzinfo | None) -> datetime:
    t = datetime.fromisoformat(text)
    return t if tz is None else t.astimezone(tz)


def ledger(journal: Journal, since: datetime | None = None) -> tuple[LedgerRow, ...]:
    """The record's rows starting at ``since`` or later (all of them without it), by start."""
    lo = "" if since is None else utc(since)[:10]  # from that day on: the same rows all day long
    tz = since.tzinfo if since is not None else None  # read in the zone the plan works in
    db = journal.db
    mark = (*journal.version(), lo, tz)
    hit = _READ.get(journal)
    if hit is not None and hit[0] == mark:
        return hit[1]
    rows = db.execute(
        'SELECT kind, block, key, start, "end", uid, rid, all_day, person, decision, blocks FROM ledger_items'
        " WHERE start>=? ORDER BY start, kind, key", (lo,)
    )
    found = tuple(  # the few words (kinds, blocks, decisions, people) kept once: a daemon holds these rows
        LedgerRow(intern(k), intern(b), key, _at(s, tz), _at(e, tz), u, r, bool(d),
                  intern(p), intern(dec), tuple(intern(x) for x in bl.split(",") if x))
        for k, b, key, s, e, u, r, d, p, dec, bl in rows
    )
    _READ[journal] = (mark, found)
    return found


def recent(journal: Journal, now: datetime | None) -> tuple[LedgerRow, ...]:
    """The record's rows a plan made at ``now`` reads: from ``now`` less :data:`LOOKBACK` on (all
    of them without ``now``). The planner and the report read the same rows, read once."""
    return ledger(journal, None if now is None else now - LOOKBACK)


def remembered(memory: Memory, journal: Journal, now: datetime | None = None) -> Memory:
    """``memory`` with the held offers and the week's past the journal keeps."""
    return replace(memory, holds=tuple(holds(journal)), ledger=recent(journal, now))
