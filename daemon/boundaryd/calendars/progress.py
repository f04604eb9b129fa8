"""How far a long first read of a big calendar has got, on a terminal.

A first sync of 20,000 events takes a while; on a terminal it says so on stderr (one line,
rewritten in place: events read, then changes made) once it has taken more than
``BOUNDARYD_PROGRESS_AFTER`` seconds (default 1.5). When stderr is not a terminal (the daemon
under systemd, a pipe, a test) nothing extra is written.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

DELAY = 1.5


class Progress:
    def __init__(self, stream: TextIO, what: str, delay: float) -> None:
        self.stream = stream
        self.what = what
        self.start = time.monotonic()
        self.delay = delay
        self.shown = False

    def _show(self, text: str) -> None:
        if not self.shown and time.monotonic() - self.start < self.delay:
            return
        self.shown = True
        self.stream.write(f"\r{self.what}: {text}\x1b[K")
        self.stream.flush()

    def read(self, done: int, total: int) -> None:
        self._show(f"{done:,} of {total:,} events read")

    def written(self, done: int) -> None:
        """Blocks written, conflicts flagged or declined so far (the file is written once, at the end)."""
        self._show(f"{done:,} changes made")

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False


def on_terminal(what: str) -> Progress | None:
    """A progress line for ``what`` on stderr when stderr is a terminal, else None."""
    stream = sys.stderr
    try:
        if stream is None or not stream.isatty():
            return None
    except (AttributeError, ValueError):  # closed or replaced by something that is no file
        return None
    try:
        delay = float(os.environ.get("BOUNDARYD_PROGRESS_AFTER", DELAY))
    except ValueError:
        delay = DELAY
    return Progress(stream, what, delay)
