"""`boundaryd run` end to end: the real CLI as a subprocess on an iCalendar file, a real NOTIFY_SOCKET."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from clirun import calendar_of, invite, make_env
from test_daemon_helpers import ROOT, NotifySocket, base_env, has, spawn, status_with, stderr_of, stop, wait_until

BOUNDARYD = Path(os.environ.get("VIRTUAL_ENV") or ROOT / ".venv") / "bin" / "boundaryd"
TZ = ZoneInfo("America/Toronto")


def _next_weekday_at(hour: int, minute: int = 0) -> datetime:
    day = datetime.now(TZ).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def _partstat(calendar: Path, uid: str) -> str | None:
    cal = icalendar.Calendar.from_ical(calendar.read_bytes())
    for ev in cal.walk("VEVENT"):
        if str(ev.get("UID")) == uid:
            for a in ev.get("ATTENDEE", []) if isinstance(ev.get("ATTENDEE"), list) else [ev.get("ATTENDEE")]:
                if a is not None and str(a).lower() == "mailto:alice@example.com":
                    return str(a.params.get("PARTSTAT"))
    return None


def _blocks(calendar: Path) -> set[str]:
    cal = icalendar.Calendar.from_ical(calendar.read_bytes())
    return {str(ev.get("X-BOUNDARYD-BLOCK")) for ev in cal.walk("VEVENT") if ev.get("X-BOUNDARYD-BLOCK")}


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    s = NotifySocket()
    yield s
    s.close()


@pytest.mark.skipif(not BOUNDARYD.exists(), reason="the boundaryd console script is not installed in .venv")
def test_run_enforces_reloads_survives_a_lost_calendar_and_stops(tmp_path: Path, notify: NotifySocket) -> None:
    env = make_env(tmp_path)
    start = _next_weekday_at(9)
    env.calendar.write_bytes(calendar_of(invite("clash-1@example.com", "Vendor pitch", start)))
    proc = spawn(
        [str(BOUNDARYD), "--rules", str(env.rules), "--state", str(env.state), "run", "--interval", "1"],
        base_env(notify, WATCHDOG_USEC="4000000"),
        tmp_path / "daemon.stderr",
    )
    try:
        ready = notify.wait_for(has("READY=1"), timeout=30)
        notify.wait_for(status_with("1 declined"), start=ready, timeout=30)
        # a sync visible on the calendar: the blocks are there and the meeting is declined
        assert {"prospecting", "call-return", "sunday"} <= _blocks(env.calendar)
        assert _partstat(env.calendar, "clash-1@example.com") == "DECLINED"
        assert any((env.state / "outbox").rglob("*")), "a notice in the outbox"
        assert "WATCHDOG=1" in notify.flat()

        # SIGHUP with a broken rules file: reported with FILE:LINE:COL, old rules keep enforcing
        good = env.rules.read_text()
        env.rules.write_text(good.replace("policy: flag", "policy: shout", 1))
        mark = len(notify.messages)
        proc.send_signal(signal.SIGHUP)
        i = notify.wait_for(has("RELOADING=1"), start=mark)
        notify.wait_for(status_with(f"{env.rules}:"), start=i)
        notify.wait_for(has("READY=1"), start=i)
        cal = icalendar.Calendar.from_ical(env.calendar.read_bytes())
        cal.add_component(invite("clash-2@example.com", "Another pitch", start + timedelta(days=1, minutes=30)))
        env.calendar.write_bytes(cal.to_ical())
        wait_until(lambda: _partstat(env.calendar, "clash-2@example.com") == "DECLINED", timeout=15,
                   what="the old rules declining a new clash")

        # a fixed file (with one more block) is picked up by itself
        mark = len(notify.messages)
        lunch = '  - {id: lunch, title: Lunch, kind: personal, days: weekdays, start: "12:00", duration: 45m}\n'
        env.rules.write_text(good.replace("skip:\n", lunch + "skip:\n"))
        i = notify.wait_for(has("RELOADING=1"), start=mark, timeout=15)
        notify.wait_for(has("READY=1"), start=i)
        wait_until(lambda: "lunch" in _blocks(env.calendar), timeout=15, what="the new block on the calendar")

        # the calendar taken away, then brought back: a fault, then recovery by itself
        saved = tmp_path / "calendar.saved"
        shutil.move(env.calendar, saved)
        env.calendar.mkdir()
        mark = len(notify.messages)
        notify.wait_for(status_with("sync failing since"), start=mark, timeout=15)
        assert proc.poll() is None
        env.calendar.rmdir()
        shutil.move(saved, env.calendar)
        mark = len(notify.messages)
        notify.wait_for(lambda m: any(f.startswith("STATUS=last sync") for f in m), start=mark, timeout=20)
        mark = len(notify.messages)
    finally:
        code, took = stop(proc)
        err = stderr_of(proc)
    assert code == 0 and took < 5, err
    notify.drain(0.2)
    assert ["STOPPING=1"] in notify.messages[mark:]
    assert f"{env.rules}:" in err and "is a directory" in err


SNIPPET = """
import sys, threading, time
from pathlib import Path
from boundaryd.engine.app import App
from boundaryd.service.daemon import Daemon
from boundaryd.service.sdnotify import Notifier
d = Daemon(App(Path(sys.argv[1]), Path(sys.argv[2])), interval=60, notifier=Notifier(None))
t = threading.Thread(target=d.run, daemon=True)
t.start()
deadline = time.monotonic() + 60
while d.state.syncs < 1 and time.monotonic() < deadline:
    time.sleep(0.05)
d.request_stop()
t.join(10)
print(d.state.syncs, sorted({m.split(".")[0] for m in sys.modules} & {"googleapiclient", "google", "caldav"}))
"""


def test_the_daemon_on_an_ics_calendar_never_imports_the_google_or_caldav_clients(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = make_env(tmp_path)
    env.calendar.write_bytes(calendar_of(invite("x@example.com", "Pitch", _next_weekday_at(9))))
    out = subprocess.run(
        [sys.executable, "-c", SNIPPET, str(env.rules), str(env.state)],
        env=base_env(None), capture_output=True, text=True, timeout=120, check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0] == "1 []", out.stdout + out.stderr


@pytest.mark.skipif(not BOUNDARYD.exists(), reason="the boundaryd console script is not installed in .venv")
def test_run_survives_a_caldav_server_taken_away_and_brought_back(tmp_path: Path, notify: NotifySocket) -> None:
    from dav_servers import put_event, start_radicale

    server = start_radicale(tmp_path / "radicale")
    port = int(server.root.rsplit(":", 1)[1].strip("/"))
    env = make_env(tmp_path)
    env.write_rules(text=env.rules.read_text().replace(f"ics: {{path: {env.calendar}}}", f"caldav: {{url: {server.url}}}"))
    start = _next_weekday_at(9)
    put_event(server, "clash.ics", calendar_of(invite("clash@example.com", "Vendor pitch", start)))
    proc = spawn(
        [str(BOUNDARYD), "--rules", str(env.rules), "--state", str(env.state), "run", "--interval", "1"],
        base_env(notify, WATCHDOG_USEC="20000000"),
        tmp_path / "daemon.stderr",
    )
    try:
        ready = notify.wait_for(has("READY=1"), timeout=30)
        notify.wait_for(status_with("1 declined"), start=ready, timeout=30)
        server.stop()  # the server goes away: a fault, STATUS says so, the daemon keeps running
        mark = len(notify.messages)
        notify.wait_for(status_with("sync failing since"), start=mark, timeout=30)
        assert proc.poll() is None
        server = start_radicale(tmp_path / "radicale", port=port)  # back, with the same storage
        put_event(server, "late.ics", calendar_of(invite("late@example.com", "Late pitch", start + timedelta(days=1))))
        mark = len(notify.messages)
        notify.wait_for(status_with("1 declined"), start=mark, timeout=60)
    finally:
        code, took = stop(proc)
        err = stderr_of(proc)
        server.stop()
    assert code == 0 and took < 5, err
    assert "caldav http://127.0.0.1" in err  # the fault, in one line of the log
