"""The on-disk copy of what a provider's API listed (Google, Microsoft): valid only while the change
token the journal holds is the one it was saved with.

A daemon reads it every minute: the process keeps what it last loaded or saved (:data:`_entries`),
valid while the file is the one it was loaded from or saved to — device, inode, size, mtime and
ctime (:mod:`snapcache`'s identity; a file another process replaced by rename has a new inode), and,
while its mtime is within a timestamp tick of that moment, its bytes' hash — and while the journal
still holds the token it carries. Anything else is loaded again. What is kept is never changed in
place: a delta makes new dicts (unchanged events shared).

A delta that lists no change rewrites nothing: the token saved stays (it still lists every change
since), and is only replaced (file, then journal) once it is :data:`TOKEN_MAX_AGE` old, as tokens
expire. The file is written before the journal: a crash between leaves the two disagreeing, which
:func:`load` reads as "start over" (a full read), never as stale data.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from boundaryd.calendars import snapcache
from boundaryd.calendars.snapcache import FileId, digest, file_id
from boundaryd.errors import RuntimeFailure
from boundaryd.fsutil import write_atomic

log = logging.getLogger(__name__)

#: a change token saved this long ago is replaced by the newer one a quiet delta gave (seconds)
TOKEN_MAX_AGE = 3600.0
#: the clock a saved token's age is measured with (seconds since the epoch; tests set it)
clock: Callable[[], float] = time.time


@dataclass
class Entry:
    """What the file at a path held when this process last loaded or saved it."""

    ident: FileId
    digest: bytes
    read_ns: int  # the filesystem's clock just before the bytes were read or written
    data: dict[str, Any]

    def in_doubt(self) -> bool:
        return max(self.ident.mtime_ns, self.ident.ctime_ns) >= self.read_ns - snapcache.GRANULARITY_NS


@dataclass
class Stats:
    """What the in-memory copy did, for tests and the benchmark."""

    hits: int = 0
    loads: int = 0
    rehashes: int = 0
    saves: int = 0


_entries: dict[str, Entry] = {}
_lock = threading.Lock()
stats = Stats()


def forget(path: Path | None = None) -> None:
    """Drop what this process keeps of ``path`` (of every file when None)."""
    with _lock:
        if path is None:
            _entries.clear()
            _built.clear()
        else:
            _entries.pop(os.path.abspath(path), None)
            _built.pop(os.path.abspath(path), None)


def _valid(data: Any, calendar: str, field: str, journal_token: str | None, journaled: bool) -> bool:
    if not isinstance(data, dict) or data.get("calendar") != calendar or data.get("v") != 1:
        return False
    token = journal_token if journaled else data.get(field)
    return bool(token) and token == data.get(field)


def _kept(path: Path) -> dict[str, Any] | None:
    """What this process kept of ``path``, when the file is still the one it kept it from."""
    key = os.path.abspath(path)
    with _lock:
        entry = _entries.get(key)
    if entry is None:
        return None
    now = file_id(os.stat(path))
    if now != entry.ident:
        return None
    if entry.in_doubt():  # an edit in the same timestamp tick could have left the stat as it was
        stats.rehashes += 1
        read = snapcache.read_file(path)
        if not (read.stable and read.ident == entry.ident and digest(read.data) == entry.digest):
            return None
        entry.read_ns = read.read_ns
    return entry.data


def load(path: Path, calendar: str, field: str, journal_token: str | None, journaled: bool) -> dict[str, Any] | None:
    """The cache for ``calendar`` whose ``field`` (its change token) is the journal's; None when
    missing, unreadable, another calendar's, or out of step with the journal (start over)."""
    key = os.path.abspath(path)
    try:
        kept = _kept(path)
        if kept is not None and _valid(kept, calendar, field, journal_token, journaled):
            stats.hits += 1
            return kept
        stats.loads += 1
        read = snapcache.read_file(path)
        data: dict[str, Any] = json.loads(read.data)
    except (OSError, ValueError):
        forget(path)
        return None
    if not _valid(data, calendar, field, journal_token, journaled):
        forget(path)
        return None
    with _lock:
        if read.stable:
            _entries[key] = Entry(read.ident, digest(read.data), read.read_ns, data)
        else:
            _entries.pop(key, None)
    return data


def save(path: Path, data: dict[str, Any], provider: str) -> None:
    """Write ``data`` (never changed afterwards) to ``path``, and keep it as what the file holds."""
    text = json.dumps(data, separators=(",", ":")).encode()
    key = os.path.abspath(path)
    with _lock:
        _entries.pop(key, None)
    written_ns = snapcache.clock()
    try:
        write_atomic(path, text, mode=0o600)
        ident = file_id(os.stat(path))
    except OSError as e:
        raise RuntimeFailure(f"{path}: cannot save the {provider} cache ({e.strerror})") from None
    stats.saves += 1
    with _lock:
        _entries[key] = Entry(ident, digest(text), written_ns, data)


@dataclass
class Built:
    """What a reader built from a cache file's events, while what it depends on (zone, owners) is
    the same: per event id, the event dict it was built from and the values (rebuilt when the
    reader's cache holds another dict for that id); and, for the whole cache ``data`` (a version
    is never changed in place), what the reader prepared from it (``prepared``)."""

    events: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    data: dict[str, Any] | None = None
    prepared: Any = None

    def prune(self, live: dict[str, Any]) -> None:
        if len(self.events) > len(live):
            for eid in [k for k in self.events if k not in live]:
                del self.events[eid]


#: per cache file: (what the values depend on), what was built
_built: dict[str, tuple[Any, Built]] = {}


def built(path: Path, context: Any) -> Built:
    """What a reader built from ``path``'s cache while ``context`` is the same; a new, empty one otherwise."""
    key = os.path.abspath(path)
    with _lock:
        kept = _built.get(key)
        if kept is None or kept[0] != context:
            kept = _built[key] = (context, Built())
    return kept[1]


def current(
    cached: dict[str, Any] | None,
    start: datetime,
    end: datetime,
    full_read: Callable[[datetime, datetime], dict[str, Any]],
    incremental: Callable[[dict[str, Any]], dict[str, Any]],
    gone: type[Exception],
    told: str,
) -> dict[str, Any]:
    """What the provider lists now: the cache brought up to date by its change token when it covers
    ``[start, end)``, else (none, too narrow, or the token refused) a full read."""
    if cached is not None:
        lo, hi = (datetime.fromisoformat(t) for t in cached["window"])
        if lo <= start and end <= hi:
            try:
                return incremental(cached)
            except gone:  # the provider no longer knows the token
                log.info("%s", told)
    return full_read(start, end)


class TokenCached:
    """What a provider reader keeps between cycles: small values in the journal (under
    ``PROVIDER_KEY:calendar:what``) and the listed events in ``cache_file``, valid while the change
    token saved with them (``TOKEN_FIELD`` in the file, ``TOKEN_STATE`` in the journal) agrees."""

    PROVIDER: str  # as the error names it: "Google", "Microsoft"
    PROVIDER_KEY: str  # the journal key's prefix: "google", "microsoft"
    TOKEN_FIELD: str
    TOKEN_STATE: str
    cache_file: Path
    sync_state: Any  # the journal's key/value store, or None (then only the file counts)
    _cache: dict[str, Any] | None

    def _calendar_key(self) -> str:
        raise NotImplementedError

    def _state_get(self, what: str) -> str | None:
        if self.sync_state is None:
            return None
        value = self.sync_state.get(f"{self.PROVIDER_KEY}:{self._calendar_key()}:{what}")
        return None if value is None else str(value)

    def _state_set(self, what: str, value: str | None) -> None:
        if self.sync_state is not None:
            self.sync_state.set(f"{self.PROVIDER_KEY}:{self._calendar_key()}:{what}", value)

    def _load_cache(self) -> dict[str, Any] | None:
        if self._cache is None:
            token = self._state_get(self.TOKEN_STATE)
            self._cache = load(self.cache_file, self._calendar_key(), self.TOKEN_FIELD, token, self.sync_state is not None)
        return self._cache

    def _save_cache(self, data: dict[str, Any]) -> None:
        """Save ``data`` (a new dict: stamped with the time here) and its token: file, then journal."""
        data["saved"] = clock()
        self._cache = data
        save(self.cache_file, data, self.PROVIDER)
        self._state_set(self.TOKEN_STATE, data[self.TOKEN_FIELD])

    def _quiet(self, data: dict[str, Any], token: str) -> dict[str, Any]:
        """``data`` after a delta that listed no change and gave ``token``: as it is (the saved token
        still lists every change since), unless the saved one is :data:`TOKEN_MAX_AGE` old."""
        if token == data[self.TOKEN_FIELD] or clock() - float(data.get("saved") or 0) < TOKEN_MAX_AGE:
            return data
        new = dict(data)
        new[self.TOKEN_FIELD] = token
        self._save_cache(new)
        return new
