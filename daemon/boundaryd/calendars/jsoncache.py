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
