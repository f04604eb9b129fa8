"""Wall-clock jobs and backoff, with the real Daemon loop running in a thread of this process."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from boundaryd.service.daemon import Daemon, backoff_delay
from boundaryd.service.sdnotify import Notifier
from test_daemon_helpers import FileApp, read_lines, wait_until


def test_backoff_is_exponential_and_bounded() -> None:
    assert [backoff_delay(60, n, 900) for n in range(1, 8)] == [60, 120, 240, 480, 900, 900, 900]
    assert backoff_delay(3600, 1, 900) == 900  # never longer than the bound
    assert backoff_delay(0.2, 1, 900) == 1.0  # never a hot loop either
    assert backoff_delay(60, 0, 900) == 60


def _start(d: Daemon) -> threading.Thread:
    t = threading.Thread(target=d.run, daemon=True)
    t.start()
    return t


def test_weekly_preview_and_daily_digest_are_scheduled_in_the_rules_zone(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("marker: A\ntimezone: America/Toronto\nweekly_preview: sun 18:00\ndigest: daily 07:30\n")
    d = Daemon(FileApp(rules, tmp_path), interval=3600, notifier=Notifier(None))
    t = _start(d)
    try:
        wait_until(lambda: read_lines(tmp_path / "syncs.log") != [], what="the first sync")
        assert d._scheduler is not None
        runs = sorted(j.next_run.astimezone(ZoneInfo("America/Toronto")) for j in d._scheduler.get_jobs())
        assert len(runs) == 2
        digest = next(r for r in runs if r.hour == 7)
        preview = next(r for r in runs if r.hour == 18)
        assert (digest.hour, digest.minute) == (7, 30) and digest - datetime.now(digest.tzinfo) <= timedelta(days=1)
        assert preview.weekday() == 6 and preview.minute == 0
        assert timedelta(0) < preview - datetime.now(preview.tzinfo) <= timedelta(days=7)
    finally:
        d.request_stop()
        t.join(5)
    assert not t.is_alive()


def test_a_failing_job_is_logged_retried_a_few_times_spaced_and_never_kills_the_loop(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("marker: A\ndigest: hourly\n")
    (tmp_path / "digest-fails").touch()
    calls: list[float] = []
    app = FileApp(rules, tmp_path)
    real = app.flush_digest

    def counting(r):  # type: ignore[no-untyped-def]
        calls.append(time.monotonic())
        real(r)

    app.flush_digest = counting  # type: ignore[method-assign]
    d = Daemon(app, interval=3600, notifier=Notifier(None), job_retry_seconds=1, job_retries=2, poll_seconds=0.1)
    t = _start(d)
    try:
        wait_until(lambda: read_lines(tmp_path / "syncs.log") != [], what="the first sync")
        assert d._scheduler is not None
        (job,) = d._scheduler.get_jobs()
        job.next_run = datetime.now() - timedelta(seconds=1)  # the hour has come
        d._wake.set()
        wait_until(lambda: len(calls) == 3, timeout=10, what="the job and its two retries")
        time.sleep(1.5)
        assert len(calls) == 3  # no more: no hot loop
        assert calls[1] - calls[0] >= 0.9 and calls[2] - calls[1] >= 0.9
        assert job.next_run > datetime.now() + timedelta(minutes=1)  # the regular run stays hourly
        assert "hourly digest failed: " in d.status_text() and "No space left on device" in d.status_text()
        assert t.is_alive()
        # it works again at the next run: the error leaves the status
        (tmp_path / "digest-fails").unlink()
        job.next_run = datetime.now() - timedelta(seconds=1)
        d._wake.set()
        wait_until(lambda: "digest A" in read_lines(tmp_path / "jobs.log"), what="the digest")
        wait_until(lambda: "digest failed" not in d.status_text(), what="a clean status")
    finally:
        d.request_stop()
        t.join(5)
    assert not t.is_alive()


def test_without_pytz_the_jobs_still_run_at_the_rules_wall_clock(tmp_path: Path) -> None:
    """schedule needs pytz for `.at(time, tz)`; without it the time is converted to the machine's zone."""
    import subprocess
    import sys

    from test_daemon_helpers import base_env

    code = (
        "import sys; sys.modules['pytz'] = None\n"
        "from types import SimpleNamespace as S; from pathlib import Path\n"
        "from boundaryd.service.daemon import Daemon; from boundaryd.service.sdnotify import Notifier\n"
        "app = S(rules_path=Path('/x'), send_weekly_preview=print, flush_digest=print)\n"
        "d = Daemon(app, notifier=Notifier(None))\n"
        "d._build_scheduler(S(timezone='Australia/Sydney', notify=S(weekly_preview='sun 08:00', digest='daily 07:30')))\n"
        "print('\\n'.join(j.next_run.isoformat() for j in d._scheduler.jobs))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=base_env(None, TZ="UTC"), capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert "pytz is not installed" in out.stderr
    preview, digest = (datetime.fromisoformat(x).replace(tzinfo=ZoneInfo("UTC")) for x in out.stdout.split())
    sydney = ZoneInfo("Australia/Sydney")
    assert (preview.astimezone(sydney).weekday(), f"{preview.astimezone(sydney):%H:%M}") == (6, "08:00")
    assert f"{digest.astimezone(sydney):%H:%M}" == "07:30"
