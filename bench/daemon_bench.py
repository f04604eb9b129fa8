"""Idle cost of `boundaryd run` on the iCalendar backend: resident memory and CPU per cycle.

Starts the real `boundaryd run` on a calendar of a few weeks of meetings (plus a real
NOTIFY_SOCKET with a watchdog, as under systemd), lets it settle, then samples /proc for a while.
Also checks that the Google client is never imported for an `ics:` calendar.

    .venv/bin/python bench/daemon_bench.py [--events 300] [--interval 1] [--seconds 20]

Targets: RSS under 60 MB; googleapiclient not in sys.modules. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "daemon"))

RSS_TARGET_MB = 60.0
TZ = ZoneInfo("America/Toronto")

RULES = """\
version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [alice@example.com]}}
calendar:
  ics: {{path: {calendar}}}
notify:
  email: {{to: alice@example.com, from: boundaryd@example.com}}
blocks:
  - {{id: prospecting, title: Prospecting calls, kind: prospecting, days: weekdays, start: "08:30", end: "11:00", policy: decline}}
  - {{id: call-return, title: Return calls, kind: call-return, days: weekdays, times: ["11:30", "16:30"], duration: 30m, policy: flag}}
  - {{id: family, title: Family evening, kind: family, days: daily, start: "18:00", end: "21:00", policy: decline}}
  - {{id: sunday, title: Day off, kind: day-off, days: [sun], all_day: true, policy: decline}}
"""


def make_calendar(path: Path, events: int) -> None:
    import icalendar

    cal = icalendar.Calendar()
    cal.add("PRODID", "-//boundaryd bench//EN")
    cal.add("VERSION", "2.0")
    start = datetime.now(TZ).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    for i in range(events):
        ev = icalendar.Event()
        ev.add("UID", f"bench-{i}@example.com")
        ev.add("DTSTAMP", datetime(2026, 1, 1, tzinfo=TZ))
        ev.add("SUMMARY", f"Meeting {i}")
        t = start + timedelta(hours=7 * i)  # spread over the horizon, some on blocks
        ev.add("DTSTART", t)
        ev.add("DTEND", t + timedelta(minutes=45))
        org = icalendar.vCalAddress(f"mailto:person{i}@client.example")
        ev.add("ORGANIZER", org)
        for mail in (f"person{i}@client.example", "alice@example.com"):
            a = icalendar.vCalAddress(f"mailto:{mail}")
            a.params["PARTSTAT"] = "NEEDS-ACTION"
            ev.add("ATTENDEE", a)
        cal.add_component(ev)
    cal.add_missing_timezones()
    path.write_bytes(cal.to_ical())


def proc_sample(pid: int) -> tuple[float, float, float]:
    """(RSS MB, peak RSS MB, CPU seconds user+system) from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = {ln.split(":")[0]: ln.split(":")[1].strip() for ln in status.splitlines() if ":" in ln}
    rss = int(fields["VmRSS"].split()[0]) / 1024
    hwm = int(fields["VmHWM"].split()[0]) / 1024
    stat = Path(f"/proc/{pid}/stat").read_text()
    parts = stat[stat.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(parts[11]) + int(parts[12])) / ticks  # utime, stime
    return rss, hwm, cpu


def google_imported(rules: Path, state: Path) -> bool:
    """Run the daemon's app for one sync in a fresh interpreter; is the Google client loaded?"""
    code = (
        "import sys; from pathlib import Path; from boundaryd.engine.app import App; "
        f"app = App(Path({str(rules)!r}), Path({str(state)!r})); app.sync(app.load_rules()); "
        "print(any(m == 'googleapiclient' or m.startswith('googleapiclient.') for m in sys.modules))"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT / "daemon"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True)
    return out.stdout.strip().splitlines()[-1] == "True"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=300)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = ap.parse_args()

    exe = Path(sys.executable).parent / "boundaryd"
    cmd_prefix = [str(exe)] if exe.exists() else [sys.executable, "-m", "boundaryd"]
    with tempfile.TemporaryDirectory(prefix="bdbench") as d:
        root = Path(d)
        calendar, rules, state = root / "calendar.ics", root / "rules.yaml", root / "state"
        make_calendar(calendar, args.events)
        rules.write_text(RULES.format(calendar=calendar))

        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(root / "notify"))
        notify.settimeout(0.2)
        got: list[str] = []
        done = threading.Event()

        def reader() -> None:
            while not done.is_set():
                try:
                    got.extend(notify.recv(65536).decode().split("\n"))
                except TimeoutError:
                    continue
                except OSError:
                    return

        threading.Thread(target=reader, daemon=True).start()
        env = dict(os.environ, NOTIFY_SOCKET=str(root / "notify"), WATCHDOG_USEC="10000000",
                   PYTHONPATH=str(ROOT / "daemon"))
        with open(root / "stderr", "w") as err:
            proc = subprocess.Popen(
                [*cmd_prefix, "--rules", str(rules), "--state", str(state), "run", "--interval", f"{args.interval:g}"],
                env=env, stdout=err, stderr=err,
            )
        try:
            t0 = time.monotonic()
            while "READY=1" not in got:
                if proc.poll() is not None or time.monotonic() - t0 > 60:
                    print((root / "stderr").read_text(), file=sys.stderr)
                    raise SystemExit("boundaryd run did not become ready")
                time.sleep(0.05)
            startup = time.monotonic() - t0
            time.sleep(max(3 * args.interval, 2.0))  # first sync done, settled
            rss0, _, cpu0 = proc_sample(proc.pid)
            w0 = time.monotonic()
            peak_rss = rss0
            while time.monotonic() - w0 < args.seconds:
                time.sleep(0.5)
                rss, _, _ = proc_sample(proc.pid)
                peak_rss = max(peak_rss, rss)
            rss1, hwm, cpu1 = proc_sample(proc.pid)
            wall = time.monotonic() - w0
            cycles = wall / args.interval
            t_stop = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=10)
            stop_s = time.monotonic() - t_stop
        finally:
            if proc.poll() is None:
                proc.kill()
            done.set()
            notify.close()
        google = google_imported(rules, state)

    result = {
        "events": args.events,
        "interval_s": args.interval,
        "startup_to_ready_s": round(startup, 2),
        "idle_rss_mb": round(rss1, 1),
        "max_rss_sampled_mb": round(peak_rss, 1),
        "peak_rss_hwm_mb": round(hwm, 1),
        "cpu_ms_per_cycle": round((cpu1 - cpu0) * 1000 / cycles, 2),
        "cpu_percent_idle": round((cpu1 - cpu0) * 100 / wall, 2),
        "watchdog_pings": got.count("WATCHDOG=1"),
        "exit_code": code,
        "stop_s": round(stop_s, 2),
        "googleapiclient_imported": google,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>22}: {v}")
    ok = hwm < RSS_TARGET_MB and not google and code == 0 and stop_s < 5
    print(f"{'':>22}  {'OK' if ok else 'MISSED'} (target: RSS < {RSS_TARGET_MB:g} MB, no Google client, exit 0 < 5 s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
