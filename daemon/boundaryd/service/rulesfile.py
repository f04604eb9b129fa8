"""Noticing an edit of the rules file: its signature (mtime, size, inode, device), settled a moment."""

from __future__ import annotations

import os
from pathlib import Path

Signature = tuple[int, int, int, int]


def file_signature(path: Path) -> Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev)


class RulesWatch:
    """Polls ``path`` every ``poll_seconds``; a change counts once it has held for ``settle_seconds``
    (an editor may write a file in several steps)."""

    def __init__(self, path: Path, poll_seconds: float, settle_seconds: float) -> None:
        self.path = path
        self.poll_seconds = poll_seconds
        self.settle_seconds = settle_seconds
        self.loaded: Signature | None = None
        self.pending: Signature | None = None
        self._pending_since = 0.0
        self._last_poll = float("-inf")

    def mark_loaded(self) -> None:
        """The file as it is now is the one in force (or just rejected)."""
        self.loaded = file_signature(self.path)
        self.pending = None

    def changed(self, now: float) -> bool:
        """True when the file changed since it was loaded and has settled."""
        if self.pending is None and now - self._last_poll < self.poll_seconds:
            return False
        self._last_poll = now
        sig = file_signature(self.path)
        if sig == self.loaded:
            self.pending = None
            return False
        if sig != self.pending:  # changed (again): let the editor finish writing
            self.pending = sig
            self._pending_since = now
            return False
        return now - self._pending_since >= self.settle_seconds

    def wait(self) -> float:
        """The longest the loop may sleep before the next look at the file."""
        return self.settle_seconds if self.pending is not None else self.poll_seconds
