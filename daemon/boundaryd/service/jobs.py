"""The daemon's jobs as policies over a clock: when to sync and what a sync's outcome means
(backoff, fault notices), and which wall-clock jobs the rules ask for (digest, weekly preview,
weekly report) and when. No threads, no signals and no I/O here: the loop (``daemon.py``) asks
what is due, runs it in its worker, and hands the outcome back.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from boundaryd.errors import BoundarydError
from boundaryd.service.clock import Clock

log = logging.getLogger("boundaryd.service.daemon")


class SyncSummary(Protocol):
    conflicts: int
    declined: int
    flagged: int
    text: str


@dataclass(frozen=True)
class Notice:
    """A message to the owner about the daemon itself."""

    subject: str
    text: str
    key: str


@dataclass
class Fault:
    since_wall: datetime
    since: float
    failures: int = 0
    error: str = ""
    noticed: bool = False


@dataclass
class DaemonState:
    """What STATUS= shows; also handy for tests."""

    rules_error: str | None = None
    last_sync: datetime | None = None
    last_summary: SyncSummary | None = None
    fault: Fault | None = None
    job_errors: dict[str, str] = field(default_factory=dict)
    syncs: int = 0


def backoff_delay(interval: float, failures: int, max_backoff: float) -> float:
    """Delay before the next try after ``failures`` consecutive failures (1, 2, ...)."""
    if failures <= 0:
        return interval
    base = max(min(interval, max_backoff), 1.0)
    return max(min(base * 2.0 ** (failures - 1), max_backoff), min(interval, max_backoff))


def next_slot(scheduled: float, now: float, interval: float) -> float:
    """The sync after one scheduled at ``scheduled``: same phase, missed slots skipped (no drift)."""
    nxt = scheduled + interval
    if nxt <= now:  # ran late (a long sync, a suspend)
        nxt += ((now - nxt) // interval + 1) * interval
    return nxt


def describe(exc: BaseException) -> str:
    """One line for a failure, naming what failed."""
    if isinstance(exc, BoundarydError) and exc.problems:
        text = exc.problems[0] + (f" (+{len(exc.problems) - 1} more)" if len(exc.problems) > 1 else "")
    elif isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        text = f"{where}{exc.strerror or exc}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def human(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return str(timedelta(seconds=seconds))


def zone_of(rules: Any, clock: Clock) -> tzinfo:
    """The rules' time zone (the machine's when the rules have none)."""
    tz = getattr(rules, "tz", None)
    if isinstance(tz, tzinfo):
        return tz
    name = str(getattr(rules, "timezone", "") or "")
    if name:
        return ZoneInfo(name)
    local = clock.now().tzinfo
    assert local is not None
    return local


class SyncJob:
    """When the next sync is due (a monotonic time) and what each outcome changes."""

    def __init__(
        self,
        clock: Clock,
        state: DaemonState,
        *,
        interval: float,
        max_backoff: float,
        notice_after_failures: int,
        notice_after_seconds: float,
    ) -> None:
        self.clock = clock
        self.state = state
        self.interval = interval
        self.max_backoff = max_backoff
        self.notice_after_failures = notice_after_failures
        self.notice_after_seconds = notice_after_seconds
        self.next_at: float | None = None
        self.queued = False
        self._last_text = ""

    def sync_now(self) -> None:
        """New rules: sync with them as soon as the worker is free."""
        self.next_at = self.clock.monotonic()

    def due(self, now: float) -> bool:
        return self.next_at is not None and now >= self.next_at and not self.queued

    def wait(self, now: float) -> float | None:
        """Seconds until the next sync is due; None while none is (no rules, or one is queued)."""
        return None if self.next_at is None or self.queued else self.next_at - now

    def take(self) -> float:
        """The sync is being queued; its scheduled time."""
        self.queued = True
        return self.next_at if self.next_at is not None else self.clock.monotonic()

    def succeeded(self, summary: SyncSummary, scheduled: float) -> Notice | None:
        self.queued = False
        now = self.clock.monotonic()
        st = self.state
        st.syncs += 1
        st.last_sync = self.clock.now()
        st.last_summary = summary
        text = " ".join(str(getattr(summary, "text", "")).split())
        if summary is not None and (summary.declined or summary.flagged or text != self._last_text):
            log.info("sync: %s", text or f"{summary.conflicts} conflicts")
        else:
            log.debug("sync: nothing new")
        self._last_text = text
        notice = None
        fault = st.fault
        if fault is not None:
            log.info("sync works again after %d failures", fault.failures)
            if fault.noticed:
                notice = Notice(
                    "boundaryd: working again",
                    f"boundaryd syncs again since {st.last_sync:%Y-%m-%d %H:%M}. "
                    f"It had failed {fault.failures} times since {fault.since_wall:%Y-%m-%d %H:%M}: {fault.error}",
                    f"fault-cleared:{fault.since_wall.isoformat()}",
                )
            st.fault = None
        if self.next_at is None or self.next_at == scheduled:  # else: rules reloaded meanwhile, a sync is due
            self.next_at = next_slot(scheduled, now, self.interval)
        return notice

    def failed(self, exc: BaseException, scheduled: float) -> Notice | None:
        self.queued = False
        now = self.clock.monotonic()
        text = describe(exc)
        fault = self.state.fault
        if fault is None:
            fault = self.state.fault = Fault(since_wall=self.clock.now(), since=now)
        fault.failures += 1
        fault.error = text
        delay = backoff_delay(self.interval, fault.failures, self.max_backoff)
        hint = getattr(exc, "retry_after", None)  # e.g. Google's quotaExceeded: wait longer
        if isinstance(hint, (int, float)) and hint > delay:
            delay = min(float(hint), max(self.max_backoff, float(hint)))
        if self.next_at is None or self.next_at == scheduled:
            self.next_at = now + delay
        if isinstance(exc, (BoundarydError, OSError)):
            log.error(
                "sync failed: %s; retrying in %s", text, human(delay),
                exc_info=exc if log.isEnabledFor(logging.DEBUG) else None,
            )
        else:
            log.error("sync failed (a bug; please report it): %s; retrying in %s", text, human(delay), exc_info=exc)
        if fault.noticed or fault.failures < self.notice_after_failures:
            return None
        if now - fault.since < self.notice_after_seconds:
            return None
        fault.noticed = True
        return Notice(
            "boundaryd: sync is failing",
            f"boundaryd has not been able to sync since {fault.since_wall:%Y-%m-%d %H:%M} "
            f"({fault.failures} tries). The last error: {text}\n\n"
            "It keeps retrying by itself and will tell you when it works again.",
            f"fault:{fault.since_wall.isoformat()}",
        )

    def status(self) -> str | None:
        """The fault part of STATUS=, if syncing fails."""
        f = self.state.fault
        if f is None:
            return None
        nxt = "" if self.next_at is None else f"; retrying in {human(max(self.next_at - self.clock.monotonic(), 0))}"
        return f"sync failing since {f.since_wall:%H:%M} ({f.failures} tries): {f.error}{nxt}"


def status_line(state: DaemonState, fault: str | None, have_rules: bool) -> str:
    """What ``STATUS=`` says: the fault, the last sync, a rules problem, failing jobs."""
    parts: list[str] = []
    if fault is not None:
        parts.append(fault)
    if state.last_sync is not None:
        s = state.last_summary
        counts = "" if s is None else f": {s.conflicts} conflicts ({s.declined} declined, {s.flagged} flagged)"
        parts.append(f"last sync {state.last_sync:%Y-%m-%d %H:%M}{counts}")
        mail_error = getattr(s, "mail_error", None)
        if mail_error:
            parts.append(f"mail waiting in the outbox: {mail_error}")
    elif state.fault is None and have_rules:
        parts.append("first sync under way")
    if state.rules_error:
        parts.append(state.rules_error)
    for name, err in state.job_errors.items():
        parts.append(f"{name} failed: {err}")
    return "; ".join(parts) or "running"


def rules_problem(problems: list[str], in_force: bool) -> str:
    """The rules part of STATUS= when the file does not load."""
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    if in_force:
        return f"rules file invalid, last good rules in force: {problems[0]}{more}"
    return f"waiting for a valid rules file: {problems[0]}{more}"


def rules_notice(path: Path, problems: list[str]) -> Notice:
    """The owner's notice about a rules file that does not load; its key names these problems."""
    key = "rules:" + hashlib.sha256("\n".join(problems).encode()).hexdigest()[:16]
    text = (
        f"boundaryd could not load {path}; it keeps enforcing the last rules that "
        "loaded. Fix these problems and save the file (or run `boundaryd check`):\n\n" + "\n".join(problems)
    )
    return Notice("boundaryd: your rules file has errors", text, key)
