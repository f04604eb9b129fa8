"""A calendar held in memory (as vdirsyncer's MemoryStorage): for tests and what-ifs.

:class:`MemoryCalendar` is the store — one VCALENDAR text per UID, each with a version, and a
change log so a reader can ask what changed since its token — and stands in for a server: other
clients edit it with :meth:`MemoryCalendar.put` / :meth:`MemoryCalendar.remove`, and its
``fault`` hook can make any call fail the way a server does (a status code, mapped below as the
CalDAV and Google backends map theirs, or an exception raised as is).

:class:`MemoryBackend` reads and edits it with the semantics of the iCalendar-file backend
(declines as RECURRENCE-ID overrides, flags as CATEGORIES, owned events tagged
X-BOUNDARYD-BLOCK) and the conditional writes of CalDAV: a write to an event changed since the
snapshot is a Conflict412. ``memory:NAME`` opens the calendar NAME of this process (tests only:
it is not among the schemes the rules file or ``--calendar`` accept).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from boundaryd.calendars.base import SyncState
from boundaryd.calendars.ical_edits import answer_in, combine, unflag_in
from boundaryd.core import ical
from boundaryd.core.model import BlockEvent, Capabilities, Occurrence, Snapshot
from boundaryd.errors import BadInput, Conflict412, RuntimeFailure

#: what a fault hook returns for a call: nothing (go on), an HTTP-like status, or an exception
Fault = int | BaseException | None
#: the calls a fault hook is asked about
OPERATIONS = ("connect", "snapshot", "history", "put_block", "delete_block", "decline", "flag", "unflag", "flush")


class MemoryCalendar:
    """The store. Thread-safe; every change bumps the calendar's token."""

    def __init__(self, name: str = "memory", capabilities: Capabilities | None = None) -> None:
        self.name = name
        self.capabilities = capabilities or Capabilities(tells_organizer=False, flag_mark="categories")
        #: ``fault(operation) -> Fault``, asked at the start of every backend call
        self.fault: Callable[[str], Fault] | None = None
        self.items: dict[str, str] = {}  # uid -> VCALENDAR text
        self.versions: dict[str, int] = {}
        self.token = 0
        self._log: list[tuple[int, str]] = []  # (token, uid) of every change, in order
        self._oldest = 0  # tokens older than this are expired (a 410 from the fault hook forgets)
        self.full_reads = 0
        self.history_reads = 0
        self.incremental_reads = 0
        self.writes = 0
        self.lock = threading.RLock()

    # -- as another client ----------------------------------------------------------------------
    def put(self, uid: str, text: str | bytes) -> None:
        """Store (or replace) the resource of ``uid``, as someone else's client would."""
        with self.lock:
            self.token += 1
            self.items[uid] = text.decode() if isinstance(text, bytes) else text
            self.versions[uid] = self.token
            self._log.append((self.token, uid))

    def remove(self, uid: str) -> None:
        with self.lock:
            if uid in self.items:
                self.token += 1
                del self.items[uid]
                self.versions.pop(uid, None)
                self._log.append((self.token, uid))

    def seed(self, data: bytes | str) -> None:
        """Split a whole calendar into one resource per UID (with the VTIMEZONEs it uses)."""
        cal = ical.parse_calendar(data, self.name)
        zones = [c for c in cal.subcomponents if c.name == "VTIMEZONE"]
        by_uid: dict[str, list[icalendar.Component]] = {}
        for comp in cal.subcomponents:
            if comp.name == "VEVENT":
                by_uid.setdefault(str(comp.get("UID", "")).strip(), []).append(comp)
        for uid, comps in by_uid.items():
            one = ical.new_calendar()
            for c in [*zones, *comps]:
                one.add_component(c)
            self.put(uid, one.to_ical().decode())

    def expire_tokens(self) -> None:
        """Every token handed out so far is no longer valid (a reader must read everything)."""
        with self.lock:
            self._oldest = self.token + 1

    # -- for the backend --------------------------------------------------------------------------
    def changes_since(self, token: int) -> tuple[dict[str, str | None], int] | None:
        """{uid: text, or None when gone} changed after ``token``, and the current token; None
        when ``token`` expired."""
        with self.lock:
            if token < self._oldest or token > self.token:
                return None
            self.incremental_reads += 1
            uids = {u for t, u in self._log if t > token}
            return {u: self.items.get(u) for u in uids}, self.token

    def everything(self) -> tuple[dict[str, str], int]:
        with self.lock:
            self.full_reads += 1
            return dict(self.items), self.token

    def write(self, uid: str, text: str | None, expected: int | None) -> int | None:
        """Store or (``text`` None) remove ``uid`` if its version is still ``expected`` (None: it
        must not exist). Conflict412 otherwise. Returns the new version."""
        with self.lock:
            if self.versions.get(uid) != expected:
                raise Conflict412(f"memory:{self.name}: {uid} was changed by someone else (the next sync re-reads it)")
            self.writes += 1
            if text is None:
                self.remove(uid)
                return None
            self.put(uid, text)
            return self.versions[uid]


_CALENDARS: dict[str, MemoryCalendar] = {}
_CALENDARS_LOCK = threading.Lock()


def calendar(name: str) -> MemoryCalendar:
    """The memory calendar ``name`` of this process (made on first use)."""
    with _CALENDARS_LOCK:
        return _CALENDARS.setdefault(name, MemoryCalendar(name))


def forget(name: str) -> None:
    with _CALENDARS_LOCK:
        _CALENDARS.pop(name, None)


class MemoryBackend:
    """The calendar contract over a :class:`MemoryCalendar`. See the module docstring."""

    writes_when_made = True  # each write is durable when its call returns (engine/journal_batch.py)

    def __init__(self, store: MemoryCalendar, sync_state: SyncState | None = None) -> None:
        self.store = store
        self.name = f"memory:{store.name}"
        self.state = sync_state
        self.capabilities = store.capabilities
        self._connected = False
        self._items: dict[str, str] = {}  # what the last snapshot read
        self._seen: dict[str, int | None] = {}  # uid -> version read (None: absent)
        self._token = 0
        self._tz: ZoneInfo | None = None

    @classmethod
    def open(cls, location: str, section: Any, context: Any) -> MemoryBackend:
        """``memory:NAME``: the process's calendar NAME, with the journal for its change token."""
        del section
        return cls(calendar(location), getattr(context, "sync_state", None))

    # -- faults ---------------------------------------------------------------------------------
    def _check(self, op: str) -> int | None:
        """Ask the fault hook about ``op``; raise what a server's answer would make us raise.
        Returns a status the caller handles itself (410 on a read, 404/410 on a delete)."""
        got = self.store.fault(op) if self.store.fault is not None else None
        if got is None:
            return None
        if isinstance(got, BaseException):
            raise got
        status = int(got)
        where = f"{self.name}: {op}"
        if status == 401:
            raise RuntimeFailure(f"{self.name}: the calendar refused the credentials (check them)")
        if status == 403:
            raise RuntimeFailure(f"{self.name}: the calendar refuses this account access (check its permissions)")
        if (status in (404, 410) and op in ("snapshot", "delete_block")) or (status == 410 and op == "connect"):
            return status
        if status == 404:
            if op == "connect":
                raise BadInput(f"{self.name}: no such calendar (check its name)")
            raise Conflict412(f"{where}: the event is gone (the next sync re-reads it)")
        if status in (409, 410, 412):
            raise Conflict412(f"{where}: changed by someone else (the next sync re-reads it)")
        if status == 429 or status >= 500:
            raise RuntimeFailure(f"{where}: the calendar answered {status} (will retry)")
        raise RuntimeFailure(f"{where}: the calendar answered {status}")

    # -- reading ---------------------------------------------------------------------------------
    def connect(self) -> Capabilities:
        if not self._connected:
            self._check("connect")
            self.capabilities = self.store.capabilities
            self._connected = True
        return self.capabilities

    def _state_key(self) -> str:
        return f"memory:{self.store.name}"

    def _load(self) -> None:
        raw = self.state.get(self._state_key()) if self.state is not None else None
        self._token, self._items = 0, {}
        if raw:
            try:
                saved = json.loads(raw)
                self._token, self._items = int(saved["token"]), dict(saved["items"])
            except (ValueError, KeyError, TypeError):
                self._token, self._items = 0, {}

    def _refresh(self, expired: bool) -> None:
        """Bring ``_items`` up to date: the changes since our token, or everything."""
        self._load()
        changes = None if expired or not self._token else self.store.changes_since(self._token)
        before = (self._token, dict(self._items))
        if changes is None:
            self._items, self._token = self.store.everything()
        else:
            delta, self._token = changes
            for uid, text in delta.items():
                if text is None:
                    self._items.pop(uid, None)
                else:
                    self._items[uid] = text
        if self.state is not None and (self._token, self._items) != before:
            self.state.set(self._state_key(), json.dumps({"token": self._token, "items": self._items}, sort_keys=True))

    def snapshot(self, start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        self.connect()
        status = self._check("snapshot")
        if status == 404:
            raise BadInput(f"{self.name}: no such calendar (check its name)")
        self._refresh(expired=status == 410)
        self._tz = tz
        with self.store.lock:
            self._seen = {uid: self.store.versions.get(uid) for uid in self._items}
        combined, skipped, _ = combine((uid, f"{self.name}/{uid}", text) for uid, text in sorted(self._items.items()))
        occs, owned, bad = ical.occurrences_of(combined, start, end, tz)
        return Snapshot(tuple(occs), tuple(owned), tuple(skipped + bad), self.capabilities)

    def history(self, start: datetime, end: datetime, tz: ZoneInfo) -> list[Occurrence]:
        """The past (``leads``), read from the store as it is: the snapshot's token and items stay."""
        self.connect()
        self._check("history")
        with self.store.lock:
            self.store.history_reads += 1
            items = dict(self.store.items)
        combined, _, _ = combine((uid, f"{self.name}/{uid}", text) for uid, text in sorted(items.items()))
        return [o for o in ical.occurrences_of(combined, start, end, tz)[0] if o.owned_block is None]

    # -- writing ---------------------------------------------------------------------------------
    def _resource(self, uid: str) -> tuple[icalendar.Calendar, ZoneInfo] | None:
        if self._tz is None:
            raise RuntimeError("snapshot() must come before changes")
        text = self._items.get(uid)
        if text is None:
            return None
        return ical.parse_calendar(text, f"{self.name}/{uid}"), self._tz

    def _store(self, uid: str, cal: icalendar.Calendar | None) -> None:
        text = cal.to_ical().decode() if cal is not None else None
        version = self.store.write(uid, text, self._seen.get(uid))
        if text is None:
            self._items.pop(uid, None)
            self._seen.pop(uid, None)
        else:
            self._items[uid] = text
            self._seen[uid] = version

    def put_block(self, event: BlockEvent) -> None:
        self._check("put_block")
        if self._tz is None:
            raise RuntimeError("snapshot() must come before changes")
        self._store(event.uid, ical.block_calendar(event, datetime.now(timezone.utc)))

    def delete_block(self, uid: str) -> None:
        if self._check("delete_block") is not None:
            return  # 404/410: already gone
        found = self._resource(uid)
        if found is None or not any(ical.BLOCK_PROP in c for c in ical._components(found[0], uid)):
            return  # missing, or not ours: never deleted
        self._store(uid, None)

    def _edit(self, op: str, occ: Occurrence, change: Callable[[icalendar.Calendar, ZoneInfo], bool]) -> None:
        self._check(op)
        found = self._resource(occ.uid)
        if found is not None and change(*found):
            self._store(occ.uid, found[0])

    def decline(self, occ: Occurrence, owner_emails: tuple[str, ...], comment: str) -> None:
        self._edit("decline", occ, lambda cal, tz: ical.decline_in(cal, occ, owner_emails, comment, tz))

    def answer(self, occ: Occurrence, owner_emails: tuple[str, ...], partstat: str) -> None:
        self._edit("answer", occ, lambda cal, tz: answer_in(cal, occ, owner_emails, partstat, tz))

    def flag(self, occ: Occurrence) -> None:
        self._edit("flag", occ, lambda cal, tz: ical.flag_in(cal, occ, tz))

    def unflag(self, occ: Occurrence) -> None:
        self._edit("unflag", occ, lambda cal, tz: unflag_in(cal, occ, tz))

    def flush(self) -> None:
        """Every change was stored when it was made."""
        self._check("flush")
