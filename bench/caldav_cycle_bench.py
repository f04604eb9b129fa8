"""CPU per sync cycle on a real Radicale with 2,000 resources, against the floor, in subprocesses.

The calendar is the cycle bench's generated history, one resource per UID, put on a Radicale
started here (127.0.0.1). A child process syncs as the daemon does (one ``App``, a new backend
each cycle, the clock a minute later each time): a first sync, a settling one, unchanged cycles,
then cycles after one event was changed on the server. Another child measures the floor: one
icalendar parse of every resource plus recurring-ical-events' expansion of the window.

    .venv/bin/python bench/caldav_cycle_bench.py [--resources 2000] [--cycles 5] [--code DIR]

Goals (issue 12): unchanged cycle <= 5% of the floor, one change <= 10%.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

NOW = "2026-11-23T07:00:00-05:00"
UNCHANGED_GOAL, CHANGED_GOAL = 0.05, 0.10


def resources(n: int) -> dict[str, bytes]:
    """The generated calendar, one resource per UID (with its VTIMEZONEs)."""
    import icalendar
    from plan_bench import generate

    cal = icalendar.Calendar.from_ical(generate(n // 11, n - n // 11))
    zones = [c for c in cal.subcomponents if c.name == "VTIMEZONE"]
    out: dict[str, bytes] = {}
    for ev in (c for c in cal.subcomponents if c.name == "VEVENT"):
        one = icalendar.Calendar()
        one.add("PRODID", "-//boundaryd bench//EN")
        one.add("VERSION", "2.0")
        one.subcomponents = [*zones, ev]
        out[str(ev["UID"]).split("@")[0] + ".ics"] = one.to_ical()
    return out


def child_floor(folder: Path) -> dict[str, float]:
    import icalendar
    import recurring_ical_events

    now = datetime.fromisoformat(NOW)
    texts = [p.read_bytes() for p in sorted(folder.glob("*.ics"))]
    t0 = time.process_time()
    cal = icalendar.Calendar()
    for t in texts:
        cal.subcomponents.extend(icalendar.Calendar.from_ical(t).subcomponents)
    n = len(list(recurring_ical_events.of(cal).between(now, now + timedelta(days=14))))
    return {"cpu": time.process_time() - t0, "instances": n}


def child_cycles(url: str, folder: Path, state: Path, cycles: int) -> dict[str, float]:
    from boundaryd.core.rules import load_rules
    from boundaryd.engine.app import App
    from clirun import BLOCKS, OWNER
    from dav_servers import DavServer, put_event
    from test_contract import RULES

    rules_path = state.parent / "rules.yaml"
    rules_path.write_text(RULES.format(owner=OWNER, calendar=f"  caldav: {{url: {url}}}", blocks=BLOCKS))
    app = App(rules_path, state)
    rules = load_rules(rules_path)
    t = datetime.fromisoformat(NOW)
    server = DavServer("radicale", url, url, None)  # type: ignore[arg-type]

    def sync() -> float:
        nonlocal t
        t += timedelta(minutes=1)
        t0 = time.process_time()
        app.sync(rules, t)
        return time.process_time() - t0

    first, settle = sync(), sync()
    unchanged = [sync() for _ in range(cycles)]
    changed = []
    names = sorted(p.name for p in folder.glob("*.ics"))
    for i in range(cycles):
        name = names[len(names) // 2 + i]
        data = (folder / name).read_bytes().replace(b"SUMMARY:Meeting", b"SUMMARY:Changed meeting", 1)
        put_event(server, name, data)
        changed.append(sync())
    fields = dict(ln.split(":", 1) for ln in Path("/proc/self/status").read_text().splitlines() if ":" in ln)
    return {"first": first, "settle": settle, "unchanged": statistics.median(unchanged),
            "changed": statistics.median(changed), "rss": int(fields["VmRSS"].split()[0]) / 1024}


def run_child(args: list[str], code: Path) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(code), str(ROOT / "bench"), str(ROOT / "tests")]))
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", *args],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resources", type=int, default=2000)
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--code", type=Path, default=ROOT / "daemon")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        res = child_floor(Path(rest[0])) if kind == "floor" else child_cycles(rest[0], Path(rest[1]), Path(rest[2]), int(rest[3]))
        print(json.dumps(res))
        return 0

    from dav_servers import put_event, start_radicale

    with tempfile.TemporaryDirectory(prefix="bd-caldav-cycle-") as d:
        tmp = Path(d)
        folder = tmp / "resources"
        folder.mkdir()
        for name, data in resources(args.resources).items():
            (folder / name).write_bytes(data)
        server = start_radicale(tmp / "server")
        try:
            for p in sorted(folder.glob("*.ics")):
                put_event(server, p.name, p.read_bytes())
            fl = statistics.median(run_child(["floor", str(folder)], args.code)["cpu"] for _ in range(3))
            r = run_child(["cycles", server.url, str(folder), str(tmp / "state"), str(args.cycles)], args.code)
        finally:
            server.stop()
    un, ch = r["unchanged"], r["changed"]
    print(f"{'resources':>9} {'floor':>7} {'first':>7} {'unchanged':>10} {'ratio':>7} {'1 change':>9} {'ratio':>7} {'RSS':>8}")
    print(f"{args.resources:>9} {fl:>6.2f}s {r['first']:>6.2f}s {un:>9.3f}s {un / fl:>6.1%} {ch:>8.3f}s {ch / fl:>6.1%} {r['rss']:>6.1f}MB")
    print(f"CPU seconds per sync cycle (medians of {args.cycles}); goals: unchanged <= {UNCHANGED_GOAL:.0%}, one change <= {CHANGED_GOAL:.0%} of the floor")
    missed = [w for w, v, g in (("unchanged", un, UNCHANGED_GOAL), ("one change", ch, CHANGED_GOAL)) if v / fl > g]
    print("goals met" if not missed else "goals missed: " + ", ".join(missed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
