"""Signals at any moment never hang `boundaryd run` (issue 17): a soak test, `make test-slow`.

The real CLI as a subprocess on an iCalendar file in a temporary state dir, with a real
NOTIFY_SOCKET and a watchdog, sent bursts of SIGHUP and SIGTERM at random moments: during a sync,
during a reload, right after a wake-up (a datagram just sent), or anywhere. At least 1,000 signals
per variant. Every run must end with STOPPING=1 and exit 0 within the stop timeout; every rules
edit followed by SIGHUP must be picked up (the edits are made invisible to the file poller, so only
the signal can bring them in); the calendar file and the journal must be whole afterwards.

The second variant runs the daemon under libfaketime (Debian package ``faketime``), its clock a few
seconds before the top of an hour with an hourly digest, so the wall-clock job wakes the loop in the
middle of the signals, and every clock read goes through the library (slower, as the issue saw).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from clirun import make_env
from test_daemon_cli import BOUNDARYD
from test_daemon_helpers import NotifySocket, base_env, has, spawn, stderr_of, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not BOUNDARYD.exists(), reason="the boundaryd console script is not installed in .venv"),
]

FAKETIME_LIB = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
SIGNALS = int(os.environ.get("BOUNDARYD_STRESS_SIGNALS", "1000"))  # per variant
STOP_TIMEOUT = 5.0  # what the other daemon tests allow; the unit's TimeoutStopSec is 15 s
FOCUS = '  - {{id: focus, title: "Focus {n:04d}", kind: personal, days: daily, start: "13:00", duration: 30m}}\n'


@dataclass
class Tally:
    signals: int = 0
    runs: int = 0
    reloads_checked: int = 0
    moments: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    s = NotifySocket()
    yield s
    s.close()


def _rules_text(base: str, n: int) -> str:
    return base.replace("blocks:\n", "blocks:\n" + FOCUS.format(n=n), 1)


def _edit_unseen(path: Path, text: str) -> None:
    """Rewrite the rules in place with the same size, mtime and inode: only a SIGHUP can bring it in."""
    st = path.stat()
    data = text.encode()
    assert len(data) == st.st_size
    with open(path, "r+b") as f:
        f.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _titles(calendar: Path) -> set[str]:
    try:
        cal = icalendar.Calendar.from_ical(calendar.read_bytes())
    except (OSError, ValueError):
        return set()
    return {str(ev.get("SUMMARY")) for ev in cal.walk("VEVENT") if ev.get("X-BOUNDARYD-BLOCK") == "focus"}


def _moment(rng: random.Random, proc: subprocess.Popen[str], notify: NotifySocket, tally: Tally) -> None:
    """Wait for a random kind of moment to fire the next burst at."""
    kind = rng.choice(["wake-up", "reload", "sync", "any"])
    tally.moments[kind] = tally.moments.get(kind, 0) + 1
    if kind == "wake-up":  # the loop just woke up and sent something (a watchdog ping, a status)
        n = len(notify.messages)
        deadline = time.monotonic() + 2
        while len(notify.messages) == n and time.monotonic() < deadline:
            time.sleep(0.001)
    elif kind == "reload":  # the loop is reloading (RELOADING=1 ... READY=1)
        proc.send_signal(signal.SIGHUP)
        tally.signals += 1
        time.sleep(rng.uniform(0, 0.01))
    elif kind == "sync":  # a reload is followed at once by a sync with the new rules
        proc.send_signal(signal.SIGHUP)
        tally.signals += 1
        time.sleep(rng.uniform(0.02, 0.25))
    else:
        time.sleep(rng.uniform(0, 0.6))


def _burst(rng: random.Random, proc: subprocess.Popen[str], size: int, tally: Tally, with_term: bool) -> None:
    sigs = [signal.SIGHUP] * size
    if with_term:  # SIGTERM somewhere in the burst, maybe more than once, SIGHUPs after it too
        for _ in range(rng.choice([1, 1, 2, 3])):
            sigs.insert(rng.randrange(len(sigs) + 1), signal.SIGTERM)
    for s in sigs:
        proc.send_signal(s)
        tally.signals += 1
        if rng.random() < 0.5:
            time.sleep(rng.uniform(0, 0.003))


def _check_state(state: Path, calendar: Path) -> None:
    cal = icalendar.Calendar.from_ical(calendar.read_bytes())  # whole: it parses, with its blocks
    assert any(ev.get("X-BOUNDARYD-BLOCK") for ev in cal.walk("VEVENT"))
    db = sqlite3.connect(state / "journal.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
    finally:
        db.close()


@dataclass
class Clocking:
    """How a run's daemon sees time: extra environment, and when (our monotonic) its clock reads HH:00:00."""

    env: dict[str, str] = field(default_factory=dict)
    top_of_hour: float | None = None


def _one_run(root: Path, notify: NotifySocket, rng: random.Random, tally: Tally, clocking: Clocking) -> None:
    env = make_env(root)
    base = env.rules.read_text().replace("  replies: auto\n", "  replies: auto\n  digest: hourly\n")
    n = 0
    env.rules.write_text(_rules_text(base, n))
    mark = len(notify.messages)
    proc = spawn(
        [str(BOUNDARYD), "--rules", str(env.rules), "--state", str(env.state), "run", "--interval", "0.3"],
        base_env(notify, WATCHDOG_USEC="1000000", **clocking.env),
        root / "daemon.stderr",
    )
    stopped_at = None
    try:
        # our handlers are in place once the daemon says anything (STATUS=starting comes after them)
        notify.wait_for(lambda m: True, start=mark, timeout=60)
        top = clocking.top_of_hour
        if top is not None and time.monotonic() > top - 0.5:  # started too slowly to see the hour turn
            tally.moments["late for the hour"] = tally.moments.get("late for the hour", 0) + 1
            top = None
        for i in range(rng.randint(1, 3)):
            if i == 0 and top is not None:  # the wall-clock job's wake-up, give or take 50 ms
                tally.moments["top of the hour"] = tally.moments.get("top of the hour", 0) + 1
                time.sleep(max(top + rng.uniform(-0.05, 0.05) - time.monotonic(), 0))
            else:
                _moment(rng, proc, notify, tally)
            size = rng.randint(5, 30)
            edit_at = rng.randrange(size)
            _burst(rng, proc, edit_at, tally, with_term=False)
            n += 1
            _edit_unseen(env.rules, _rules_text(base, n))  # then at least one SIGHUP
            _burst(rng, proc, size - edit_at, tally, with_term=False)
            want = f"Focus {n:04d}"
            wait_until(lambda want=want: _titles(env.calendar) == {want}, timeout=30,  # type: ignore[misc]
                       what=f"the edit to {want!r} after SIGHUP (a lost reload?)\n{stderr_of(proc)[-3000:]}")
            tally.reloads_checked += 1
            if i == 0 and top is not None:  # the job due amid the signals is not lost
                wait_until(lambda: any(f"hourly digest{said}" in stderr_of(proc) for said in (" sent", ": nothing to send")), timeout=30,
                           what=f"the hourly digest at the top of the hour\n{stderr_of(proc)[-3000:]}")
        _moment(rng, proc, notify, tally)
        stop_mark = len(notify.messages)
        stopped_at = time.monotonic()
        _burst(rng, proc, rng.randint(0, 10), tally, with_term=True)
        code = proc.wait(timeout=STOP_TIMEOUT)
        took = time.monotonic() - stopped_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            if stopped_at is not None:  # else a check above failed before any SIGTERM: that is the error
                pytest.fail(f"no exit within {STOP_TIMEOUT}s of SIGTERM (run {tally.runs})\n{stderr_of(proc)[-3000:]}")
    err = stderr_of(proc)
    assert code == 0, f"exit {code} (run {tally.runs})\n{err[-3000:]}"
    assert took < STOP_TIMEOUT
    notify.wait_for(has("STOPPING=1"), start=stop_mark, timeout=2)
    _check_state(env.state, env.calendar)
    tally.runs += 1


def _soak(tmp_path: Path, notify: NotifySocket, clocking: Callable[[random.Random], Clocking]) -> Tally:
    seed = int(os.environ.get("BOUNDARYD_STRESS_SEED", str(time.time_ns() % 100_000)))
    rng = random.Random(seed)
    tally = Tally()
    t0 = time.monotonic()
    while tally.signals < SIGNALS:
        _one_run(tmp_path / f"run{tally.runs}", notify, rng, tally, clocking(rng))
    print(f"\nseed {seed}: {tally.signals} signals over {tally.runs} runs, {tally.reloads_checked} reloads checked, "
          f"moments {tally.moments}, {time.monotonic() - t0:.0f}s")
    assert tally.reloads_checked >= tally.runs
    return tally


def test_signals_at_random_moments_never_hang_or_lose_a_reload(tmp_path: Path, notify: NotifySocket) -> None:
    _soak(tmp_path, notify, lambda rng: Clocking())


def _near_the_top_of_an_hour(rng: random.Random) -> Clocking:
    """FAKETIME as an offset (the same for every process that reads it) putting the daemon's clock
    2.5-4 s before the next full hour as it starts (it takes a second or two to start). Monotonic stays faked (libfaketime's default):
    libfaketime 0.9.10 makes Python's time.sleep fail with EINVAL under FAKETIME_DONT_FAKE_MONOTONIC=1,
    and the daemon only uses differences of monotonic time, which an offset leaves alone."""
    now = datetime.now().astimezone()
    top = (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    offset = round((top - timedelta(seconds=rng.uniform(2.5, 4.0)) - now).total_seconds())
    top_real_in = (top - timedelta(seconds=offset) - now).total_seconds()
    return Clocking({"LD_PRELOAD": str(FAKETIME_LIB), "FAKETIME": f"{offset:+d}"}, time.monotonic() + top_real_in)


@pytest.mark.skipif(not FAKETIME_LIB.exists(), reason=f"libfaketime is not installed ({FAKETIME_LIB}; "
                    "Debian: apt-get install faketime)")
def test_the_same_under_libfaketime_across_an_hour_boundary(tmp_path: Path, notify: NotifySocket) -> None:
    tally = _soak(tmp_path, notify, _near_the_top_of_an_hour)
    assert tally.moments.get("top of the hour", 0) > tally.runs // 2, tally.moments
