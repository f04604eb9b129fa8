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


def killed_sync(e, step: str, every: str = "") -> subprocess.CompletedProcess[str]:
    """A sync SIGKILLed by its step hook at ``step`` (see crash_runner.py); with ``every``, on a
    calendar that writes as it goes, its actions' ends committed every ``every`` actions."""
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    cmd = [sys.executable, str(RUNNER), str(e.rules), str(e.state), NOW, step, every]
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
    # what the journal remembers of what boundaryd did: its declines (what ``allow`` sets back) and
    # its flags (marks it takes off when their conflicts end), whatever was killed where
    declined = sorted(db.execute("SELECT uid, recurrence_id, previous, told, state FROM declined").fetchall())
    flagged = sorted(db.execute("SELECT DISTINCT target, detail FROM actions WHERE kind='flag' AND state='done'").fetchall())
    unsettled = db.execute("SELECT count(*) FROM actions WHERE state='intent'").fetchone()[0]
    db.close()
    return {
        "events": sorted(events), "outbox": sorted(outbox), "notified": notified, "queued": queued, "held": held,
        "declined": declined, "flagged": flagged, "unsettled": unsettled,
    }


def run_names(e, every: str = "") -> list[str]:
    """The steps of a whole sync, as the runner passes them."""
    done = killed_sync(e, "-", every)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


N_CHANGES, N_DECLINES, N_FLAGS, N_MESSAGES = 12, 4, 1, 5  # the scenario's first sync (checked below)
#: every step of the ICS calendar's sync: it writes at the flush, so every end is committed after it
STEPS = [
    "snapshot", "held",
    "intents:change", *(f"change:{i}" for i in range(N_CHANGES)),
    "intents:decline", *(f"decline:{i}" for i in range(N_DECLINES)),
    "intents:flag", *(f"flag:{i}" for i in range(N_FLAGS)),
    "flushed", "committed:0",
    *(f"queued:{i}" for i in range(N_MESSAGES)),
]  # fmt: skip
#: a calendar that writes as it goes, the ends committed every 5 actions and at each phase's end:
#: batches 0-1 of five block writes, 2 of the last two, 3 of the declines, 4 of the flag
EVERY = "5"
EACH_STEPS = [
    "intents:change", "change:0", "change:4", "committed:0", "change:5", "change:9", "committed:1",
    "change:10", "change:11", "committed:2", "intents:decline", "decline:0", "decline:2", "decline:3",
    "committed:3", "intents:flag", "flag:0", "committed:4", "flushed",
]  # fmt: skip


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    e = scenario(tmp_path_factory.mktemp("reference") / "run")
    e.run("sync", "--now", NOW)
    return final_state(e)


def test_step_lists_are_the_whole_sync(tmp_path: Path, reference) -> None:
    e = scenario(tmp_path / "count")
    plan = json.loads(e.run("plan", "--now", NOW, "--json").stdout)
    decisions = [c["decision"] for c in plan["conflicts"]]
    assert (len(plan["calendar_changes"]), decisions.count("decline"), decisions.count("flag")) == (
        N_CHANGES, N_DECLINES, N_FLAGS,
    )  # fmt: skip
    assert run_names(e) == STEPS
    each = run_names(scenario(tmp_path / "each"), EVERY)
    assert set(EACH_STEPS) <= set(each) and each.count("flushed") == 1
    assert [n for n in each if n.startswith("committed:")] == [f"committed:{i}" for i in range(5)]
    assert len(reference["outbox"]) == 5  # 4 replies (single, 2 series instances, Sunday) + 1 notice
    assert reference["held"] == 0 and reference["unsettled"] == 0
    assert len(reference["declined"]) == 4 and len(reference["flagged"]) == 1


@pytest.mark.parametrize("step", STEPS)
def test_killed_sync_converges(tmp_path: Path, reference, step: str) -> None:
    converges(tmp_path, reference, step, "")


@pytest.mark.parametrize("step", EACH_STEPS)
def test_killed_between_an_action_and_its_batch_converges(tmp_path: Path, reference, step: str) -> None:
    """Killed mid-batch: actions on the calendar whose ends were not committed yet."""
    converges(tmp_path, reference, step, EVERY)


def converges(tmp_path: Path, expected: dict[str, object], step: str, every: str) -> None:
    e = scenario(tmp_path)
    killed = killed_sync(e, step, every)
    assert killed.returncode == -signal.SIGKILL, f"step {step} never reached: {killed.stderr}"
    e.run("sync", "--now", NOW)
    assert final_state(e) == expected, f"killed at {step}"
    e.run("sync", "--now", NOW)  # and a third run adds nothing
    assert final_state(e) == expected
