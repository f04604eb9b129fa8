"""What recording the weekly ledger adds to a quiet sync, on the demo's week (CPU time).

    .venv/bin/python bench/ledger_bench.py

A quiet sync (nothing new) records the ledger of the weeks its window touches and writes nothing;
with the block instances cached for the rules in force, that costs well under a millisecond.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
from datetime import datetime
from pathlib import Path

from boundaryd.cli.demo import run_demo
from boundaryd.engine import journal_ledger
from boundaryd.engine.app import App

N = 20


def main() -> None:
    now = datetime.fromisoformat("2026-11-20T09:00:00-05:00")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with contextlib.redirect_stdout(io.StringIO()):
            run_demo(root, now)
        app = App(root / "rules.yaml", root / "state")
        rules = app.load_rules()
        ex = app.executor(rules)
        app.sync(rules, now, ex)
        start = time.process_time()
        for _ in range(N):
            app.sync(rules, now, ex)
        quiet = (time.process_time() - start) / N
        plan, snap = app.plan(rules, now, ex)
        start = time.process_time()
        for _ in range(N):
            journal_ledger.record(app.journal, rules, plan, snap)
        record = (time.process_time() - start) / N
    print(f"quiet sync: {quiet * 1000:.1f} ms CPU, of which the ledger's record: {record * 1000:.2f} ms")


if __name__ == "__main__":
    main()
