"""cProfile of quiet (unchanged) `ics:` cycles on the 5,500-event bench calendar.

    .venv/bin/python bench/quiet_profile.py [--events 5500] [--cycles 5] [--top 30] [--sort tottime]

The calendar is cycle_bench's (plan_bench.generate); the daemon's way of syncing (one App, the
clock a minute later each cycle). Prints the mean CPU per quiet cycle and where it goes.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
NOW = "2026-11-23T07:00:00-05:00"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=5500)
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--sort", default="cumulative", help="a pstats sort key: cumulative, tottime, ncalls...")
    args = ap.parse_args()
    from plan_bench import generate

    from boundaryd.engine.app import App

    with tempfile.TemporaryDirectory(prefix="bd-quiet-") as d:
        calendar, state = Path(d) / "calendar.ics", Path(d) / "state"
        calendar.write_bytes(generate(args.events // 11, args.events - args.events // 11))
        app = App(ROOT / "rules" / "example.yaml", state, f"ics:{calendar}")
        rules = app.load_rules()
        t = datetime.fromisoformat(NOW)
        for _ in range(2):  # the first sync and the settling one
            t += timedelta(minutes=1)
            app.sync(rules, t)
        time.sleep(2.2)  # past the filesystem's timestamp tick, as a daemon would be
        prof = cProfile.Profile()
        t0 = time.process_time()
        for _ in range(args.cycles):
            t += timedelta(minutes=1)
            prof.runcall(app.sync, rules, t)
        cpu = (time.process_time() - t0) / args.cycles
    print(f"{args.events} events: {cpu * 1000:.1f} ms CPU per quiet cycle (under cProfile)")
    pstats.Stats(prof).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
