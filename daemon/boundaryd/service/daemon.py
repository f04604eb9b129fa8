"""The daemon shell: ``boundaryd run``. Thin on purpose; everything real happens in the app.

One main loop waits on one ``threading.Event`` (signals and finished work set it) with a timeout
clamped to the next due thing: the next sync (a monotonic clock, CLOCK_BOOTTIME where there is
one so a laptop that slept syncs as soon as it wakes), the next wall-clock job of its own
``schedule.Scheduler`` (weekly preview, digests, in the rules' time zone), a poll of the rules
file, and half the systemd watchdog interval. Signal handlers only set flags.

Work that may block on the network (a sync, a digest, the weekly preview, a notice to the owner)
runs one task at a time in a worker thread, so SIGTERM is honoured within seconds whatever the
network does: the main loop sends ``STOPPING=1``, gives the task a short grace, and returns; the
journal makes an abandoned step safe to redo. While a task hangs longer than the watchdog
interval the loop stops sending ``WATCHDOG=1`` and systemd restarts us.

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

import hashlib
import logging
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol, cast

from boundaryd.errors import BadInput, BoundarydError
from boundaryd.service.sdnotify import Notifier, watchdog_interval

if TYPE_CHECKING:
    import schedule

    from boundaryd.core.rules import Rules

log = logging.getLogger(__name__)

WEEKDAY_ATTR = {
    "mon": "monday",
    "tue": "tuesday",
    "wed": "wednesday",
    "thu": "thursday",
    "fri": "friday",
    "sat": "saturday",
    "sun": "sunday",
}


class SyncSummary(Protocol):
    conflicts: int
    declined: int
    flagged: int
    text: str


class DaemonApp(Protocol):
    """What the daemon needs from the application (``boundaryd.engine.app``)."""

    rules_path: Path

    def load_rules(self) -> Rules: ...

    def sync(self, rules: Rules) -> SyncSummary: ...

    def send_weekly_preview(self, rules: Rules) -> None: ...

    def flush_digest(self, rules: Rules) -> None: ...

    def notify_owner(self, rules: Rules, subject: str, text: str, key: str) -> None: ...


def boottime() -> float:
    """Seconds on a monotonic clock that keeps counting during suspend (Linux), else monotonic."""
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    if clock is not None:
        try:
            return float(time.clock_gettime(clock))
        except OSError:
            pass
    return time.monotonic()


def backoff_delay(interval: float, failures: int, max_backoff: float) -> float:
    """Delay before the next try after ``failures`` consecutive failures (1, 2, ...)."""
    if failures <= 0:
        return interval
    base = max(min(interval, max_backoff), 1.0)
    return max(min(base * 2.0 ** (failures - 1), max_backoff), min(interval, max_backoff))


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


def file_signature(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev)


@dataclass
class _Task:
    name: str
    func: Callable[[], Any]
    done: Callable[[_Task], None]
    started: float = 0.0
    finished: bool = False
    result: Any = None
    error: BaseException | None = None


@dataclass
class _Fault:
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
    fault: _Fault | None = None
    job_errors: dict[str, str] = field(default_factory=dict)
    syncs: int = 0


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
        clock: Callable[[], float] = boottime,
        wall: Callable[[], datetime] = lambda: datetime.now().astimezone(),
        env: dict[str, str] | None = None,
    ) -> None:
        if interval <= 0:
            raise BadInput(f"--interval: {interval:g} is not a positive number of seconds")
        self.app = app
        self.interval = float(interval)
        self.notifier = notifier if notifier is not None else Notifier.from_env(env)
        self.max_backoff = max(float(max_backoff), 1.0)
        self.notice_after_failures = notice_after_failures
        self.notice_after_seconds = notice_after_seconds
        self.poll_seconds = poll_seconds
        self.settle_seconds = settle_seconds
        self.stop_grace = stop_grace
        self.job_retry_seconds = job_retry_seconds
        self.job_retries = job_retries
        self.clock = clock
        self.wall = wall
        wd = watchdog_interval(env)
        self.watchdog: float | None = wd
        self.state = DaemonState()
        self.rules: Rules | None = None

        self._wake = threading.Event()
        self._stop_flag = False
        self._reload_flag = False
        self._ready_sent = False
        self._queue: deque[_Task] = deque()
        self._task: _Task | None = None
        self._jobs: queue.Queue[_Task | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._next_sync: float | None = None
        self._sync_queued = False
        self._last_ping = float("-inf")
        self._rules_sig: tuple[int, int, int, int] | None = None
        self._pending_sig: tuple[int, int, int, int] | None = None
        self._pending_since = 0.0
        self._last_poll = float("-inf")
        self._rules_notice_key: str | None = None
        self._scheduler: schedule.Scheduler | None = None
        self._last_status = ""
        self._last_sync_text = ""

    # --- signals -------------------------------------------------------------------------

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stop_flag = True
        self._wake.set()

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self._reload_flag = True
        self._wake.set()

    def request_stop(self) -> None:
        self._stop_flag = True
        self._wake.set()

    def request_reload(self) -> None:
        self._reload_flag = True
        self._wake.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)

    # --- the loop -----------------------------------------------------------------------

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns the exit code (0)."""
        if threading.current_thread() is threading.main_thread():
            self.install_signal_handlers()
        log.info(
            "boundaryd daemon starting: rules %s, sync every %gs%s",
            self.app.rules_path,
            self.interval,
            f", watchdog {self.watchdog:g}s" if self.watchdog else "",
        )
        self._set_status("starting")
        self._rules_sig = file_signature(self.app.rules_path)
        self._initial_load()
        try:
            while not self._stop_flag:
                self._step()
                if self._stop_flag:
                    break
                self._wake.wait(self._timeout())
                self._wake.clear()
        finally:
            self._shutdown()
        return 0

    def _step(self) -> None:
        now = self.clock()
        self._collect()
        if self._reload_flag:
            self._reload_flag = False
            self._reload("SIGHUP")
        self._poll_rules(now)
        if self.rules is not None and self._next_sync is not None and now >= self._next_sync and not self._sync_queued:
            self._queue_sync()
        if self._scheduler is not None:
            try:
                self._scheduler.run_pending()
            except Exception as exc:  # the jobs are guarded; this is schedule itself failing
                log.error("scheduler: %s", describe(exc), exc_info=exc)
        self._start_next()
        self._ping()

    def _timeout(self) -> float:
        now = self.clock()
        waits = [self.poll_seconds]
        if self._pending_sig is not None:
            waits.append(self.settle_seconds)
        if self._next_sync is not None and not self._sync_queued:
            waits.append(self._next_sync - now)
        if self._scheduler is not None:
            idle = self._scheduler.idle_seconds
            if idle is not None:
                waits.append(idle + 0.05)
        if self.watchdog:
            waits.append(self._last_ping + self.watchdog / 2 - now)
            waits.append(self.watchdog / 2)
        return min(max(w, 0.0) for w in waits)

    def _ping(self) -> None:
        if not self.watchdog:
            return
        now = self.clock()
        task = self._task
        if task is not None and not task.finished and now - task.started > self.watchdog:
            # a task stuck past the watchdog: stop vouching for ourselves; systemd restarts us
            if now - self._last_ping >= self.watchdog / 2:
                log.error("%s has been running for %.0fs; letting the watchdog restart boundaryd", task.name, now - task.started)
                self._last_ping = now  # log once per half interval, but send nothing
            return
        if now - self._last_ping >= self.watchdog / 4:
            self.notifier.watchdog()
            self._last_ping = now

    def _shutdown(self) -> None:
        self.notifier.stopping()
        self._set_status("stopping")
        log.info("boundaryd daemon stopping")
        task = self._task
        if task is not None and not task.finished:
            deadline = time.monotonic() + self.stop_grace
            while not task.finished and time.monotonic() < deadline:
                time.sleep(0.05)
            if not task.finished:
                log.warning("abandoning %s (the journal makes it safe to redo)", task.name)
        if self._worker is not None:
            self._jobs.put(None)
        self.notifier.close()

    # --- tasks --------------------------------------------------------------------------

    def _submit(self, name: str, func: Callable[[], Any], done: Callable[[_Task], None]) -> None:
        self._queue.append(_Task(name, func, done))

    def _start_next(self) -> None:
        if self._task is not None or not self._queue or self._stop_flag:
            return
        task = self._queue.popleft()
        task.started = self.clock()
        if self._worker is None:
            # one long-lived worker: the app's objects (an SQLite connection) stay in one thread
            self._worker = threading.Thread(target=self._work, name="boundaryd-worker", daemon=True)
            self._worker.start()
        self._task = task
        self._jobs.put(task)

    def _work(self) -> None:
        while True:
            task = self._jobs.get()
            if task is None:
                return
            try:
                task.result = task.func()
            except BaseException as exc:  # noqa: BLE001 - handed to the main loop, never lost
                task.error = exc
            finally:
                task.finished = True
                self._wake.set()

    def _collect(self) -> None:
        task = self._task
        if task is None or not task.finished:
            return
        self._task = None
        try:
            task.done(task)
        except Exception as exc:  # a bug in a handler must not kill the loop
            log.error("handling the end of %s: %s", task.name, describe(exc), exc_info=exc)

    # --- rules --------------------------------------------------------------------------

    def _load(self) -> tuple[Rules | None, BadInput | None]:
        try:
            return self.app.load_rules(), None
        except BadInput as exc:
            return None, exc
        except OSError as exc:
            return None, BadInput(f"{self.app.rules_path}: {exc.strerror or exc} (fix the rules file)")
        except BoundarydError as exc:
            return None, BadInput(*exc.problems)

    def _initial_load(self) -> None:
        rules, err = self._load()
        if rules is not None:
            self._adopt(rules)
            log.info("rules loaded from %s", self.app.rules_path)
            self._ready()
        else:
            assert err is not None
            self._rules_bad(err, first=True)

    def _ready(self) -> None:
        self.notifier.ready()
        self._ready_sent = True
        self._refresh_status(force=True)

    def _adopt(self, rules: Rules) -> None:
        self.rules = rules
        self.state.rules_error = None
        self._rules_notice_key = None
        self._build_scheduler(rules)
        self._next_sync = self.clock()  # sync now with these rules

    def _rules_bad(self, err: BadInput, *, first: bool) -> None:
        problems = list(err.problems) or [str(err)]
        for p in problems:
            log.error("%s", p)
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        if self.rules is None:
            self.state.rules_error = f"waiting for a valid rules file: {problems[0]}{more}"
        else:
            self.state.rules_error = f"rules file invalid, last good rules in force: {problems[0]}{more}"
        log.warning("waiting for a valid rules file" if self.rules is None else "keeping the last good rules")
        self._refresh_status(force=True)
        key = "rules:" + hashlib.sha256("\n".join(problems).encode()).hexdigest()[:16]
        if self.rules is not None and key != self._rules_notice_key:
            self._rules_notice_key = key
            rules = self.rules
            text = (
                f"boundaryd could not load {self.app.rules_path}; it keeps enforcing the last rules that "
                "loaded. Fix these problems and save the file (or run `boundaryd check`):\n\n" + "\n".join(problems)
            )
            self._notice(rules, "boundaryd: your rules file has errors", text, key)

    def _reload(self, why: str) -> None:
        self._rules_sig = file_signature(self.app.rules_path)
        self._pending_sig = None
        if not self._ready_sent:
            # still waiting for a first good file: no RELOADING, READY comes with the first good load
            rules, err = self._load()
            if rules is not None:
                self._adopt(rules)
                log.info("rules loaded from %s (%s)", self.app.rules_path, why)
                self._ready()
            else:
                assert err is not None
                self._rules_bad(err, first=True)
            return
        self.notifier.reloading()
        log.info("reloading rules from %s (%s)", self.app.rules_path, why)
        rules, err = self._load()
        if rules is not None:
            self._adopt(rules)
            log.info("rules reloaded")
        else:
            assert err is not None
            self._rules_bad(err, first=False)
        self._ready()

    def _poll_rules(self, now: float) -> None:
        if self._pending_sig is None and now - self._last_poll < self.poll_seconds:
            return
        self._last_poll = now
        sig = file_signature(self.app.rules_path)
        if sig == self._rules_sig:
            self._pending_sig = None
            return
        if sig != self._pending_sig:  # changed (again): let the editor finish writing
            self._pending_sig = sig
            self._pending_since = now
            return
        if now - self._pending_since >= self.settle_seconds:
            self._reload("file changed")

    # --- sync ---------------------------------------------------------------------------

    def _queue_sync(self) -> None:
        rules = self.rules
        assert rules is not None
        self._sync_queued = True
        scheduled = self._next_sync if self._next_sync is not None else self.clock()
        self._submit("sync", lambda: self.app.sync(rules), lambda t: self._sync_done(t, rules, scheduled))

    def _sync_done(self, task: _Task, rules: Rules, scheduled: float) -> None:
        self._sync_queued = False
        now = self.clock()
        if task.error is None:
            summary: SyncSummary = task.result
            self.state.syncs += 1
            self.state.last_sync = self.wall()
            self.state.last_summary = summary
            text = " ".join(str(getattr(summary, "text", "")).split())
            if summary is not None and (summary.declined or summary.flagged or text != self._last_sync_text):
                log.info("sync: %s", text or f"{summary.conflicts} conflicts")
            else:
                log.debug("sync: nothing new")
            self._last_sync_text = text
            fault = self.state.fault
            if fault is not None:
                log.info("sync works again after %d failures", fault.failures)
                if fault.noticed:
                    self._notice(
                        rules,
                        "boundaryd: working again",
                        f"boundaryd syncs again since {self.state.last_sync:%Y-%m-%d %H:%M}. "
                        f"It had failed {fault.failures} times since {fault.since_wall:%Y-%m-%d %H:%M}: {fault.error}",
                        f"fault-cleared:{fault.since_wall.isoformat()}",
                    )
                self.state.fault = None
            if self._next_sync is not None and self._next_sync != scheduled:
                return  # rules were reloaded meanwhile: a fresh sync is already due
            nxt = scheduled + self.interval
            if nxt <= now:  # ran late (a long sync, a suspend): skip the missed slots, keep the phase
                nxt += ((now - nxt) // self.interval + 1) * self.interval
            self._next_sync = nxt
        else:
            exc = task.error
            text = describe(exc)
            fault = self.state.fault
            if fault is None:
                fault = self.state.fault = _Fault(since_wall=self.wall(), since=now)
            fault.failures += 1
            fault.error = text
            delay = backoff_delay(self.interval, fault.failures, self.max_backoff)
            hint = getattr(exc, "retry_after", None)  # e.g. Google's quotaExceeded: wait longer
            if isinstance(hint, (int, float)) and hint > delay:
                delay = min(float(hint), max(self.max_backoff, float(hint)))
            if self._next_sync is None or self._next_sync == scheduled:
                self._next_sync = now + delay
            if isinstance(exc, (BoundarydError, OSError)):
                log.error(
                    "sync failed: %s; retrying in %s", text, _human(delay),
                    exc_info=exc if log.isEnabledFor(logging.DEBUG) else None,
                )
            else:
                log.error("sync failed (a bug; please report it): %s; retrying in %s", text, _human(delay), exc_info=exc)
            if (
                not fault.noticed
                and fault.failures >= self.notice_after_failures
                and now - fault.since >= self.notice_after_seconds
            ):
                fault.noticed = True
                self._notice(
                    rules,
                    "boundaryd: sync is failing",
                    f"boundaryd has not been able to sync since {fault.since_wall:%Y-%m-%d %H:%M} "
                    f"({fault.failures} tries). The last error: {text}\n\n"
                    "It keeps retrying by itself and will tell you when it works again.",
                    f"fault:{fault.since_wall.isoformat()}",
                )
        self._refresh_status()

    def _notice(self, rules: Rules, subject: str, text: str, key: str) -> None:
        def done(task: _Task) -> None:
            if task.error is not None:
                log.warning("could not send the notice %r: %s", subject, describe(task.error))

        self._submit("notice", lambda: self.app.notify_owner(rules, subject, text, key), done)

    # --- wall-clock jobs ----------------------------------------------------------------

    def _build_scheduler(self, rules: Rules) -> None:
        import schedule

        sched = schedule.Scheduler()
        tz = str(getattr(rules, "timezone", "") or "") or None
        notify = getattr(rules, "notify", None)
        preview = str(getattr(notify, "weekly_preview", "off") or "off")
        digest = str(getattr(notify, "digest", "immediate") or "immediate")
        if preview != "off":
            try:
                day, hhmm = preview.split()
                self._at(sched, WEEKDAY_ATTR[day[:3].lower()], hhmm, tz).do(
                    self._guard("weekly preview", partial(self.app.send_weekly_preview, rules))
                )
            except Exception as exc:  # the rules model validated it: a bug; the rest still runs
                log.error("could not schedule the weekly preview %r: %s", preview, describe(exc), exc_info=exc)
        try:
            if digest == "hourly":
                sched.every().hour.at(":00").do(self._guard("hourly digest", partial(self.app.flush_digest, rules)))
            elif digest.startswith("daily "):
                self._at(sched, None, digest.split()[1], tz).do(
                    self._guard("daily digest", partial(self.app.flush_digest, rules))
                )
        except Exception as exc:
            log.error("could not schedule the digest %r: %s", digest, describe(exc), exc_info=exc)
        self._scheduler = sched
        for job in sched.get_jobs():
            log.debug("scheduled: %s, next at %s (local time)", job, job.next_run)

    @staticmethod
    def _at(sched: schedule.Scheduler, weekday: str | None, hhmm: str, tz: str | None) -> schedule.Job:
        """``every().<weekday or day>.at(hhmm, tz)``; without pytz (which schedule needs for ``tz``),
        the time is converted to this machine's zone now (right until the next DST change)."""
        if tz:
            try:
                import pytz  # type: ignore[import-untyped,unused-ignore]  # noqa: F401
            except ImportError:
                log.warning("pytz is not installed: %s %s in %s is converted to this machine's zone once", weekday or "daily", hhmm, tz)
                weekday, hhmm = _to_local(weekday, hhmm, tz)
            else:
                job = getattr(sched.every(), weekday) if weekday else sched.every().day
                return cast("schedule.Job", job.at(hhmm, tz))
        job = getattr(sched.every(), weekday) if weekday else sched.every().day
        return cast("schedule.Job", job.at(hhmm))

    def _guard(self, name: str, func: Callable[[], None], attempt: int = 0) -> Callable[[], Any]:
        """A scheduler job that only queues ``func``; a failure is logged and retried a few times, spaced."""

        def queue() -> Any:
            if self._stop_flag:
                return None
            self._submit(name, func, lambda t: self._job_done(t, name, func, attempt))
            return None

        return queue

    def _job_done(self, task: _Task, name: str, func: Callable[[], None], attempt: int) -> None:
        if task.error is None:
            if name in self.state.job_errors:
                del self.state.job_errors[name]
                self._refresh_status()
            log.info("%s sent", name)
            return
        text = describe(task.error)
        self.state.job_errors[name] = text
        more = attempt < self.job_retries and self._scheduler is not None
        log.error(
            "%s failed: %s%s", name, text, f"; retrying in {_human(self.job_retry_seconds)}" if more else "",
            exc_info=task.error if not isinstance(task.error, (BoundarydError, OSError)) else None,
        )
        if more and self._scheduler is not None:
            import schedule

            retry = self._guard(name, func, attempt + 1)

            def once() -> Any:
                retry()
                return schedule.CancelJob

            self._scheduler.every(max(int(self.job_retry_seconds), 1)).seconds.do(once)
        self._refresh_status()

    # --- status -------------------------------------------------------------------------

    def status_text(self) -> str:
        st = self.state
        parts: list[str] = []
        if st.fault is not None:
            f = st.fault
            nxt = "" if self._next_sync is None else f"; retrying in {_human(max(self._next_sync - self.clock(), 0))}"
            parts.append(f"sync failing since {f.since_wall:%H:%M} ({f.failures} tries): {f.error}{nxt}")
        if st.last_sync is not None:
            s = st.last_summary
            counts = "" if s is None else f": {s.conflicts} conflicts ({s.declined} declined, {s.flagged} flagged)"
            parts.append(f"last sync {st.last_sync:%Y-%m-%d %H:%M}{counts}")
            mail_error = getattr(s, "mail_error", None)
            if mail_error:
                parts.append(f"mail waiting in the outbox: {mail_error}")
        elif st.fault is None and self.rules is not None:
            parts.append("first sync under way")
        if st.rules_error:
            parts.append(st.rules_error)
        for name, err in st.job_errors.items():
            parts.append(f"{name} failed: {err}")
        return "; ".join(parts) or "running"

    def _refresh_status(self, force: bool = False) -> None:
        self._set_status(self.status_text(), force=force)

    def _set_status(self, text: str, force: bool = False) -> None:
        if text != self._last_status or force:
            self._last_status = text
            self.notifier.status(text)


def _to_local(weekday: str | None, hhmm: str, tz: str) -> tuple[str | None, str]:
    """The next (weekday, HH:MM) in zone ``tz`` as this machine's local (weekday, HH:MM)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    now = datetime.now(zone)
    hour, minute = (int(x) for x in hhmm.split(":"))
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if weekday is not None:
        names = list(WEEKDAY_ATTR.values())
        target += timedelta(days=(names.index(weekday) - target.weekday()) % 7)
    local = target.astimezone()
    return (list(WEEKDAY_ATTR.values())[local.weekday()] if weekday else None), f"{local:%H:%M}"


def _human(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return str(timedelta(seconds=seconds))
