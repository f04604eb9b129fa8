"""A first sync's journal writes: one action at a time (two commits each) vs. batched per phase.

    .venv/bin/python bench/journal_bench.py [--actions 3200]

~3,200 flags is what the first sync of cycle_bench's 22,000-event calendar applies. Wall time of
the journal writes alone, on the state directory's disk (a temporary directory next to it).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from boundaryd.engine import journal_batch
from boundaryd.engine.journal import Journal


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--actions", type=int, default=3200)
    args = ap.parse_args()
    rows = [("flag", f"uid{i}@bench", "") for i in range(args.actions)]
    with tempfile.TemporaryDirectory(prefix="bd-journal-", dir=Path.home()) as d:
        j = Journal(Path(d) / "one.sqlite3")
        t0 = time.perf_counter()
        ids = [j.intent("s", k, t, x) for k, t, x in rows]
        for a in ids:
            j.done(a)
        one = time.perf_counter() - t0
        j.close()
        j = Journal(Path(d) / "batched.sqlite3")
        t0 = time.perf_counter()
        journal_batch.finish(j, journal_batch.intents(j, "s", rows), [])
        batched = time.perf_counter() - t0
        j.close()
    print(f"{args.actions} actions: one by one {one:.2f}s, batched {batched:.3f}s ({one / batched:.0f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
