"""A first sync's journal writes: one action at a time (the old executor) vs. the executor's own path now.

    .venv/bin/python bench/journal_bench.py [--actions 3200] [--reps 3]

~3,200 flags is what the first sync of cycle_bench's 22,000-event calendar applies. Three ways, in
the same run, each on a new journal in a temporary directory next to the state directory (the
home directory's disk, ``synchronous=FULL``: every commit an fsync):

- one by one: an intent and a done per action, each its own transaction (the executor before);
- executor, ICS-like: ``Executor.apply`` on a plan of that many flags, through a backend that
  writes at ``flush`` (as the ICS file does): the intents in one transaction, the ends in one after the flush;
- executor, CalDAV-like: the same through a backend whose writes are durable when made
  (``writes_when_made``): the ends committed every ``EVERY`` actions and at the phase's end.

The backends do nothing, so what is timed is the journal (and the executor's own bookkeeping).
Wall time (fsyncs wait, they do not spend CPU) and CPU, medians of ``--reps``.

``--sync 22000 [--code DIR]``: a real first sync of cycle_bench's calendar of that size (``ics:``,
rules/example.yaml), wall and CPU, in a child process on this checkout's ``daemon/`` and, with
``--code``, on another's (before/after in the same run; cycle_bench's ``first`` column is CPU only).
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
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from boundaryd.core.actions import Flag
from boundaryd.core.model import Capabilities, Conflict, Decision, Occurrence, Plan
from boundaryd.core.rules import load_rules
from boundaryd.engine.executor import Executor
from boundaryd.engine.journal import Journal
from boundaryd.engine.journal_batch import EVERY

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.fromisoformat("2026-11-23T07:00:00-05:00")


@dataclass
class Nothing:
    """A backend that applies nothing (the journal is what is measured)."""

    capabilities: Capabilities = Capabilities()
    name: str = "bench"

    def flag(self, occ: Occurrence) -> None:
        pass

    def flush(self) -> None:
        pass


class NothingAsItGoes(Nothing):
    writes_when_made = True


def plan_of(n: int) -> Plan:
    flags = []
    for i in range(n):
        start = NOW + timedelta(hours=i)
        o = Occurrence(uid=f"uid{i}@bench", recurrence_id=None, summary="Meeting", start=start, end=start + timedelta(hours=1))
        flags.append(Flag(Conflict(o, "call-return", ("call-return",), Decision.FLAG, "overlaps")))
    return Plan(NOW, NOW, NOW + timedelta(days=14), (), tuple(f.conflict for f in flags), tuple(flags))


def one_by_one(path: Path, p: Plan) -> Journal:
    j = Journal(path)
    ids = [j.intent("s", "flag", *f.occurrence.key) for f in p.flag_actions]
    for a in ids:
        j.done(a)
    return j


def executor(backend: Any) -> Any:
    def run(path: Path, p: Plan) -> Journal:
        j = Journal(path)
        Executor(load_rules(ROOT / "rules" / "example.yaml"), backend, j, path.parent / "state").apply(p)
        return j

    return run


def timed(run: Any, p: Plan, root: Path, name: str) -> tuple[float, float]:
    path = root / f"{name}.sqlite3"
    w0, c0 = time.perf_counter(), time.process_time()
    j = run(path, p)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    done = j.db.execute("SELECT count(*) FROM actions WHERE state='done'").fetchone()[0]
    assert done == len(p.flag_actions), (name, done)
    j.close()
    for f in root.glob(f"{name}.sqlite3*"):
        f.unlink()
    return wall, cpu


#: the child of ``--sync``, run with ``-c`` (it imports only what both checkouts have)
CHILD = """
import json, sys, time
from datetime import datetime
from pathlib import Path
from boundaryd.engine.app import App

rules_path, calendar, state, now = sys.argv[1:5]
app = App(Path(rules_path), Path(state), f"ics:{calendar}")
rules = app.load_rules()
w0, c0 = time.perf_counter(), time.process_time()
result = app.sync(rules, datetime.fromisoformat(now))
wall, cpu = time.perf_counter() - w0, time.process_time() - c0
print(json.dumps({"wall": wall, "cpu": cpu, "flagged": result.flagged, "declined": result.declined}))
"""


def first_syncs(size: int, codes: list[Path], reps: int) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from cycle_bench import SIZES
    from plan_bench import generate

    series, singles = SIZES.get(size, (size // 11, size - size // 11))
    data = generate(series, singles)
    got: dict[Path, list[dict[str, float]]] = {c: [] for c in codes}
    with tempfile.TemporaryDirectory(prefix="bd-first-", dir=Path.home()) as d:
        for rep in range(reps):
            for code in codes:  # interleaved: the same machine load for each
                root = Path(d) / f"{rep}-{len(got[code])}-{codes.index(code)}"
                root.mkdir()
                (root / "calendar.ics").write_bytes(data)
                env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(code), str(ROOT / "bench")]))
                rules = ROOT / "rules" / "example.yaml"
                cmd = [sys.executable, "-c", CHILD, str(rules), str(root / "calendar.ics"), str(root / "state"), NOW.isoformat()]
                out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
                got[code].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"first sync of {size} events (ics:, rules/example.yaml), medians of {reps}")
    for code, rows in got.items():
        wall, cpu = statistics.median(r["wall"] for r in rows), statistics.median(r["cpu"] for r in rows)
        print(f"  {str(code):<40} wall {wall:6.2f}s  CPU {cpu:6.2f}s  ({int(rows[0]['flagged'])} flagged, {int(rows[0]['declined'])} declined)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--actions", type=int, default=3200)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sync", type=int, help="a real first sync of a calendar of this many events instead")
    ap.add_argument("--code", type=Path, help="with --sync: another checkout's daemon/ too")
    args = ap.parse_args()
    if args.sync:
        first_syncs(args.sync, [ROOT / "daemon", *([args.code] if args.code else [])], args.reps)
        return 0
    p = plan_of(args.actions)
    ways = {"one by one": one_by_one, "executor, ICS-like": executor(Nothing()), "executor, CalDAV-like": executor(NothingAsItGoes())}
    got: dict[str, list[tuple[float, float]]] = {k: [] for k in ways}
    with tempfile.TemporaryDirectory(prefix="bd-journal-", dir=Path.home()) as d:
        for _ in range(args.reps):
            for name, run in ways.items():  # interleaved: the same disk load for each
                got[name].append(timed(run, p, Path(d), name.split(",")[-1].strip().replace(" ", "-")))
    base = statistics.median(w for w, _ in got["one by one"])
    print(f"{args.actions} flag actions, medians of {args.reps} (ends committed every {EVERY} when writing as it goes)")
    print(f"{'':<24} {'wall':>8} {'CPU':>8} {'vs one by one':>14}")
    for name, rows in got.items():
        wall, cpu = statistics.median(w for w, _ in rows), statistics.median(c for _, c in rows)
        print(f"{name:<24} {wall:>7.3f}s {cpu:>7.3f}s {base / wall:>13.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
