"""What the journal keeps for ``leads`` and ``keyword_limit_per_week`` (the rules are in core/leads.py).

Who the owner has met is built once per calendar from its history (``read_history`` over
``[now - lookback_days, now)``), then kept up to date from each cycle's snapshot: the people of
every meeting in the window are remembered with its start, so a pending invitation makes its
organizer known once its meeting has begun (or at once when the owner organized or accepted it).
A cycle that finds nothing new writes nothing; the history is read again only for a lookback that
grew, or to catch up on a day or more nobody looked at.

Tables (made on first use, alongside the journal's own; they need no schema version):
``contact_meetings`` (calendar, occurrence, contact: start, firm), ``contact_history`` (calendar:
how far back it was read, up to when it was looked at), ``keyword_uses`` (occurrence: person, when).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from boundaryd.calendars.base import read_history
from boundaryd.core.leads import contacts_of, keyword_uses
from boundaryd.core.model import Memory, Occurrence, Plan, Snapshot
from boundaryd.core.rules import Rules
from boundaryd.engine.journal import Journal
from boundaryd.errors import BoundarydError

log = logging.getLogger("boundaryd.leads")

TABLES = (
    "CREATE TABLE IF NOT EXISTS contact_meetings (calendar TEXT NOT NULL, uid TEXT NOT NULL,"
    " recurrence_id TEXT NOT NULL, email TEXT NOT NULL, start REAL NOT NULL, firm INTEGER NOT NULL,"
    " PRIMARY KEY (calendar, uid, recurrence_id, email))",
    "CREATE INDEX IF NOT EXISTS contact_meetings_start ON contact_meetings(calendar, start)",
    "CREATE TABLE IF NOT EXISTS contact_history (calendar TEXT PRIMARY KEY, since REAL NOT NULL, upto REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS keyword_uses (uid TEXT NOT NULL, recurrence_id TEXT NOT NULL,"
    " person TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (uid, recurrence_id))",
)
#: a calendar nobody looked at for this long is caught up from its history
CATCH_UP = timedelta(days=1)
#: keyword exceptions are kept this long (the limit looks back 7 days)
KEEP_USES = timedelta(days=60)

Row = tuple[str, str, str]  # (uid, recurrence id, contact)


def _ensure(journal: Journal) -> None:
    if not getattr(journal, "_contacts_ready", False):
        for stmt in TABLES:
            journal.db.execute(stmt)
        journal._contacts_ready = True  # type: ignore[attr-defined]


def memory(rules: Rules, snap: Snapshot, now: datetime, backend: object, journal: Journal, base: Memory) -> Memory:
    """``base`` with who the owner has met (with ``leads:``) and the keyword exceptions journaled
    (with ``keyword_limit_per_week``); ``base`` itself when the rules ask for neither."""
    if rules.leads is None and rules.defaults.keyword_limit_per_week is None:
        return base
    _ensure(journal)
    contacts = known(rules, snap, now, backend, journal) if rules.leads is not None else None
    return replace(base, contacts=contacts, keyword_uses=uses(journal))


def known(rules: Rules, snap: Snapshot, now: datetime, backend: object, journal: Journal) -> frozenset[str] | None:
    """The contacts known at ``now``; None when the calendar's history cannot be read (then no one
    is a new contact)."""
    assert rules.leads is not None
    _ensure(journal)
    name = str(getattr(backend, "name", "calendar"))
    lo = now - timedelta(days=rules.leads.lookback_days)
    owners = tuple(rules.owner.emails)
    row = journal.db.execute("SELECT since, upto FROM contact_history WHERE calendar=?", (name,)).fetchone()
    spans: list[tuple[datetime, datetime]] = []
    if row is None:
        spans.append((lo, now))
    else:
        since, upto = (datetime.fromtimestamp(x, timezone.utc) for x in row)
        if lo < since:  # the lookback grew
            spans.append((lo, since))
        if now - upto >= CATCH_UP:  # nobody looked for a while: what happened meanwhile
            spans.append((max(upto, lo), now))
    if spans:
        read: list[Occurrence] = []
        try:
            for start, end in spans:
                got = read_history(backend, start, end, rules.tz)
                if got is None:
                    return None
                read.extend(got)
        except BoundarydError as e:
            log.warning("%s: the calendar's past cannot be read (%s); no one counts as a new contact this cycle", name, e)
            return None
        with journal.tx() as db:
            _put(db, name, _rows(read, owners))
            db.execute("DELETE FROM contact_meetings WHERE calendar=? AND start < ?", (name, lo.timestamp()))
            db.execute(
                "INSERT OR REPLACE INTO contact_history(calendar, since, upto) VALUES (?, ?, ?)",
                (name, lo.timestamp(), now.timestamp()),
            )
    _follow(journal, name, snap, now, now + timedelta(days=rules.horizon_days), owners)
    found = journal.db.execute(
        "SELECT DISTINCT email FROM contact_meetings WHERE calendar=? AND start >= ? AND (start < ? OR firm=1)",
        (name, lo.timestamp(), now.timestamp()),
    )
    return frozenset(r[0] for r in found)


def _rows(occs: Iterable[Occurrence], owners: Sequence[str]) -> dict[Row, tuple[float, int]]:
    out: dict[Row, tuple[float, int]] = {}
    for o in occs:
        got = contacts_of(o, owners)
        if got is not None:
            for email in got[0]:
                out[(o.uid, o.key[1], email)] = (o.start.timestamp(), int(got[1]))
    return out


def _put(db: sqlite3.Connection, name: str, rows: dict[Row, tuple[float, int]]) -> None:
    db.executemany(
        "INSERT OR REPLACE INTO contact_meetings(calendar, uid, recurrence_id, email, start, firm) VALUES (?, ?, ?, ?, ?, ?)",
        [(name, u, r, e, s, f) for (u, r, e), (s, f) in rows.items()],
    )


def _follow(journal: Journal, name: str, snap: Snapshot, now: datetime, end: datetime, owners: Sequence[str]) -> None:
    """The meetings of the window as the snapshot has them: written only where they changed."""
    want = _rows(snap.occurrences, owners)
    have = {
        (u, r, e): (s, f)
        for u, r, e, s, f in journal.db.execute(
            "SELECT uid, recurrence_id, email, start, firm FROM contact_meetings WHERE calendar=? AND start >= ? AND start < ?",
            (name, now.timestamp(), end.timestamp()),
        )
    }
    gone = [k for k in have if k not in want]
    new = {k: v for k, v in want.items() if have.get(k) != v}
    if not gone and not new:
        return
    with journal.tx() as db:
        db.executemany(
            "DELETE FROM contact_meetings WHERE calendar=? AND uid=? AND recurrence_id=? AND email=?",
            [(name, *k) for k in gone],
        )
        _put(db, name, new)


# --- keyword exceptions ------------------------------------------------------------------------------


def uses(journal: Journal) -> tuple[tuple[str, str, str, datetime], ...]:
    _ensure(journal)
    rows = journal.db.execute("SELECT person, uid, recurrence_id, at FROM keyword_uses ORDER BY at, uid")
    return tuple((p, u, r, datetime.fromtimestamp(at, timezone.utc)) for p, u, r, at in rows)


def record_uses(journal: Journal, rules: Rules, p: Plan) -> None:
    """Journal the keyword exceptions ``p`` grants that were not counted before (an occurrence counts once)."""
    if rules.defaults.keyword_limit_per_week is None:
        return
    _ensure(journal)
    counted = {(u, r) for _, u, r, _ in uses(journal)}
    new = [(person, uid, rid) for person, uid, rid in keyword_uses(rules, p.conflicts) if (uid, rid) not in counted]
    if not new:
        return
    at = p.now.timestamp()
    with journal.tx() as db:
        db.executemany(
            "INSERT OR IGNORE INTO keyword_uses(uid, recurrence_id, person, at) VALUES (?, ?, ?, ?)",
            [(uid, rid, person, at) for person, uid, rid in new],
        )
        db.execute("DELETE FROM keyword_uses WHERE at < ?", ((p.now - KEEP_USES).timestamp(),))
