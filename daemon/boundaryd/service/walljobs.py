"""The wall-clock jobs: which ones the rules ask for (digest, weekly preview, weekly report) and
when, in the rules' zone; ``schedule`` on the daemon's clock (``wallclock.py``) says when one is due.
A due job only queues its work; the loop's worker runs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from boundaryd.errors import BoundarydError
from boundaryd.service.clock import Clock
from boundaryd.service.jobs import DaemonState, describe, human, zone_of
from boundaryd.service.wallclock import WallClock

log = logging.getLogger("boundaryd.service.daemon")

WEEKDAY_ATTR = {
    "mon": "monday",
    "tue": "tuesday",
    "wed": "wednesday",
    "thu": "thursday",
    "fri": "friday",
    "sat": "saturday",
    "sun": "sunday",
}


@dataclass(frozen=True)
class WallJob:
    """A job the rules ask for: every ``every`` (hour, day, or a weekday) at ``at`` in their zone."""

    name: str
    every: str
    at: str
    run: Callable[[datetime], object]  # the work, given the wall time in the rules' zone: what it sent, or None


def wall_jobs(app: Any, rules: Any) -> list[WallJob]:
    """Which wall-clock jobs these rules ask of ``app``; a setting that cannot be read is logged."""
    notify = getattr(rules, "notify", None)
    preview = str(getattr(notify, "weekly_preview", "off") or "off")
    digest = str(getattr(notify, "digest", "immediate") or "immediate")
    jobs: list[WallJob] = []

    def weekly(name: str, day: str, hhmm: str, send: Callable[..., object]) -> None:
        try:
            jobs.append(WallJob(name, WEEKDAY_ATTR[day[:3].lower()], hhmm, lambda now: send(rules, now)))
        except Exception as exc:  # the rules model validated it: a bug; the rest still runs
            log.error("could not schedule the %s %s %s: %s", name, day, hhmm, describe(exc), exc_info=exc)

    if preview != "off":
        day, _, hhmm = preview.partition(" ")
        weekly("weekly preview", day, hhmm.strip(), app.send_weekly_preview)
    if digest == "hourly":
        jobs.append(WallJob("hourly digest", "hour", ":00", lambda now: app.flush_digest(rules, now)))
    elif digest.startswith("daily "):
        jobs.append(WallJob("daily digest", "day", digest.split()[1], lambda now: app.flush_digest(rules, now)))
    # the seam for the weekly report (notify.report: {day, time}): scheduled once the app sends it
    report = getattr(notify, "report", None)
    send_report = getattr(app, "send_weekly_report", None)
    if report is not None and callable(send_report):
        weekly("weekly report", str(getattr(report, "day", "")), str(getattr(report, "time", "")), send_report)
    return jobs


Submit = Callable[[str, Callable[[], Any], Callable[[Any], None]], None]


class WallJobs:
    """The wall-clock jobs of the rules in force, timed by ``schedule`` on the daemon's clock.

    A job coming due only queues its work (``submit``); a failure is logged, shown in STATUS= and
    retried ``retries`` times, ``retry_seconds`` apart, without moving the regular run.
    """

    def __init__(self, clock: Clock, state: DaemonState, submit: Submit, *, retry_seconds: float, retries: int) -> None:
        self.clock = clock
        self.state = state
        self.submit = submit
        self.retry_seconds = retry_seconds
        self.retries = retries
        self.stopping = False
        self.engine: WallClock | None = None
        self.scheduler: Any = None

    def build(self, app: Any, rules: Any) -> None:
        """Schedule the jobs of ``rules`` (replacing those of the rules before).

        A job of the rules before that is due by now still runs (a reload right at 18:00 must not
        skip Sunday's preview for a week); the new ones count from that same instant, not from
        when they are made: should the clock pass 18:00 in between (a slow moment on a busy
        machine), the new preview is due at once instead of in a week, and it is not run twice.
        """
        zone = zone_of(rules, self.clock)
        if self.engine is None:
            self.engine = WallClock(self.clock, zone)
        engine = self.engine
        # one instant for both: the old jobs due by then run, the new ones first run after it
        with engine.pinned(self.clock.now()):
            self.run_pending()
            engine.zone = zone
            sched = engine.scheduler()
            for job in wall_jobs(app, rules):
                try:
                    every = sched.every()
                    getattr(every, job.every).at(job.at).do(self._guard(job))
                except Exception as exc:  # validated by the rules model: a bug; the other jobs still run
                    log.error("could not schedule the %s at %r: %s", job.name, job.at, describe(exc), exc_info=exc)
        self.scheduler = sched
        for name, when in self.next_runs():
            log.debug("scheduled: %s, next at %s", name, when.isoformat(timespec="minutes"))

    def next_runs(self) -> list[tuple[str, datetime]]:
        """(job name, next run as an aware time in the rules' zone), soonest first."""
        if self.scheduler is None or self.engine is None:
            return []
        engine = self.engine
        runs = [(str(j.job_func.__name__), engine.aware(j.next_run)) for j in self.scheduler.get_jobs()]
        return sorted(runs, key=lambda r: r[1])

    def run_pending(self) -> None:
        if self.scheduler is None:
            return
        try:
            self.scheduler.run_pending()
        except Exception as exc:  # the jobs are guarded; this is schedule itself failing
            log.error("scheduler: %s", describe(exc), exc_info=exc)

    def idle_seconds(self) -> float | None:
        if self.scheduler is None:
            return None
        idle = self.scheduler.idle_seconds
        return None if idle is None else float(idle)

    def _guard(self, job: WallJob, attempt: int = 0) -> Callable[[], Any]:
        """What ``schedule`` calls: queue the work (at most once per due time), never run it here."""
        engine = self.engine
        assert engine is not None

        def queue() -> Any:
            if not self.stopping:
                self.submit(job.name, lambda: job.run(engine.now()), lambda t: self._done(t, job, attempt))
            return None

        queue.__name__ = job.name
        return queue

    def _done(self, task: Any, job: WallJob, attempt: int) -> None:
        errors = self.state.job_errors
        if task.error is None:
            errors.pop(job.name, None)
            if task.result is None:  # the job had nothing to send (no week on record, no digest waiting)
                log.info("%s: nothing to send", job.name)
            else:
                log.info("%s sent", job.name)
            return
        text = describe(task.error)
        errors[job.name] = text
        more = attempt < self.retries and self.scheduler is not None and self.engine is not None
        log.error(
            "%s failed: %s%s", job.name, text, f"; retrying in {human(self.retry_seconds)}" if more else "",
            exc_info=task.error if not isinstance(task.error, (BoundarydError, OSError)) else None,
        )
        if more and self.engine is not None:
            retry = self._guard(job, attempt + 1)
            cancel = self.engine.CancelJob

            def once() -> Any:
                retry()
                return cancel

            once.__name__ = f"{job.name} (retry {attempt + 1})"
            self.scheduler.every(max(int(self.retry_seconds), 1)).seconds.do(once)
