"""The on-disk copy of what a provider's API listed (Google, Microsoft): valid only while the change
token the journal holds is the one it was saved with."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from boundaryd.errors import RuntimeFailure
from boundaryd.fsutil import write_atomic

log = logging.getLogger(__name__)


def load(path: Path, calendar: str, field: str, journal_token: str | None, journaled: bool) -> dict[str, Any] | None:
    """The cache for ``calendar`` whose ``field`` (its change token) is the journal's; None when
    missing, unreadable, another calendar's, or out of step with the journal (start over)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("calendar") != calendar or data.get("v") != 1:
        return None
    token = journal_token if journaled else data.get(field)
    if not token or token != data.get(field):
        return None
    return data


def save(path: Path, data: dict[str, Any], provider: str) -> None:
    try:
        write_atomic(path, json.dumps(data, separators=(",", ":")).encode(), mode=0o600)
    except OSError as e:
        raise RuntimeFailure(f"{path}: cannot save the {provider} cache ({e.strerror})") from None


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
        self._cache = data
        save(self.cache_file, data, self.PROVIDER)
        self._state_set(self.TOKEN_STATE, data[self.TOKEN_FIELD])
