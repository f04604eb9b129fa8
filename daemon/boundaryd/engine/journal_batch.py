"""A sync's actions journaled in batches: a few transactions per phase, the same crash safety.

Each phase of a sync (block changes, undos, declines, flags, unflags) journals the intents of all
its actions in one transaction, committed before the first of them is applied. What each action
ended in (done, refused; for a decline what it records, for an undo that it was undone) waits in
an :class:`ActionLog` and is committed in one transaction once the actions are durable:

- after the backend's ``flush`` (always: for the ICS file nothing is on disk before it);
- where every write is durable when it is made (``writes_when_made`` on the backend: CalDAV,
  Google, Microsoft, memory), also at the end of each phase and every :data:`EVERY` actions or
  :data:`SECONDS` seconds, so a killed sync leaves few applied actions without their ``done``.

A sync killed between an action and its ``done``: :func:`settle` (the next sync, on what it read)
decides from the calendar what each unfinished action did (see the executor's docstring for why
this is enough, kind by kind). Replies and notices are not here: each is held, queued and recorded
one by one (engine/executor.py), since a message must never go twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from typing import TypeVar

from boundaryd.core.ical import CONFLICT_CATEGORY as MARK
from boundaryd.core.model import Occurrence, Snapshot
from boundaryd.engine.journal import Journal

#: the ``done`` marks of a backend that writes as it goes are committed at least this often...
EVERY = 500
#: ...and at least every this many seconds (a slow server: each action a request)
SECONDS = 2.0

T = TypeVar("T")


def writes_when_made(backend: object) -> bool:
    """Every write of ``backend`` is durable when the call returns (``flush`` does nothing). A
    backend that does not say so is taken to write at ``flush`` (the safe side)."""
    return getattr(backend, "writes_when_made", False) is True


class ActionLog:
    """The intents and ends of one sync's actions, batched (see the module's docstring)."""

    def __init__(
        self,
        journal: Journal,
        sync_id: str,
        step: Callable[[str], None],
        durable_each: bool,
        every: int = EVERY,
        seconds: float = SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.journal, self.sync_id, self.step = journal, sync_id, step
        self.durable_each, self.every, self.seconds, self.clock = durable_each, max(1, every), seconds, clock
        self._done: list[tuple[int, str]] = []
        self._declines: list[tuple[str, str, str, str]] = []
        self._undone: list[tuple[str, str]] = []
        self._refused: list[tuple[str, str]] = []
        self._since = clock()
        self.commits = 0

    def phase(
        self,
        name: str,
        items: Sequence[T],
        rows: Sequence[tuple[str, str, str]],
        act: Callable[[T, int], None],
        declines: Sequence[tuple[str, str, str, str]] = (),
    ) -> None:
        """Journal ``rows`` (one ``(kind, target, detail)`` per item) in one transaction, then
        ``act(item, action id)`` on each; ``act`` applies it and calls :meth:`end`. Steps:
        ``intents:NAME``, ``NAME:i`` after each action, ``committed:n`` after each commit."""
        if not items:
            return
        ids = intents(self.journal, self.sync_id, rows, declines)
        self.step(f"intents:{name}")
        for i, (item, action) in enumerate(zip(items, ids, strict=True)):
            act(item, action)
            self.step(f"{name}:{i}")
            if self.durable_each and (len(self._done) >= self.every or self.clock() - self._since >= self.seconds):
                self.commit()
        if self.durable_each:
            self.commit()

    def end(
        self,
        action: int,
        state: str = "done",
        *,
        decline: tuple[str, str, str, str] | None = None,
        undone: tuple[str, str] | None = None,
        refused: tuple[str, str] | None = None,
    ) -> None:
        """``action`` ended in ``state`` (committed with the next batch); with what it records."""
        self._done.append((action, state))
        self._declines += [decline] if decline else []
        self._undone += [undone] if undone else []
        self._refused += [refused] if refused else []

    def commit(self) -> None:
        """Every end noted so far, in one transaction (call it only once they are durable)."""
        self._since = self.clock()
        if not self._done:
            return
        finish(self.journal, self._done, self._declines, self._undone, self._refused)
        self._done, self._declines, self._undone, self._refused = [], [], [], []
        self.step(f"committed:{self.commits}")
        self.commits += 1


# -- the journal's rows (the tables are engine/journal.py's) ------------------------------------
def intents(
    journal: Journal, sync_id: str, rows: Sequence[tuple[str, str, str]], declines: Sequence[tuple[str, str, str, str]] = ()
) -> list[int]:
    """:meth:`Journal.intent` for each ``(kind, target, detail)``, in one transaction: their ids. With
    ``declines`` ``(uid, rid, previous, told)``: what each decline of the batch would record,
    kept in state ``intent`` (read by nothing but recovery) where no row is there yet."""
    now = time.time()
    ids = []
    with journal.tx():
        for kind, target, detail in rows:
            cur = journal.db.execute(
                "INSERT INTO actions(sync_id, kind, target, detail, state, created, updated)"
                " VALUES (?, ?, ?, ?, 'intent', ?, ?)",
                (sync_id, kind, target, detail[:2000], now, now),
            )
            ids.append(int(cur.lastrowid or 0))
        journal.db.executemany(
            "INSERT OR IGNORE INTO declined(uid, recurrence_id, previous, told, state, at)"
            " VALUES (?, ?, ?, ?, 'intent', ?)",
            [(*d, now) for d in declines],
        )
    return ids


def finish(
    journal: Journal,
    done: Sequence[tuple[int, str]],
    declines: Sequence[tuple[str, str, str, str]] = (),
    undone: Sequence[tuple[str, str]] = (),
    refused: Sequence[tuple[str, str]] = (),
) -> None:
    """In one transaction: each ``(action id, state)`` ended, each decline ``(uid, rid, previous,
    told)`` recorded (as :meth:`Journal.record_decline`), each ``(uid, rid)`` undone (as
    :meth:`Journal.undone`), the intent rows of declines ``refused`` dropped."""
    now = time.time()
    with journal.tx():
        journal.db.executemany("UPDATE actions SET state=?, updated=? WHERE id=?", [(s, now, a) for a, s in done])
        journal.db.executemany(
            "INSERT OR REPLACE INTO declined(uid, recurrence_id, previous, told, state, at)"
            " VALUES (?, ?, ?, ?, 'declined', ?)",
            [(*d, now) for d in declines],
        )
        journal.db.executemany(
            "UPDATE declined SET state='undone', at=? WHERE uid=? AND recurrence_id=?", [(now, *u) for u in undone]
        )
        journal.db.executemany("DELETE FROM declined WHERE uid=? AND recurrence_id=? AND state='intent'", refused)


def unfinished(journal: Journal) -> list[tuple[int, str, str, str]]:
    """``(id, kind, target, detail)`` of every action journaled as an intent and never ended:
    what a killed sync may or may not have applied (the partial index keeps this cheap)."""
    return journal.db.execute("SELECT id, kind, target, detail FROM actions WHERE state='intent' ORDER BY id").fetchall()


def settle_rows(
    journal: Journal, ended: Sequence[tuple[int, str]], declined: Sequence[tuple[str, str]], undone: Sequence[tuple[str, str]]
) -> None:
    """Recovery's verdict on unfinished actions, in one transaction: each ``(id, state)``; the
    declines found on the calendar ``(uid, rid)`` recorded from their intent rows (the other
    intent rows of declines dropped); the undos found, undone."""
    now = time.time()
    with journal.tx():
        journal.db.executemany("UPDATE actions SET state=?, updated=? WHERE id=?", [(s, now, a) for a, s in ended])
        journal.db.executemany(
            "UPDATE declined SET state='declined', at=? WHERE uid=? AND recurrence_id=? AND state='intent'",
            [(now, *d) for d in declined],
        )
        journal.db.execute("DELETE FROM declined WHERE state='intent'")
        journal.db.executemany(
            "UPDATE declined SET state='undone', at=? WHERE uid=? AND recurrence_id=?", [(now, *u) for u in undone]
        )


def declined_keys(snap: Snapshot, owners: Collection[str]) -> set[tuple[str, str]]:
    """Occurrence keys the owner declined on the calendar, and ``(uid, "")`` for each of their
    series (a series declined at once)."""
    keys = {o.key for o in snap.occurrences if _declined(o, owners)}
    return keys | {(uid, "") for uid, _ in keys}


def _declined(o: Occurrence, owners: Collection[str]) -> bool:
    return any(a.email in owners and a.partstat == "DECLINED" for a in o.attendees)


def settle(journal: Journal, snap: Snapshot, owners: Collection[str]) -> int:
    """What an interrupted sync's unfinished actions did, read from the calendar; their number.

    A flag whose mark is on: done (the planner flags only where the mark is not on, so it is
    boundaryd's, and comes off when the conflict ends). A decline the calendar shows: done, with
    what its intent meant to record. An undo whose occurrence is no longer declined: done, undone.
    Anything else (block writes, unflags, what did not happen): ``interrupted``; the planner, which
    reads the calendar, plans again what is still to do. (A sync still running in another process
    loses nothing by it: its own commit writes every end and record whole, over these.)"""
    todo = unfinished(journal)
    if not todo:
        return 0
    declined = declined_keys(snap, owners)
    seen = {o.key: o for o in snap.occurrences}
    ended: list[tuple[int, str]] = []
    found: list[tuple[str, str]] = []
    undone: list[tuple[str, str]] = []
    for action, kind, uid, rid in todo:
        occ, key = seen.get((uid, rid)), (uid, rid)
        if kind == "flag" and occ is not None and MARK in occ.categories:
            ended.append((action, "done"))
        elif kind == "decline" and key in declined:
            ended.append((action, "done"))
            found.append(key)
        elif kind == "undo" and occ is not None and key not in declined:
            ended.append((action, "done"))
            undone.append(key)
        else:
            ended.append((action, "interrupted"))
    settle_rows(journal, ended, found, undone)
    return len(todo)
