"""The journal: SQLite in the state dir (WAL), with a schema version and forward migrations.

It records every action before (``intent``) and after (``done``) it is applied (a phase's intents
in one transaction, the ends in batches: engine/journal_batch.py), the messages a
sync means to send (held until the calendar change they report has taken effect), the conflicts
already notified, ``allow`` exceptions, and small key/value state for backends (sync tokens).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from boundaryd.core.model import AllowEntry
from boundaryd.engine import journal_holds
from boundaryd.engine.journal_ledger import WEEKS as LEDGER_WEEKS
from boundaryd.errors import RuntimeFailure

SCHEMA_VERSION = 4

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE actions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sync_id TEXT NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '', state TEXT NOT NULL,
        created REAL NOT NULL, updated REAL NOT NULL);
    CREATE INDEX actions_sync ON actions(sync_id);
    CREATE TABLE notified (key TEXT PRIMARY KEY, uid TEXT NOT NULL, recurrence_id TEXT NOT NULL,
        block TEXT NOT NULL, decision TEXT NOT NULL, start TEXT NOT NULL, "end" TEXT NOT NULL,
        at REAL NOT NULL);
    CREATE TABLE allows (uid TEXT NOT NULL, recurrence_id TEXT, until TEXT, created REAL NOT NULL);
    """,
    2: """
    CREATE TABLE messages (
        key TEXT PRIMARY KEY, kind TEXT NOT NULL, sync_id TEXT NOT NULL,
        state TEXT NOT NULL,            -- intent | queued
        depends TEXT NOT NULL,          -- JSON list of occurrence keys whose decline it reports
        notified TEXT NOT NULL,         -- JSON list of notified rows to record when it is queued
        body BLOB NOT NULL, created REAL NOT NULL);
    CREATE TABLE digest (key TEXT PRIMARY KEY, payload TEXT NOT NULL, at REAL NOT NULL);
    """,
    3: """
    CREATE TABLE applied (block_key TEXT NOT NULL, uid TEXT NOT NULL, recurrence_id TEXT NOT NULL,
        at REAL NOT NULL, PRIMARY KEY (block_key, uid, recurrence_id));
    CREATE TABLE refs (ref TEXT PRIMARY KEY, uid TEXT NOT NULL, recurrence_id TEXT NOT NULL,
        at REAL NOT NULL, UNIQUE (uid, recurrence_id));
    CREATE TABLE declined (uid TEXT NOT NULL, recurrence_id TEXT NOT NULL, previous TEXT NOT NULL,
        told TEXT NOT NULL, state TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (uid, recurrence_id));
    CREATE TABLE decline_requests (uid TEXT NOT NULL, recurrence_id TEXT NOT NULL, at REAL NOT NULL,
        PRIMARY KEY (uid, recurrence_id));
    """,
    4: LEDGER_WEEKS + journal_holds.MIGRATE_4,  # the week's past recorded once (engine/journal_holds.py)
}


@dataclass(frozen=True)
class PendingMessage:
    key: str
    kind: str
    depends: list[list[str]]
    notified: list[dict[str, str]]
    body: bytes


class Journal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), timeout=10, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA cache_size=-256")  # KiB: a quiet cycle reads nothing; a daemon keeps it resident
            self._migrate()
            # the actions journaled and never ended (engine/journal_batch.py reads them every sync)
            self.db.execute("CREATE INDEX IF NOT EXISTS actions_open ON actions(id) WHERE state='intent'")
            journal_holds.ensure(self)  # held offers (their own module)
        except sqlite3.DatabaseError as e:
            raise RuntimeFailure(f"{self.path}: the journal cannot be opened ({e})") from None
        except OSError as e:
            raise RuntimeFailure(f"{self.path}: the journal cannot be created ({e.strerror})") from None

    def close(self) -> None:
        self.db.close()

    def version(self) -> tuple[int, int]:
        """Changes so far: this connection's own (``total_changes``) and other connections'
        (``data_version``). While it stays the same, what was read from the journal still holds."""
        return self.db.total_changes, int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def _migrate(self) -> None:
        has_meta = self.db.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone()
        version = 0
        if has_meta:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise RuntimeFailure(
                f"{self.path}: written by a newer boundaryd (schema {version}); upgrade boundaryd"
            )
        for v in range(version + 1, SCHEMA_VERSION + 1):
            with self.tx():
                for stmt in _MIGRATIONS[v].split(";"):
                    if stmt.strip():
                        self.db.execute(stmt)
                self.db.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(v),)
                )

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- SyncState for backends ------------------------------------------------------------
    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str | None) -> None:
        with self.tx():
            if value is None:
                self.db.execute("DELETE FROM kv WHERE key=?", (key,))
            else:
                self.db.execute("INSERT OR REPLACE INTO kv(key, value) VALUES (?, ?)", (key, value))

    # -- actions ---------------------------------------------------------------------------
    def intent(self, sync_id: str, kind: str, target: str, detail: str = "") -> int:
        now = time.time()
        with self.tx():
            cur = self.db.execute(
                "INSERT INTO actions(sync_id, kind, target, detail, state, created, updated)"
                " VALUES (?, ?, ?, ?, 'intent', ?, ?)",
                (sync_id, kind, target, detail[:2000], now, now),
            )
        return int(cur.lastrowid or 0)

    def done(self, action_id: int, state: str = "done") -> None:
        with self.tx():
            self.db.execute("UPDATE actions SET state=?, updated=? WHERE id=?", (state, time.time(), action_id))

    def actions_in_state(self, kind: str, state: str) -> dict[tuple[str, str], float]:
        """{(uid, occurrence): when} of the ``kind`` actions that ended in ``state``
        (``done``: what boundaryd did, for ``why``; ``refused``: what a server will never take)."""
        rows = self.db.execute(
            "SELECT target, detail, max(updated) FROM actions WHERE kind=? AND state=? GROUP BY target, detail",
            (kind, state),
        )
        return {(t, d): float(u) for t, d, u in rows}

    def actions(self, limit: int = 50) -> list[tuple[str, str, str, str, float]]:
        return self.db.execute(
            "SELECT kind, target, detail, state, updated FROM actions ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()

    # -- messages: held until what they report has happened -----------------------------
    def hold_messages(self, sync_id: str, messages: Sequence[PendingMessage]) -> list[PendingMessage]:
        """Record messages as intents; returns those not already known (same key = same message)."""
        new = []
        now = time.time()
        with self.tx():
            for m in messages:
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO messages(key, kind, sync_id, state, depends, notified, body, created)"
                    " VALUES (?, ?, ?, 'intent', ?, ?, ?, ?)",
                    (m.key, m.kind, sync_id, json.dumps(m.depends), json.dumps(m.notified), m.body, now),
                )
                if cur.rowcount:
                    new.append(m)
        return new

    def held(self) -> list[PendingMessage]:
        rows = self.db.execute(
            "SELECT key, kind, depends, notified, body FROM messages WHERE state='intent' ORDER BY created, key"
        ).fetchall()
        return [PendingMessage(k, kind, json.loads(d), json.loads(n), bytes(b)) for k, kind, d, n, b in rows]

    def message_queued(self, key: str) -> None:
        """The message is in the outbox: record it and the conflicts it notified, in one step."""
        now = time.time()
        with self.tx():
            row = self.db.execute("SELECT notified FROM messages WHERE key=?", (key,)).fetchone()
            for n in json.loads(row[0]) if row else []:
                self.db.execute(
                    'INSERT OR IGNORE INTO notified(key, uid, recurrence_id, block, decision, start, "end", at)'
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (n["key"], n["uid"], n["recurrence_id"], n["block"], n["decision"], n["start"], n["end"], now),
                )
            self.db.execute("UPDATE messages SET state='queued', body=X'' WHERE key=?", (key,))

    def drop_message(self, key: str) -> None:
        with self.tx():
            self.db.execute("DELETE FROM messages WHERE key=? AND state='intent'", (key,))

    def message_known(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM messages WHERE key=?", (key,)).fetchone() is not None

    def message_keys(self) -> frozenset[str]:
        """Every reply and notice key held or queued so far (the planner makes none of them twice)."""
        return frozenset(r[0] for r in self.db.execute("SELECT key FROM messages"))

    def notified_keys(self) -> frozenset[str]:
        return frozenset(r[0] for r in self.db.execute("SELECT key FROM notified"))

    # -- digest ---------------------------------------------------------------------------
    def add_digest(self, rows: Sequence[tuple[str, str]]) -> None:
        with self.tx():
            for key, payload in rows:
                self.db.execute(
                    "INSERT OR IGNORE INTO digest(key, payload, at) VALUES (?, ?, ?)", (key, payload, time.time())
                )

    def digest_rows(self) -> list[tuple[str, str]]:
        return self.db.execute("SELECT key, payload FROM digest ORDER BY at, key").fetchall()

    def clear_digest(self, keys: Sequence[str]) -> None:
        with self.tx():
            self.db.executemany("DELETE FROM digest WHERE key=?", [(k,) for k in keys])

    # -- allow -------------------------------------------------------------------------------
    def add_allow(self, uid: str, until: date | None, recurrence_id: str | None = None) -> None:
        with self.tx():
            self.db.execute(
                "INSERT INTO allows(uid, recurrence_id, until, created) VALUES (?, ?, ?, ?)",
                (uid, recurrence_id, until.isoformat() if until else None, time.time()),
            )

    def allows(self) -> list[AllowEntry]:
        rows = self.db.execute("SELECT uid, until, recurrence_id FROM allows ORDER BY created").fetchall()
        return [AllowEntry(uid, date.fromisoformat(u) if u else None, r) for uid, u, r in rows]

    # -- what was there when a block first applied; refs; boundaryd's own declines -------------
    def remember(self, applied: Sequence[tuple[str, Sequence[tuple[str, str]]]], refs: Sequence[tuple[str, str, str]]) -> None:
        """Blocks applying for the first time (an empty row ``("", "")`` marks one with no meeting) and refs."""
        now = time.time()
        with self.tx():
            for block_key, keys in applied:
                for uid, rid in [*keys, ("", "")]:
                    self.db.execute(
                        "INSERT OR IGNORE INTO applied(block_key, uid, recurrence_id, at) VALUES (?, ?, ?, ?)",
                        (block_key, uid, rid, now),
                    )
            for uid, rid, ref in refs:
                self.db.execute(
                    "INSERT OR IGNORE INTO refs(ref, uid, recurrence_id, at) VALUES (?, ?, ?, ?)", (ref, uid, rid, now)
                )

    def applied(self) -> dict[str, frozenset[tuple[str, str]]]:
        out: dict[str, set[tuple[str, str]]] = {}
        for block_key, uid, rid in self.db.execute("SELECT block_key, uid, recurrence_id FROM applied"):
            keys = out.setdefault(block_key, set())
            if uid:
                keys.add((uid, rid))
        return {k: frozenset(v) for k, v in out.items()}

    def refs(self) -> dict[tuple[str, str], str]:
        return {(uid, rid): ref for ref, uid, rid in self.db.execute("SELECT ref, uid, recurrence_id FROM refs")}

    def find_ref(self, ref: str) -> tuple[str, str] | None:
        row = self.db.execute("SELECT uid, recurrence_id FROM refs WHERE ref=?", (ref,)).fetchone()
        return (row[0], row[1]) if row else None

    def record_decline(self, uid: str, rid: str, previous: str, told: str) -> None:
        """boundaryd declined this occurrence: the answer before, and how the organizer was told."""
        with self.tx():
            self.db.execute(
                "INSERT OR REPLACE INTO declined(uid, recurrence_id, previous, told, state, at)"
                " VALUES (?, ?, ?, ?, 'declined', ?)",
                (uid, rid, previous, told, time.time()),
            )

    def declined(self) -> dict[tuple[str, str], tuple[str, str]]:
        rows = self.db.execute("SELECT uid, recurrence_id, previous, told FROM declined WHERE state='declined'")
        return {(uid, rid): (prev, told) for uid, rid, prev, told in rows}

    def undone(self, uid: str, rid: str) -> None:
        with self.tx():
            self.db.execute(
                "UPDATE declined SET state='undone', at=? WHERE uid=? AND recurrence_id=?", (time.time(), uid, rid)
            )

    def add_decline_request(self, uid: str, rid: str) -> None:
        with self.tx():
            self.db.execute(
                "INSERT OR IGNORE INTO decline_requests(uid, recurrence_id, at) VALUES (?, ?, ?)", (uid, rid, time.time())
            )

    def decline_requests(self) -> frozenset[tuple[str, str]]:
        return frozenset((u, r) for u, r in self.db.execute("SELECT uid, recurrence_id FROM decline_requests"))

    def notified_rows(self, limit: int = 50) -> list[tuple[str, str, str, str, str, str]]:
        """The conflicts notified, newest first: (ref, decision, start, uid, recurrence id, state of
        boundaryd's decline: "declined", "undone" or "")."""
        rows = self.db.execute(
            "SELECT coalesce(r.ref, s.ref, ''), n.decision, n.start, n.uid, n.recurrence_id, coalesce(d.state, e.state, '')"
            " FROM notified n"
            " LEFT JOIN refs r ON r.uid = n.uid AND r.recurrence_id = n.recurrence_id"
            " LEFT JOIN refs s ON s.uid = n.uid AND s.recurrence_id = ''"
            " LEFT JOIN declined d ON d.uid = n.uid AND d.recurrence_id = n.recurrence_id AND d.state != 'intent'"
            " LEFT JOIN declined e ON e.uid = n.uid AND e.recurrence_id = '' AND e.state != 'intent'"
            " ORDER BY n.at DESC, n.start LIMIT ?",
            (limit,),
        )
        return [(str(a), str(b), str(c), str(d), str(e), str(f)) for a, b, c, d, e, f in rows]
