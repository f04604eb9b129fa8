"""The on-disk copy of what a provider's API listed (Google, Microsoft): valid only while the change
token the journal holds is the one it was saved with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from boundaryd.errors import RuntimeFailure
from boundaryd.fsutil import write_atomic


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
