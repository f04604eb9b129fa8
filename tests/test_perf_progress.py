"""A long first read shows how far it got on a terminal's stderr, and nothing when stderr is not a
terminal. The delay before the line appears is set to 0 here (BOUNDARYD_PROGRESS_AFTER), so the
test never depends on how fast the machine is."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from test_ics_cache import calendar, vevent

SCRIPT = """
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from boundaryd.calendars.ics import IcsBackend
tz = ZoneInfo("America/Toronto")
now = datetime(2026, 11, 23, 7, 0, tzinfo=tz)
b = IcsBackend(sys.argv[1])
snap = b.snapshot(now, now + timedelta(days=14), tz)
for occ in snap.occurrences[:3]:
    b.flag(occ)
b.flush()
print("read", len(snap.occurrences))
"""


def big(tmp_path: Path) -> Path:
    path = tmp_path / "big.ics"
    path.write_bytes(calendar(*(vevent(f"e{i}", 23 + i % 7, 8 + i % 9, f"Meeting {i}") for i in range(500))))
    return path


def run(path: Path, *, terminal: bool) -> tuple[str, str]:
    env = dict(os.environ, BOUNDARYD_PROGRESS_AFTER="0")
    if not terminal:
        out = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], capture_output=True, text=True, env=env, timeout=120)
        return out.stdout, out.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(path)], stdout=subprocess.PIPE, stderr=follower, env=env)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    proc.wait(timeout=120)
    os.close(leader)
    return stdout, seen.decode()


def test_a_long_first_read_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    stdout, stderr = run(big(tmp_path), terminal=True)
    assert stdout.startswith("read ")
    assert "500 of 500 events read" in stderr
    assert "changes made" in stderr
    assert stderr.endswith("\n")  # the line is finished, the shell prompt is not glued to it


def test_nothing_extra_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    stdout, stderr = run(big(tmp_path), terminal=False)
    assert stdout.startswith("read ")
    assert stderr == ""
