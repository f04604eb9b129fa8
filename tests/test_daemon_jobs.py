"""Wall-clock jobs and backoff on a clock the test moves by hand, with the real Daemon loop running in
a thread of this process. Nothing here reads the machine's clock: the suite passes whatever it says."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from boundaryd.service.clock import ManualClock
from boundaryd.service.daemon import Daemon, backoff_delay
from boundaryd.service.jobs import DaemonState, next_slot
from boundaryd.service.sdnotify import Notifier
from boundaryd.service.wallclock import WallClock
from boundaryd.service.walljobs import WallJobs
from test_daemon_helpers import FileApp, read_lines, wait_until

TORONTO = ZoneInfo("America/Toronto")
UTC = ZoneInfo("UTC")


def test_backoff_is_exponential_and_bounded() -> None:
    assert [backoff_delay(60, n, 900) for n in range(1, 8)] == [60, 120, 240, 480, 900, 900, 900]
    assert backoff_delay(3600, 1, 900) == 900  # never longer than the bound
    assert backoff_delay(0.2, 1, 900) == 1.0  # never a hot loop either
    assert backoff_delay(60, 0, 900) == 60


def test_the_next_sync_keeps_its_phase_and_skips_missed_slots() -> None:
    assert next_slot(100.0, 100.5, 60) == 160.0
    assert next_slot(100.0, 161.0, 60) == 220.0  # a long sync: the missed slot is skipped, the phase kept
    assert next_slot(100.0, 100.0 + 3600 * 5 + 1, 60) == 100.0 + 3600 * 5 + 60  # a laptop that slept


class Running:
    """A Daemon on a ManualClock, its loop in a thread; ``at`` moves the clock and wakes the loop."""

    def __init__(self, d: Daemon, clock: ManualClock) -> None:
        self.d, self.clock = d, clock
        self.thread = threading.Thread(target=d.run, daemon=True)
        self.thread.start()

    def at(self, when: datetime) -> None:
        self.clock.advance((when - self.clock.now()).total_seconds())
        self.d.wake()

    def stop(self) -> None:
        self.d.request_stop()
        self.thread.join(5)
        assert not self.thread.is_alive()


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for r in started:
        if r.thread.is_alive():
            r.stop()


def _start(started: list[Running], app: FileApp, clock: ManualClock, **kwargs: float) -> Running:
    r = Running(Daemon(app, interval=3600, notifier=Notifier(None), clock=clock, **kwargs), clock)  # type: ignore[arg-type]
    started.append(r)
    wait_until(lambda: read_lines(app.work / "syncs.log") != [], what="the first sync")
    return r


def test_weekly_preview_and_daily_digest_run_at_the_rules_wall_clock(tmp_path: Path, running: list[Running]) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("marker: A\ntimezone: America/Toronto\nweekly_preview: sun 18:00\ndigest: daily 07:30\n")
    # Saturday noon in Toronto, the machine on UTC; the night after is the spring DST change
    clock = ManualClock(datetime(2026, 3, 7, 12, 0, tzinfo=TORONTO), local=UTC)
    r = _start(running, FileApp(rules, tmp_path), clock)
    jobs = tmp_path / "jobs.log"
    assert r.d.wall_jobs.next_runs() == [
        ("daily digest", datetime(2026, 3, 8, 7, 30, tzinfo=TORONTO)),
        ("weekly preview", datetime(2026, 3, 8, 18, 0, tzinfo=TORONTO)),
    ]
    r.at(datetime(2026, 3, 8, 7, 29, 50, tzinfo=TORONTO))
    wait_until(lambda: len(read_lines(tmp_path / "syncs.log")) >= 2, what="the sync that came due meanwhile")
    assert read_lines(jobs) == []
    r.at(datetime(2026, 3, 8, 7, 30, 0, tzinfo=TORONTO))
    wait_until(lambda: read_lines(jobs) == ["digest A Sun 07:30"], what="the digest at 07:30 Toronto time")
    r.at(datetime(2026, 3, 8, 18, 0, 1, tzinfo=TORONTO))
    wait_until(lambda: read_lines(jobs)[1:] == ["preview A Sun 18:00"], what="the preview at 18:00 Toronto time")
    assert r.d.wall_jobs.next_runs() == [
        ("daily digest", datetime(2026, 3, 9, 7, 30, tzinfo=TORONTO)),
        ("weekly preview", datetime(2026, 3, 15, 18, 0, tzinfo=TORONTO)),
    ]
    r.stop()


def test_an_hourly_digest_runs_once_at_the_top_of_the_hour(tmp_path: Path, running: list[Running]) -> None:
    """Starting in the last minute of an hour (what used to fail) and crossing midnight."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("marker: A\ntimezone: America/Toronto\ndigest: hourly\n")
    clock = ManualClock(datetime(2026, 12, 31, 23, 59, 30, tzinfo=TORONTO), local=UTC)
    r = _start(running, FileApp(rules, tmp_path), clock)
    assert r.d.wall_jobs.next_runs() == [("hourly digest", datetime(2027, 1, 1, 0, 0, tzinfo=TORONTO))]
    r.at(datetime(2026, 12, 31, 23, 59, 59, tzinfo=TORONTO))
    r.at(datetime(2027, 1, 1, 0, 0, 0, tzinfo=TORONTO))
    wait_until(lambda: read_lines(tmp_path / "jobs.log") == ["digest A Fri 00:00"], what="the digest at midnight")
    r.at(datetime(2027, 1, 1, 0, 59, 0, tzinfo=TORONTO))
    r.at(datetime(2027, 1, 1, 0, 59, 59, tzinfo=TORONTO))
    assert len(read_lines(tmp_path / "jobs.log")) == 1
    assert r.d.wall_jobs.next_runs() == [("hourly digest", datetime(2027, 1, 1, 1, 0, tzinfo=TORONTO))]
    r.stop()


def test_a_reload_right_at_the_top_of_the_hour_does_not_skip_the_job(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("marker: A\ntimezone: America/Toronto\ndigest: hourly\n")
    app = FileApp(rules, tmp_path)
    clock = ManualClock(datetime(2026, 11, 1, 0, 59, 59, 900000, tzinfo=TORONTO), local=UTC)
    queued: list[str] = []
    jobs = WallJobs(clock, DaemonState(), lambda name, func, done: queued.append(name), retry_seconds=1, retries=0)
    jobs.build(app, app.load_rules())
    clock.advance(0.2)  # 01:00:00.1: due, but the loop is busy reloading (SIGHUP) before it runs the jobs
    jobs.build(app, app.load_rules())
    assert queued == ["hourly digest"]
    jobs.run_pending()
    assert queued == ["hourly digest"]  # once
    clock.advance(3600)  # 01:00 again (EST): a wall-clock hour that happens twice runs once
    jobs.run_pending()
    assert queued == ["hourly digest"]
    clock.advance(3600)  # 02:00 EST
    jobs.run_pending()
    assert queued == ["hourly digest"] * 2


class TickingClock(ManualClock):
    """A busy machine: every read of the wall clock finds it ``step`` seconds later than the last."""

    def __init__(self, start: datetime, step: float) -> None:
        super().__init__(start, local=UTC)
        self.step = step

    def now(self, tz: Any = None) -> datetime:
        t = super().now(tz)
        self.advance(self.step)
        return t


@pytest.mark.parametrize("reads_before", range(8))
def test_the_hour_turning_while_a_reload_rebuilds_the_schedule_does_not_skip_the_job(
    tmp_path: Path, reads_before: int
) -> None:
    """SIGHUPs at the top of the hour: whichever clock read of a reload sees 01:00:00 first (the old
    schedule's last check, or the new schedule computing its next run), the 01:00 digest runs once."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("marker: A\ntimezone: America/Toronto\ndigest: hourly\n")
    app = FileApp(rules, tmp_path)
    step = 0.001
    clock = TickingClock(datetime(2026, 12, 1, 0, 59, 59, tzinfo=TORONTO), step)
    queued: list[str] = []
    jobs = WallJobs(clock, DaemonState(), lambda name, func, done: queued.append(name), retry_seconds=1, retries=0)
    jobs.build(app, app.load_rules())
    # the read after ``reads_before`` more is the first at or past 01:00:00
    clock.set(datetime(2026, 12, 1, 1, 0, tzinfo=TORONTO) - timedelta(seconds=step * (reads_before + 0.5)))
    rules_now = app.load_rules()
    while clock.now(TORONTO) < datetime(2026, 12, 1, 1, 0, 1, tzinfo=TORONTO):  # a reload storm, as the loop runs it
        jobs.run_pending()
        jobs.build(app, rules_now)
    assert queued == ["hourly digest"]
    assert jobs.next_runs() == [("hourly digest", datetime(2026, 12, 1, 2, 0, tzinfo=TORONTO))]


def test_a_failing_job_is_logged_retried_a_few_times_spaced_and_never_kills_the_loop(
    tmp_path: Path, running: list[Running]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("marker: A\ndigest: hourly\n")
    (tmp_path / "digest-fails").touch()
    clock = ManualClock(datetime(2026, 6, 1, 9, 59, 0, tzinfo=UTC))
    calls: list[datetime] = []
    app = FileApp(rules, tmp_path)
    real = app.flush_digest

    def counting(r, now=None):  # type: ignore[no-untyped-def]
        calls.append(now)
        real(r, now)

    app.flush_digest = counting  # type: ignore[method-assign]
    r = _start(running, app, clock, job_retry_seconds=1, job_retries=2, poll_seconds=0.1)
    top = datetime(2026, 6, 1, 10, 0, 0, tzinfo=UTC)
    r.at(top)  # the hour has come
    wait_until(lambda: len(calls) == 1, what="the job")
    wait_until(lambda: "hourly digest failed: " in r.d.status_text(), what="the failure in STATUS=")
    r.at(top + timedelta(seconds=0.5))
    assert len(calls) == 1  # a retry waits its second
    for n in (2, 3):
        r.at(clock.now() + timedelta(seconds=1))
        wait_until(lambda n=n: len(calls) == n, what=f"retry {n - 1}")  # type: ignore[misc]
    for _ in range(5):
        r.at(clock.now() + timedelta(seconds=1))
    assert len(calls) == 3  # no more: no hot loop
    assert calls[1] - calls[0] >= timedelta(seconds=1) and calls[2] - calls[1] >= timedelta(seconds=1)
    assert r.d.wall_jobs.next_runs() == [("hourly digest", top + timedelta(hours=1))]  # the regular run stays hourly
    assert "hourly digest failed: " in r.d.status_text() and "No space left on device" in r.d.status_text()
    assert r.thread.is_alive()
    # it works again at the next run: the error leaves the status
    (tmp_path / "digest-fails").unlink()
    r.at(top + timedelta(hours=1))
    wait_until(lambda: "digest A Mon 11:00" in read_lines(tmp_path / "jobs.log"), what="the digest")
    wait_until(lambda: "digest failed" not in r.d.status_text(), what="a clean status")
    r.stop()


def test_the_weekly_report_seam_schedules_an_app_that_sends_one(tmp_path: Path, running: list[Running]) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("marker: A\ntimezone: Europe/Paris\nweekly_preview: off\n")
    sent: list[datetime] = []

    class ReportingApp(FileApp):
        def load_rules(self) -> Any:
            r = super().load_rules()
            r.notify.report = SimpleNamespace(day="sun", time="18:00")
            return r

        def send_weekly_report(self, rules, now):  # type: ignore[no-untyped-def]
            sent.append(now)

    paris = ZoneInfo("Europe/Paris")
    clock = ManualClock(datetime(2026, 10, 24, 9, 0, tzinfo=paris), local=UTC)  # DST ends on the Sunday
    r = _start(running, ReportingApp(rules, tmp_path), clock)
    assert r.d.wall_jobs.next_runs() == [("weekly report", datetime(2026, 10, 25, 18, 0, tzinfo=paris))]
    r.at(datetime(2026, 10, 25, 18, 0, tzinfo=paris))
    wait_until(lambda: len(sent) == 1, what="the weekly report")
    assert sent[0].astimezone(paris).strftime("%a %H:%M") == "Sun 18:00"
    r.stop()
    # the plain app has no report to send: nothing is scheduled for it
    plain = Daemon(FileApp(rules, tmp_path), notifier=Notifier(None), clock=clock)
    base = FileApp(rules, tmp_path).load_rules()
    base.notify.report = SimpleNamespace(day="sun", time="18:00")
    plain.wall_jobs.build(plain.app, base)
    assert plain.wall_jobs.next_runs() == []


def test_the_engine_follows_wall_time_through_both_daylight_saving_nights() -> None:
    clock = ManualClock(datetime(2026, 3, 7, 12, 0, tzinfo=TORONTO), local=UTC)
    engine = WallClock(clock, TORONTO)
    sched = engine.scheduler()
    ran: list[str] = []
    sched.every().day.at("02:30").do(lambda: ran.append(f"{clock.now(TORONTO):%m-%d %H:%M}"))
    sched.every().day.at("01:30").do(lambda: ran.append(f"{clock.now(TORONTO):%m-%d %H:%M}"))
    for _ in range(2 * 24 * 60):  # two days, minute by minute, across 02:00 -> 03:00
        clock.advance(60)
        sched.run_pending()
    # 02:30 does not exist on March 8: it runs when the clock jumps past it, once
    assert ran == ["03-08 01:30", "03-08 03:00", "03-09 01:30", "03-09 02:30"]
    ran.clear()
    clock.set(datetime(2026, 10, 31, 12, 0, tzinfo=TORONTO))
    sched = engine.scheduler()
    sched.every().day.at("01:30").do(lambda: ran.append(f"{clock.now(TORONTO):%m-%d %H:%M %Z}"))
    for _ in range(2 * 24 * 60):  # across 02:00 EDT -> 01:00 EST: 01:30 happens twice, runs once
        clock.advance(60)
        sched.run_pending()
    assert ran == ["11-01 01:30 EDT", "11-02 01:30 EST"]
    import schedule

    assert vars(schedule)["datetime"].datetime is datetime  # the process's own schedule is untouched


def test_without_pytz_the_jobs_still_run_at_the_rules_wall_clock(tmp_path: Path) -> None:
    """The engine times jobs in the rules' zone by itself: no pytz, whatever the machine's zone."""
    import subprocess
    import sys

    from test_daemon_helpers import base_env

    code = (
        "import sys; sys.modules['pytz'] = None\n"
        "from datetime import datetime; from zoneinfo import ZoneInfo\n"
        "from types import SimpleNamespace as S; from pathlib import Path\n"
        "from boundaryd.service.clock import ManualClock\n"
        "from boundaryd.service.daemon import Daemon; from boundaryd.service.sdnotify import Notifier\n"
        "app = S(rules_path=Path('/x'), send_weekly_preview=print, flush_digest=print)\n"
        "clock = ManualClock(datetime(2026, 12, 1, 23, 59, 30, tzinfo=ZoneInfo('UTC')))\n"
        "d = Daemon(app, notifier=Notifier(None), clock=clock)\n"
        "d.wall_jobs.build(app, S(timezone='Australia/Sydney', notify=S(weekly_preview='sun 08:00', "
        "digest='daily 07:30')))\n"
        "print('\\n'.join(f'{n}={t.isoformat()}' for n, t in d.wall_jobs.next_runs()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=base_env(None, TZ="UTC"), capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert "pytz" not in out.stderr
    runs = dict(line.split("=") for line in out.stdout.splitlines())
    sydney = ZoneInfo("Australia/Sydney")
    # 23:59:30 UTC on Tuesday 1 December is 10:59:30 on Wednesday 2 December in Sydney (AEDT)
    assert datetime.fromisoformat(runs["daily digest"]) == datetime(2026, 12, 3, 7, 30, tzinfo=sydney)
    assert datetime.fromisoformat(runs["weekly preview"]) == datetime(2026, 12, 6, 8, 0, tzinfo=sydney)
