"""Logging set-up: one line a record, journal-friendly under systemd, readable on a terminal.

Under systemd (``$JOURNAL_STREAM`` names our stderr) each record is ``<N>message`` with the
sd-daemon(3) level prefix and no timestamp (the journal adds its own). Elsewhere a readable
``HH:MM:SS level message`` line. Multi-line messages and tracebacks are folded onto one line.
Registered secrets (passwords, tokens) and ``password=...``-like fragments are masked.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import TextIO

ROOT = "boundaryd"

# sd-daemon(3) prefixes
_PREFIX = {
    logging.CRITICAL: "<2>",
    logging.ERROR: "<3>",
    logging.WARNING: "<4>",
    logging.INFO: "<6>",
    logging.DEBUG: "<7>",
}

_secrets: set[str] = set()
_SECRET_KV = re.compile(
    r"(?i)\b(password|passwd|secret|token|access_token|refresh_token|client_secret|authorization)"
    r"(\s*[=:]\s*|\"\s*:\s*\")(bearer\s+|basic\s+)?[^\s\"',;&]+"
)


def register_secret(value: str | None) -> None:
    """Never show ``value`` in a log line (masked as ``***``)."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return _SECRET_KV.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


def fold(text: str) -> str:
    """One line: newlines become `` | ``, trailing blanks go."""
    lines = [ln.rstrip() for ln in text.strip().splitlines()]
    return " | ".join(ln for ln in lines if ln)


def level_for(verbosity: int) -> int:
    """``-q`` (verbosity < 0): warnings and errors; default: info; ``-v``: debug."""
    if verbosity < 0:
        return logging.WARNING
    if verbosity == 0:
        return logging.INFO
    return logging.DEBUG


def journal_stream(stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    """True when ``stream`` is the journal stream systemd gave us (``$JOURNAL_STREAM`` = dev:ino)."""
    env = os.environ if env is None else env
    raw = env.get("JOURNAL_STREAM", "")
    if not raw:
        return False
    try:
        dev, ino = (int(x) for x in raw.split(":"))
        st = os.fstat(stream.fileno())
    except (ValueError, OSError, AttributeError):
        return True  # set but not checkable (a wrapped stream): trust systemd
    return (st.st_dev, st.st_ino) == (dev, ino)


class _Formatter(logging.Formatter):
    def __init__(self, journal: bool, verbose: bool) -> None:
        super().__init__()
        self.journal = journal
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            if self.verbose or record.levelno >= logging.ERROR and not _is_user_error(record.exc_info[1]):
                message = f"{message}\n{self.formatException(record.exc_info)}"
            else:
                message = f"{message}: {record.exc_info[1]}"
        elif record.stack_info:
            message = f"{message}\n{record.stack_info}"
        line = fold(redact(message))
        if self.journal:
            prefix = _PREFIX.get(record.levelno)
            if prefix is None:
                prefix = "<3>" if record.levelno >= logging.ERROR else "<4>" if record.levelno >= logging.WARNING else "<6>" if record.levelno >= logging.INFO else "<7>"
            return f"{prefix}{line}"
        stamp = self.formatTime(record, "%H:%M:%S")
        return f"{stamp} {record.levelname.lower():7} {line}"


def _is_user_error(exc: BaseException) -> bool:
    from boundaryd.errors import BoundarydError

    return isinstance(exc, BoundarydError)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that looks up ``sys.stderr`` at emit time (pytest swaps it)."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream)
        self._fixed = stream is not None

    def emit(self, record: logging.LogRecord) -> None:
        if not self._fixed:
            self.stream = sys.stderr
        super().emit(record)


def setup_logging(verbosity: int = 0, stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> logging.Logger:
    """Configure the ``boundaryd`` logger (idempotent) and return it."""
    out = stream if stream is not None else sys.stderr
    journal = journal_stream(out, env)
    logger = logging.getLogger(ROOT)
    for h in list(logger.handlers):
        if isinstance(h, _Handler):
            logger.removeHandler(h)
    handler = _Handler(stream)
    handler.setFormatter(_Formatter(journal=journal, verbose=verbosity > 0))
    logger.addHandler(handler)
    logger.setLevel(level_for(verbosity))
    logger.propagate = False
    # third-party chatter (schedule, caldav, googleapiclient) only with -v, through the same handler
    for name in ("schedule", "caldav", "googleapiclient", "urllib3", "niquests"):
        other = logging.getLogger(name)
        other.setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)
        for h in list(other.handlers):
            if isinstance(h, _Handler):
                other.removeHandler(h)
        other.addHandler(handler)
        other.propagate = False
    return logger
