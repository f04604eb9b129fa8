"""The daemon shell: ``boundaryd run``. Thin on purpose; everything real happens in the app.

This module is the loop: signals, sd_notify, the watchdog, the rules file, and one worker thread.
What is due and what an outcome means are the jobs' policies (``jobs.py``: sync with backoff and
fault notices; digest, weekly preview and report at wall-clock times in the rules' zone, timed by
``schedule``), all reading one injected ``Clock`` (``clock.py``), so tests move time by hand.

One main loop waits on one self-pipe (``wakeup.py``: signals and finished work write to it) with a
timeout clamped to the next due thing: the next sync (a monotonic clock, CLOCK_BOOTTIME where there
is one), the next wall-clock job, a poll of the rules file, and half the systemd watchdog interval.

Work that may block on the network (a sync, a digest, the weekly preview, a notice to the owner)
runs one task at a time in a worker thread (``worker.py``), so SIGTERM is honoured within seconds
whatever the network does: the main loop sends ``STOPPING=1``, gives the task a short grace, and
returns; the journal makes an abandoned step safe to redo. While a task hangs longer than the
watchdog interval the loop stops sending ``WATCHDOG=1`` and systemd restarts us.

Rules: ``READY=1`` is sent after the first good load. If the very first load fails the daemon logs
every problem, says so in ``STATUS=`` and waits (polling the file) for a good one; it does not exit.
After that, SIGHUP or an edit of the file (mtime/size/inode, settled for a moment) reloads:
``RELOADING=1`` + ``MONOTONIC_USEC=``, then ``READY=1``. A file that does not validate is logged with
FILE:LINE:COLUMN, shown in ``STATUS=``, notified once per distinct set of problems, and the last
good rules stay in force.

Faults (a RuntimeFailure, a BadInput from the calendar, an OSError such as ENOSPC in the state dir,
or a bug): exponential backoff from the interval up to ``max_backoff``; ``STATUS=`` says so; one
notice to the owner once the fault has lasted ``notice_after_failures`` tries and
``notice_after_seconds``; one more when it clears. The loop itself never exits but on SIGTERM/SIGINT.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Protocol

from boundaryd.errors import BadInput, BoundarydError
from boundaryd.service.clock import Clock, SystemClock, boottime
from boundaryd.service.jobs import (
    DaemonState,
    Notice,
    SyncJob,
    SyncSummary,
    backoff_delay,
    describe,
    rules_notice,
    rules_problem,
    status_line,
    zone_of,
)
from boundaryd.service.rulesfile import RulesWatch, file_signature
from boundaryd.service.sdnotify import Notifier, Watchdog, watchdog_interval
from boundaryd.service.wakeup import Wakeup
from boundaryd.service.walljobs import WEEKDAY_ATTR, WallJobs
from boundaryd.service.worker import Task, Worker

if TYPE_CHECKING:
    from boundaryd.core.rules import Rules

__all__ = [
    "WEEKDAY_ATTR", "Daemon", "DaemonApp", "DaemonState", "SyncSummary", "backoff_delay", "boottime",
    "describe", "file_signature",
]

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class DaemonApp(Protocol):
    """What the daemon needs from the application (``boundaryd.engine.app``)."""

    rules_path: Path

    def load_rules(self) -> Rules: ...

    def sync(self, rules: Rules, now: datetime | None = None) -> SyncSummary: ...

    def send_weekly_preview(self, rules: Rules, now: datetime | None = None) -> None: ...

    def flush_digest(self, rules: Rules, now: datetime | None = None) -> None: ...

    def notify_owner(self, rules: Rules, subject: str, text: str, key: str) -> None: ...


def load(app: DaemonApp) -> tuple[Rules | None, BadInput | None]:
    """The rules, or every problem with them as one BadInput."""
    try:
        return app.load_rules(), None
    except BadInput as exc:
        return None, exc
    except OSError as exc:
        return None, BadInput(f"{app.rules_path}: {exc.strerror or exc} (fix the rules file)")
    except BoundarydError as exc:
        return None, BadInput(*exc.problems)


class Daemon:
    def __init__(
        self,
        app: DaemonApp,
        *,
        interval: float = 60.0,
        notifier: Notifier | None = None,
        max_backoff: float = 900.0,
        notice_after_failures: int = 3,
        notice_after_seconds: float = 600.0,
        poll_seconds: float = 2.0,
        settle_seconds: float = 0.3,
        stop_grace: float = 3.0,
        job_retry_seconds: float = 600.0,
        job_retries: int = 3,
        clock: Clock | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        if interval <= 0:
            raise BadInput(f"--interval: {interval:g} is not a positive number of seconds")
        self.app = app
        self.interval = float(interval)
        self.notifier = notifier if notifier is not None else Notifier.from_env(env)
        self.stop_grace = stop_grace
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.watchdog: float | None = watchdog_interval(env)
        self._watchdog = Watchdog(self.notifier, self.watchdog)
        self.state = DaemonState()
        self.rules: Rules | None = None
        self.abandoned: str | None = None  # the task still running when the daemon stopped, if any

        self._wakeup = Wakeup()
        self._worker = Worker(self._wakeup.poke)
        self.sync_job = SyncJob(
            self.clock, self.state, interval=self.interval, max_backoff=max(float(max_backoff), 1.0),
            notice_after_failures=notice_after_failures, notice_after_seconds=notice_after_seconds,
        )
        self.wall_jobs = WallJobs(
            self.clock, self.state, self._worker.submit, retry_seconds=job_retry_seconds, retries=job_retries
        )
        self._watch = RulesWatch(app.rules_path, poll_seconds, settle_seconds)
        # set by the signal handler (plain assignments) and by the loop from the pipe's bytes
        self._stop_flag = False
        self._reload_flag = False
        self._ready_sent = False
        self._rules_notice_key: str | None = None
        self._last_status = ""

    # --- signals and requests from other threads -------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # CPython runs this in the main thread between two bytecodes of anything (a log call, a
        # lock held): it must not take a lock, log or do I/O. Plain assignments only; the signal's
        # number is already in the wake-up pipe (written by CPython's C handler), which ends the wait.
        if signum == signal.SIGHUP:
            self._reload_flag = True
        else:
            self._stop_flag = True

    def request_stop(self) -> None:
        self._stop_flag = True
        self._wakeup.poke()

    def request_reload(self) -> None:
        self._reload_flag = True
        self._wakeup.poke()

    def wake(self) -> None:
        """Look again at what is due (e.g. after a test moved its clock)."""
        self._wakeup.poke()

    # --- the loop -----------------------------------------------------------------------

    def run(self) -> int:
        """Run until SIGTERM/SIGINT (or ``request_stop``); returns the exit code (0)."""
        self._wakeup.install(self._on_signal, (*STOP_SIGNALS, signal.SIGHUP))
        try:
            log.info(
                "boundaryd daemon starting: rules %s, sync every %gs%s",
                self.app.rules_path,
                self.interval,
                f", watchdog {self.watchdog:g}s" if self.watchdog else "",
            )
            self._set_status("starting")
            self._watch.mark_loaded()
            self._load_rules(None)
            # The wait: select() on the self-pipe, not an Event and not sigtimedwait(). A pipe
            # is what a C signal handler can safely write to (Python's does, via set_wakeup_fd),
            # what a worker thread can write to without a lock, and what works whether or not
            # run() is in the main thread (tests run it in a thread; there are no signals then).
            # sigtimedwait() would need the signals blocked in every thread, including threads
            # libraries start, and a signal of our own for "work finished". (And select's timeout
            # holds under libfaketime, where a timed Event.wait never times out.)
            while not self._stop_flag:
                self._step()
                if self._stop_flag:
                    break
                self._take(self._wakeup.wait(self._timeout()))
        finally:
            self._shutdown()
        return 0

    def _take(self, signums: set[int]) -> None:
        if signal.SIGHUP in signums:
            self._reload_flag = True
        if signums.intersection(STOP_SIGNALS):
            self._stop_flag = True

    def _step(self) -> None:
        now = self.clock.monotonic()
        self._collect()
        self.wall_jobs.run_pending()  # before a reload: a job due right now runs with the rules it was due under
        if self._reload_flag:
            self._reload_flag = False
            self._load_rules("SIGHUP")
        if self._watch.changed(now):
            self._load_rules("file changed")
        if self.rules is not None and self.sync_job.due(now):
            self._queue_sync(self.rules)
        if not self._stop_flag:
            self._worker.start_next(self.clock.monotonic())
        self._ping()

    def _timeout(self) -> float:
        now = self.clock.monotonic()
        waits = [self._watch.wait()]
        sync = self.sync_job.wait(now)
        if sync is not None:
            waits.append(sync)
        idle = self.wall_jobs.idle_seconds()
        if idle is not None:
            waits.append(idle + 0.05)
        ping = self._watchdog.wait(now)
        if ping is not None:
            waits.append(ping)
        return min(max(w, 0.0) for w in waits)

    def _ping(self) -> None:
        now = self.clock.monotonic()
        task = self._worker.current
        self._watchdog.feed(now, self._worker.busy_for(now), task.name if task is not None else "")

    def _shutdown(self) -> None:
        self.wall_jobs.stopping = True
        self.notifier.stopping()
        self._set_status("stopping")
        log.info("boundaryd daemon stopping")
        task = self._worker.current
        if task is not None and not task.finished:
            # the grace is real seconds whatever the clock: it is what systemd's stop timeout counts
            deadline = time.monotonic() + self.stop_grace
            while not task.finished and deadline - time.monotonic() > 0:
                self._wakeup.wait(min(deadline - time.monotonic(), 0.5))
            if not task.finished:
                log.warning("abandoning %s (the journal makes it safe to redo)", task.name)
                self.abandoned = task.name
        self._worker.stop()
        if self.abandoned is None:
            self._wakeup.close()
        else:  # its thread may still poke the pipe when the task ends: leave the pipe open
            self._wakeup.disarm()
        self.notifier.close()

    def _collect(self) -> None:
        task = self._worker.collect()
        if task is None:
            return
        try:
            task.done(task)
        except Exception as exc:  # a bug in a handler must not kill the loop
            log.error("handling the end of %s: %s", task.name, describe(exc), exc_info=exc)
        self._refresh_status(force=task.name == "sync")  # one STATUS= per sync, even when it reads the same

    # --- rules --------------------------------------------------------------------------

    def _ready(self) -> None:
        self.notifier.ready()
        self._ready_sent = True
        self._refresh_status(force=True)

    def _adopt(self, rules: Rules) -> None:
        self.rules = rules
        self.state.rules_error = None
        self._rules_notice_key = None
        self.wall_jobs.build(self.app, rules)
        self.sync_job.sync_now()

    def _rules_bad(self, err: BadInput) -> None:
        problems = list(err.problems) or [str(err)]
        for p in problems:
            log.error("%s", p)
        self.state.rules_error = rules_problem(problems, in_force=self.rules is not None)
        log.warning("waiting for a valid rules file" if self.rules is None else "keeping the last good rules")
        self._refresh_status(force=True)
        notice = rules_notice(self.app.rules_path, problems)
        if self.rules is not None and notice.key != self._rules_notice_key:  # once per distinct set of problems
            self._rules_notice_key = notice.key
            self._notice(self.rules, notice)

    def _load_rules(self, why: str | None) -> None:
        """Load the rules file; until a first good load there is no RELOADING, and READY comes with it."""
        self._watch.mark_loaded()
        first = not self._ready_sent
        if not first:
            self.notifier.reloading()
            log.info("reloading rules from %s (%s)", self.app.rules_path, why)
        rules, err = load(self.app)
        if rules is not None:
            self._adopt(rules)
            if first:
                log.info("rules loaded from %s%s", self.app.rules_path, f" ({why})" if why else "")
            else:
                log.info("rules reloaded")
        else:
            assert err is not None
            self._rules_bad(err)
        if rules is not None or not first:
            self._ready()

    # --- work ---------------------------------------------------------------------------

    def _queue_sync(self, rules: Rules) -> None:
        scheduled = self.sync_job.take()
        zone = zone_of(rules, self.clock)
        self._worker.submit(
            "sync", lambda: self.app.sync(rules, self.clock.now(zone)), lambda t: self._sync_done(t, rules, scheduled)
        )

    def _sync_done(self, task: Task, rules: Rules, scheduled: float) -> None:
        if task.error is None:
            notice = self.sync_job.succeeded(task.result, scheduled)
        else:
            notice = self.sync_job.failed(task.error, scheduled)
        if notice is not None:
            self._notice(rules, notice)

    def _notice(self, rules: Rules, notice: Notice) -> None:
        def done(task: Task) -> None:
            if task.error is not None:
                log.warning("could not send the notice %r: %s", notice.subject, describe(task.error))

        self._worker.submit(
            "notice", lambda: self.app.notify_owner(rules, notice.subject, notice.text, notice.key), done
        )

    # --- status -------------------------------------------------------------------------

    def status_text(self) -> str:
        return status_line(self.state, self.sync_job.status(), self.rules is not None)

    def _refresh_status(self, force: bool = False) -> None:
        self._set_status(self.status_text(), force=force)

    def _set_status(self, text: str, force: bool = False) -> None:
        if text != self._last_status or force:
            self._last_status = text
            self.notifier.status(text)


def leave(daemon: Daemon, code: int) -> None:
    """After ``run()`` in a process of its own: make sure nothing holds up or spoils the exit.

    A SIGTERM or SIGHUP now (systemd, a user's second ``kill``) would meet the interpreter's
    finalisation, which puts back the signals' default, deadly actions: block them instead (the
    worker thread blocks them from its start), so they die pending with the process. A task still
    running in the worker (abandoned after the grace) could hold a log handler's lock that exit's
    ``logging.shutdown`` waits for: then leave at once; what matters is on disk already (files by
    rename, the journal in SQLite), exactly as if systemd had killed us.
    """
    if threading.current_thread() is threading.main_thread():
        signal.pthread_sigmask(signal.SIG_BLOCK, {*STOP_SIGNALS, signal.SIGHUP})
    if daemon.abandoned is None:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
