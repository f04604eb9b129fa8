"""The journal's memory of held offers and of the weeks' past: two tables beside the others.

Held offers are made in the plan that sends the decline and must stand, unchanged, until taken or
expired; lost time and make-up events must still count once they are past (the calendar read
only shows what lies ahead). Both are written from a plan's :class:`RememberOwned` before the
calendar changes it describes, and read back into :class:`Memory` for the next plan.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from boundaryd.core.actions import RememberOwned
from boundaryd.core.model import Hold, LedgerRow, Memory, Plan

if TYPE_CHECKING:
    from boundaryd.engine.journal import Journal

#: created where missing (an older journal gains them as it is opened; they need no migration of data)
TABLES = """
CREATE TABLE IF NOT EXISTS holds (key TEXT PRIMARY KEY, uid TEXT NOT NULL, recurrence_id TEXT NOT NULL,
    organizer TEXT NOT NULL, summary TEXT NOT NULL, start TEXT NOT NULL, "end" TEXT NOT NULL,
    expires TEXT NOT NULL, all_day INTEGER NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (kind TEXT NOT NULL, key TEXT NOT NULL, block TEXT NOT NULL,
    start TEXT NOT NULL, "end" TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (kind, key));
"""


def ensure(journal: Journal) -> None:
    if journal.db.execute("SELECT 1 FROM sqlite_master WHERE name='ledger'").fetchone():
        return
    with journal.tx() as db:
        for stmt in TABLES.split(";"):
            if stmt.strip():
                db.execute(stmt)


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
        db.executemany("DELETE FROM ledger WHERE kind=? AND key=?", list(r.forgotten))
        for row in r.ledger:
            db.execute(
                'INSERT OR REPLACE INTO ledger(kind, key, block, start, "end", at) VALUES (?, ?, ?, ?, ?, ?)',
                (row.kind, row.key, row.block, row.start.isoformat(), row.end.isoformat(), now),
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


def ledger(journal: Journal) -> list[LedgerRow]:
    rows = journal.db.execute('SELECT kind, block, key, start, "end" FROM ledger ORDER BY start, kind, key')
    return [LedgerRow(k, b, key, datetime.fromisoformat(s), datetime.fromisoformat(e)) for k, b, key, s, e in rows]


def remembered(memory: Memory, journal: Journal) -> Memory:
    """``memory`` with the held offers and the ledger the journal keeps."""
    return replace(memory, holds=tuple(holds(journal)), ledger=tuple(ledger(journal)))
