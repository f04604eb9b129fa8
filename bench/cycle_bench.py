"""CPU per sync cycle on a big `ics:` calendar, against the floor, each in a real subprocess.

A child process runs the syncs as the daemon does (one process, one ``App``, a new backend each
cycle, the clock a minute later each time): a first sync, a settling one, then unchanged cycles,
then cycles after one event of the file was edited by someone else. Another child measures the
floor on the same file: one icalendar parse plus recurring-ical-events' expansion of the window.
CPU is the child's own (``time.process_time``), medians; RSS is the child's at the end, and that
of a third child, the daemon restarted on the same calendar and journal, after a few cycles
("restarted": the steady state of a daemon that did not do the first sync itself).

    make bench    # or: .venv/bin/python bench/cycle_bench.py [--sizes 5500 22000] [--cycles 5] [--code DIR]

``--code DIR`` runs the children on another checkout's ``daemon/`` (for before/after figures).
Goals: unchanged cycle <= 2% of the floor, one-event-changed cycle <= 25%, RSS <= 80 MB from 20,000 events
(after the first sync and restarted; ``--strict``: exit 1 when missed).
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

NOW = "2026-11-23T07:00:00-05:00"
SIZES = {5500: (500, 5000), 22000: (2000, 20000)}  # (recurring series, single events)
UNCHANGED_GOAL, CHANGED_GOAL = 0.02, 0.25
RSS_GOAL_MB, RSS_GOAL_EVENTS = 80.0, 20_000  # steady RSS of a calendar this big or bigger


def rss_mb() -> tuple[float, float]:
    fields = dict(ln.split(":", 1) for ln in Path("/proc/self/status").read_text().splitlines() if ":" in ln)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def child_floor(calendar: Path) -> dict[str, float]:
    import icalendar
    import recurring_ical_events

    now = datetime.fromisoformat(NOW)
    t0 = time.process_time()
    cal = icalendar.Calendar.from_ical(calendar.read_bytes())
    n = len(list(recurring_ical_events.of(cal).between(now, now + timedelta(days=14))))
    cpu = time.process_time() - t0
    return {"cpu": cpu, "instances": n, "rss": rss_mb()[0]}


def _edit(calendar: Path, i: int) -> None:
    """Someone else changes one event's title (another event each time)."""
    data = calendar.read_bytes()
    plain, marked = f"SUMMARY:Meeting d{i}\r\n".encode(), f"SUMMARY:Meeting d{i}x\r\n".encode()
    old, new = (plain, marked) if plain in data else (marked, plain)
    calendar.write_bytes(data.replace(old, new, 1))


def child_cycles(calendar: Path, rules_path: Path, state: Path, cycles: int) -> dict[str, object]:
    from boundaryd.engine.app import App

    app = App(rules_path, state, f"ics:{calendar}")
    rules = app.load_rules()
    t = datetime.fromisoformat(NOW)

    def sync() -> float:
        nonlocal t
        t += timedelta(minutes=1)
        t0 = time.process_time()
        app.sync(rules, t)
        return time.process_time() - t0

    first = sync()
    settle = sync()
    time.sleep(2.2)  # past the filesystem's timestamp tick: the steady state of a daemon
    unchanged = [sync() for _ in range(cycles)]
    changed = []
    for i in range(cycles):
        _edit(calendar, 4000 + 7 * i)
        changed.append(sync())
    time.sleep(2.2)
    tail = [sync() for _ in range(cycles)]
    rss, hwm = rss_mb()
    return {
        "first": first,
        "settle": settle,
        "unchanged": statistics.median(unchanged + tail),
        "changed": statistics.median(changed),
        "rss": rss,
        "hwm": hwm,
    }


def child_restarted(calendar: Path, rules_path: Path, state: Path, cycles: int) -> dict[str, object]:
    """The daemon restarted on the same calendar and journal: its resident size once settled."""
    from boundaryd.engine.app import App

    app = App(rules_path, state, f"ics:{calendar}")
    rules = app.load_rules()
    t = datetime.fromisoformat(NOW) + timedelta(hours=1)
    for i in range(2 * cycles + 1):
        if i == cycles:
            time.sleep(2.2)
            _edit(calendar, 5000)
        t += timedelta(minutes=1)
        app.sync(rules, t)
    return {"rss": rss_mb()[0]}


def run_child(args: list[str], code: Path) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(code), str(ROOT / "bench")]))
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *args], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=sorted(SIZES))
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--code", type=Path, default=ROOT / "daemon", help="the daemon/ folder the children import")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "floor":
            res: dict[str, object] = dict(child_floor(Path(rest[0])))
        elif kind == "restarted":
            res = child_restarted(Path(rest[0]), Path(rest[1]), Path(rest[2]), int(rest[3]))
        else:
            res = child_cycles(Path(rest[0]), Path(rest[1]), Path(rest[2]), int(rest[3]))
        print(json.dumps(res))
        return 0

    from plan_bench import generate

    rows = []
    for size in args.sizes:
        series, singles = SIZES.get(size, (size // 11, size - size // 11))
        with tempfile.TemporaryDirectory(prefix="bd-cycle-") as d:
            root = Path(d)
            calendar, state = root / "calendar.ics", root / "state"
            calendar.write_bytes(generate(series, singles))
            fl = statistics.median(float(run_child(["floor", str(calendar)], args.code)["cpu"]) for _ in range(3))  # type: ignore[arg-type]
            fl_rss = float(run_child(["floor", str(calendar)], args.code)["rss"])  # type: ignore[arg-type]
            child = [str(calendar), str(ROOT / "rules" / "example.yaml"), str(state), str(args.cycles)]
            res = run_child(["cycles", *child], args.code)
            res["restarted"] = run_child(["restarted", *child], args.code)["rss"]
            rows.append((size, fl, fl_rss, res))

    print(f"{'events':>7} {'floor':>8} {'first':>8} {'unchanged':>10} {'ratio':>7} {'1 change':>9} {'ratio':>7} {'RSS':>8} {'restarted':>10} {'floor RSS':>10}")
    missed = []
    for size, fl, fl_rss, r in rows:
        un, ch = float(r["unchanged"]), float(r["changed"])  # type: ignore[arg-type]
        missed += [f"{size} events: unchanged"] if un / fl > UNCHANGED_GOAL else []
        missed += [f"{size} events: one change"] if ch / fl > CHANGED_GOAL else []
        rss = max(float(r["rss"]), float(r["restarted"]))  # type: ignore[arg-type]
        missed += [f"{size} events: RSS {rss:.1f} MB"] if size >= RSS_GOAL_EVENTS and rss > RSS_GOAL_MB else []
        print(
            f"{size:>7} {fl:>7.2f}s {float(r['first']):>7.2f}s {un:>9.3f}s {un / fl:>6.1%} {ch:>8.3f}s {ch / fl:>6.1%}"  # type: ignore[arg-type]
            f" {float(r['rss']):>6.1f}MB {float(r['restarted']):>8.1f}MB {fl_rss:>8.1f}MB"  # type: ignore[arg-type]
        )
    print(f"CPU seconds per sync cycle (medians of {args.cycles}); goals: unchanged <= {UNCHANGED_GOAL:.0%}, one change <= {CHANGED_GOAL:.0%} of the floor;"
          f" RSS <= {RSS_GOAL_MB:.0f} MB from {RSS_GOAL_EVENTS:,} events")
    print("goals met" if not missed else "goals missed: " + "; ".join(missed))
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(main())
