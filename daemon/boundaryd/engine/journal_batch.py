"""The journal writes of one sync's actions, batched: fewer transactions, the same crash safety.

Every action is still journaled before it is applied (all the intents of one phase of a sync in
one transaction, committed before the first of them is applied) and after (every done action and
recorded decline of the sync in one transaction, after the backend's flush): a sync killed at any
point and run again ends in the same state (tests/test_crash.py), with one commit per phase
instead of two per action (a first sync of a big calendar flags thousands of events).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from boundaryd.engine.journal import Journal


def intents(journal: Journal, sync_id: str, rows: Sequence[tuple[str, str, str]]) -> list[int]:
    """``journal.intent`` for each ``(kind, target, detail)``, in one transaction: their ids."""
    if not rows:
        return []
    now = time.time()
    ids = []
    with journal.tx() as db:
        for kind, target, detail in rows:
            cur = db.execute(
                "INSERT INTO actions(sync_id, kind, target, detail, state, created, updated)"
                " VALUES (?, ?, ?, ?, 'intent', ?, ?)",
                (sync_id, kind, target, detail[:2000], now, now),
            )
            ids.append(int(cur.lastrowid or 0))
    return ids


def finish(journal: Journal, done: Sequence[int], declines: Sequence[tuple[str, str, str, str]]) -> None:
    """Every applied action done and every decline ``(uid, rid, previous, told)`` recorded, as
    ``journal.done`` and ``journal.record_decline`` would one by one, in one transaction."""
    if not done and not declines:
        return
    now = time.time()
    with journal.tx() as db:
        db.executemany("UPDATE actions SET state='done', updated=? WHERE id=?", [(now, a) for a in done])
        db.executemany(
            "INSERT OR REPLACE INTO declined(uid, recurrence_id, previous, told, state, at)"
            " VALUES (?, ?, ?, ?, 'declined', ?)",
            [(*d, now) for d in declines],
        )
