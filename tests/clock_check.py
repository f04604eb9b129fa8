"""`make test-clock`: the whole (non-slow) suite with the machine's clock at awkward moments.

Runs pytest under libfaketime (Debian package ``faketime``) three times: the clock reading 10:59:30
(the last minute of an hour), 23:59:30 (of a day), and 01:59:30 on the night daylight saving time
ends in America/Toronto (TZ set for that run: 30 s later the clock reads 01:00 again).

FAKETIME is an offset from the real time ("+N"/"-N" seconds), not a start time ("@..."): every
process the tests start (the daemon, Radicale, Xandikos, an SMTP server) then reads the same clock,
as processes on one machine do. Monotonic time stays faked (libfaketime's default; with
FAKETIME_DONT_FAKE_MONOTONIC=1, libfaketime 0.9.10 makes Python's time.sleep fail with EINVAL).
Know this when a test hangs only here: with monotonic faked, a timed wait on a lock (Event.wait(t),
Lock.acquire(timeout=t), Queue.get(timeout=t), Thread.join(t) on a live thread) never times out,
because CPython waits with sem_clockwait(CLOCK_MONOTONIC) until a deadline computed from the faked
clock, which the kernel's monotonic clock reaches in decades. It still ends when it is woken.
time.sleep, select and socket timeouts are fine. The daemon waits on a pipe with select for this
reason too.

    .venv/bin/python tests/clock_check.py [PYTEST ARGS...]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

LIB = Path(os.environ.get("FAKETIME_LIB", "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"))
ROOT = Path(__file__).resolve().parent.parent

# (what the clock reads, in which zone: None = the machine's own, TZ as it is)
MOMENTS: list[tuple[str, str | None]] = [
    ("10:59:30", None),
    ("23:59:30", None),
    ("2026-11-01 01:59:30", "America/Toronto"),
]


def offset_to(moment: str, zone: str | None) -> int:
    """Seconds to add to the real clock for it to read ``moment`` now (today, for a bare time)."""
    tz = ZoneInfo(zone) if zone else datetime.now().astimezone().tzinfo
    now = datetime.now(tz)
    if len(moment) <= 8:
        h, m, s = (int(x) for x in moment.split(":"))
        target = now.replace(hour=h, minute=m, second=s, microsecond=0)
    else:
        target = datetime.fromisoformat(moment).replace(tzinfo=tz)  # fold=0: the first 01:59:30, still EDT
    return round((target - now).total_seconds())


def main(argv: list[str]) -> int:
    if not LIB.exists():
        print(f"test-clock: libfaketime is not installed ({LIB}); on Debian: apt-get install faketime", file=sys.stderr)
        return 2
    results: list[tuple[str, int, float]] = []
    for moment, zone in MOMENTS:
        # The kit servers (sabre/dav on PHP, Cyrus, DAViCal on PostgreSQL) are other people's code:
        # make test proves boundaryd against them; here only our clock handling is on trial.
        env = dict(os.environ, LD_PRELOAD=str(LIB), FAKETIME=f"{offset_to(moment, zone):+d}", BOUNDARYD_CLOCK_CHECK="1")
        env.pop("FAKETIME_DONT_FAKE_MONOTONIC", None)
        if zone:
            env["TZ"] = zone
        label = f"{moment}{' ' + zone if zone else ''}"
        print(f"== the clock at {label} (FAKETIME={env['FAKETIME']})", flush=True)
        t0 = time.monotonic()
        code = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *argv], env=env, cwd=ROOT)
        results.append((label, code, time.monotonic() - t0))
    print()
    for label, code, took in results:
        print(f"{'passed' if code == 0 else 'FAILED':>6}  clock at {label}  ({took:.0f}s)")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
