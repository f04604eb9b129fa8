"""A sync killed (SIGKILL) at every step, then run again, ends where an uninterrupted sync ends:
no duplicate block events, no second reply, no second notice."""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import icalendar
import pytest

from clirun import NOW, calendar_of, invite, make_env
from test_sync import at

RUNNER = Path(__file__).with_name("crash_runner.py")


def killed_sync(e, step: str) -> subprocess.CompletedProcess[str]:
    """A sync SIGKILLed by its step hook at ``step`` (see crash_runner.py)."""
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    cmd = [sys.executable, str(RUNNER), str(e.rules), str(e.state), NOW, step]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)


def scenario(tmp_path: Path):
    e = make_env(tmp_path)
    e.calendar.write_bytes(
        calendar_of(
            invite("single@t", "Listing review", at(1, 9)),
            # Wednesdays on prospecting, Saturdays free: not a standing conflict, declined one by one
            invite("series@t", "Weekly sync", at(2, 10), 30, rrule={"FREQ": ["WEEKLY"], "BYDAY": ["WE", "SA"], "COUNT": ["12"]}),
            invite("call@t", "Quick call", at(0, 11, 30), 30),
            invite("sun@t", "Open house", at(6, 11), 120),
            invite("lunch@t", "Lunch", at(0, 12, 15), 45),
        )
    )
    return e


def final_state(e) -> dict[str, object]:
    cal = icalendar.Calendar.from_ical(e.calendar.read_bytes())
    events = []
    for c in cal.walk("VEVENT"):
        c = c.copy() if hasattr(c, "copy") else c
        c.pop("DTSTAMP", None)
        events.append(c.to_ical())
    outbox = []
    for p in sorted((e.state / "outbox").rglob("bd.*")):
        if p.is_file() and p.parent.name != "tmp":
            m = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            outbox.append((str(m["To"]), str(m["Subject"]), str(m["Message-ID"])))
    db = sqlite3.connect(e.state / "journal.sqlite3")
    notified = sorted(r[0] for r in db.execute("SELECT key FROM notified"))
    queued = sorted(r[0] for r in db.execute("SELECT key FROM messages WHERE state='queued'"))
    held = db.execute("SELECT count(*) FROM messages WHERE state='intent'").fetchone()[0]
    db.close()
    return {"events": sorted(events), "outbox": sorted(outbox), "notified": notified, "queued": queued, "held": held}


def steps(tmp_path: Path) -> list[str]:
    e = scenario(tmp_path / "count")
    plan = json.loads(e.run("plan", "--now", NOW, "--json").stdout)
    n_changes = len(plan["calendar_changes"])
    declines = [c for c in plan["conflicts"] if c["decision"] == "decline"]
    flags = [c for c in plan["conflicts"] if c["decision"] == "flag"]
    n_messages = len(declines) + 1  # a reply per decline, one notice
    return (
        ["snapshot", "held"]
        + [f"change:{i}" for i in range(n_changes)]
        + [f"decline:{i}" for i in range(len(declines))]
        + [f"flag:{i}" for i in range(len(flags))]
        + ["flushed"]
        + [f"queued:{i}" for i in range(n_messages)]
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], list[str]]:
    root = tmp_path_factory.mktemp("reference")
    e = scenario(root / "run")
    e.run("sync", "--now", NOW)
    return final_state(e), steps(root)


def test_step_list_covers_the_whole_sync(reference) -> None:
    state, names = reference
    assert len(names) >= 15
    assert len(state["outbox"]) == 5  # 4 replies (single, 2 series instances, Sunday) + 1 notice
    assert state["held"] == 0


@pytest.mark.parametrize("index", range(25))
def test_killed_sync_converges(tmp_path: Path, reference, index: int) -> None:
    expected, names = reference
    step = names[index]
    e = scenario(tmp_path)
    killed = killed_sync(e, step)
    assert killed.returncode == -signal.SIGKILL, f"step {step} never reached: {killed.stderr}"
    e.run("sync", "--now", NOW)
    assert final_state(e) == expected, f"killed at {step}"
    e.run("sync", "--now", NOW)  # and a third run adds nothing
    assert final_state(e) == expected


def test_every_step_is_tested(reference) -> None:
    _, names = reference
    assert len(names) == 25, f"the scenario has {len(names)} steps: parametrize over all of them"
