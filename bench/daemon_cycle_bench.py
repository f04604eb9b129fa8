"""The real daemon, `boundaryd run`, per sync cycle: CPU, requests and RSS, against the floor.

Starts `boundaryd run --interval S` as a subprocess with a real NOTIFY_SOCKET (an AF_UNIX datagram
socket this script reads, as systemd would) and a state dir and rules file (rules/example.yaml's
blocks) in a temp dir. At each sync's ``STATUS=last sync ...`` it reads the daemon's CPU
(utime + stime of /proc/PID/stat; clock ticks, 10 ms) and RSS (VmRSS), and the requests the
stand-in has answered. After a first sync and a few settling ones: unchanged cycles, then cycles
after someone else changed one event in the window (the `ics:` file edited, the stand-in's own
state patched), then unchanged ones again; medians. The floor, measured in a separate child process
of the same run: one icalendar parse + recurring-ical-events expansion of the same calendar's
14-day window. The daemon uses the wall clock, so the calendar is generated around now
(bench/plan_bench.py's generator).

Backends: `ics:` (5,500 events; 22,000 with ``--sizes 5500 22000``), the local Google Calendar API
stand-in (tests/fake_google.py) and the Microsoft Graph stand-in (tests/fake_graph.py), 5,500
events each; with ``--backends ... radicale``, a real Radicale with 2,000 resources (a few minutes
more: 2,000 PUTs), whose floor parses each resource as bench/caldav_cycle_bench.py's does.

    make bench    # or: .venv/bin/python bench/daemon_cycle_bench.py [--sizes 5500 22000] [--backends ics google microsoft radicale]
                  #     [--cycles 5] [--interval 3] [--code DIR] [--trace] [--strict]

Goals (issue 12; ``--strict``: exit 1 when one is missed): unchanged cycle <= 2% of the floor on
`ics:` and <= 5% on the network backends; one change <= 25% (`ics:`) and <= 10% (network);
requests per unchanged cycle 1 (Google, Microsoft), <= 2 (CalDAV).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT / "bench", ROOT / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

GOALS = {"ics": (0.02, 0.25), "network": (0.05, 0.10)}  # (unchanged, one change) as a share of the floor
RSS_GOAL_MB, RSS_GOAL_EVENTS = 80.0, 20_000  # the daemon's steady RSS, for a calendar this big or bigger
TICK = os.sysconf("SC_CLK_TCK")

from daemon_worlds import FLOOR_OF, WORLDS, IcsWorld, calendar_now, generate_around, vevents, window_singles  # noqa: E402

# --- the daemon, watched ------------------------------------------------------------------------


def proc_sample(pid: int) -> tuple[float, float]:
    """(CPU seconds user+system, RSS MB) of a process, from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    parts = stat[stat.rindex(")") + 2 :].split()
    cpu = (int(parts[11]) + int(parts[12])) / TICK
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS:")) / 1024
    return cpu, rss


@dataclass
class Sample:
    cpu: float
    rss: float
    requests: int
    status: str
    at: float = field(default_factory=time.monotonic)


class Watch:
    """The NOTIFY_SOCKET: READY=1, and a sample of the daemon at every ``STATUS=last sync``."""

    def __init__(self, path: Path, requests: Callable[[], int]) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.requests = requests
        self.pid = 0
        self.ready: Sample | None = None
        self.syncs: list[Sample] = []
        self.statuses: list[str] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _sample(self, status: str) -> Sample:
        cpu, rss = proc_sample(self.pid)
        return Sample(cpu, rss, self.requests(), status)

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                fields = self.sock.recv(65536).decode().split("\n")
            except TimeoutError:
                continue
            except OSError:
                return
            for f in fields:
                if f == "READY=1" and self.pid and self.ready is None:
                    self.ready = self._sample("")
                elif f.startswith("STATUS="):
                    self.statuses.append(f[7:])
                    if "last sync" in f and self.pid:
                        self.syncs.append(self._sample(f[7:]))

    def close(self) -> None:
        self._closed.set()
        self._thread.join(2)
        self.sock.close()


@dataclass
class Measured:
    """What one daemon run gave: CPU seconds and requests per cycle, by kind of cycle."""

    startup: float = 0.0
    first: float = 0.0
    unchanged: list[float] = field(default_factory=list)
    changed: list[float] = field(default_factory=list)
    req_unchanged: list[int] = field(default_factory=list)
    req_changed: list[int] = field(default_factory=list)
    rss: float = 0.0
    rss_max: float = 0.0
    syncs: int = 0

    def summary(self) -> dict[str, Any]:
        med = lambda xs: statistics.median(xs) if xs else float("nan")  # noqa: E731
        return {"startup": self.startup, "first": self.first, "unchanged": med(self.unchanged), "changed": med(self.changed),
                "req_unchanged": med(self.req_unchanged), "req_changed": med(self.req_changed),
                "rss": self.rss, "rss_max": self.rss_max, "syncs": self.syncs}


def plan_of(cycles: int, warmup: int) -> list[str]:
    return ["first"] + ["warmup"] * warmup + ["unchanged"] * cycles + ["changed"] * cycles + ["unchanged"] * cycles


def measure(world: Any, root: Path, *, cycles: int, interval: float, warmup: int = 2, code: Path = ROOT / "daemon",
            timeout: float = 900.0, trace: bool = False) -> Measured:
    """Run `boundaryd run` on ``world`` (rules written in ``root``) through its cycles; stop it; what it cost."""
    rules, state = root / "rules.yaml", root / "state"
    state.mkdir(exist_ok=True)
    rules.write_text(rules_yaml(world.calendar_yaml()))
    watch = Watch(root / "notify", world.requests)
    env = {k: v for k, v in os.environ.items() if k not in ("WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM")}
    env.update(world.env, NOTIFY_SOCKET=str(root / "notify"), PYTHONPATH=str(code))
    cmd = [sys.executable, "-m", "boundaryd", "--rules", str(rules), "--state", str(state), "run", "--interval", f"{interval:g}"]
    with open(root / "daemon.log", "w") as log:
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    watch.pid = proc.pid
    t0 = time.monotonic()
    plan = plan_of(cycles, warmup)
    deadline = time.monotonic() + timeout
    edits = 0
    try:
        for k, _ in enumerate(plan):
            while len(watch.syncs) <= k:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the daemon stopped, or sent no STATUS= after sync {len(watch.syncs) + 1} "
                                       "(it needs one after every sync):\n"
                                       + (root / "daemon.log").read_text()[-3000:])
                time.sleep(0.01)
            if trace:
                x = watch.syncs[k]
                print(f"    {x.at - t0:6.1f}s {plan[k]:<9} cpu {x.cpu - (watch.syncs[k - 1].cpu if k else 0):.2f}s"
                      f" requests {x.requests} rss {x.rss:.0f}MB", file=sys.stderr)
            if watch.syncs[k].status.startswith("sync failing"):
                raise RuntimeError(f"sync failing: {watch.syncs[k].status}\n" + (root / "daemon.log").read_text()[-3000:])
            if k + 1 < len(plan) and plan[k + 1] == "changed":
                world.edit(edits)  # right after a sync: long before the next one starts
                edits += 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        watch.close()
    s, ready = watch.syncs, watch.ready
    out = Measured(startup=ready.cpu if ready else 0.0, syncs=len(s), rss=s[-1].rss, rss_max=max(x.rss for x in s))
    out.first = s[0].cpu - out.startup
    for k in range(1, len(plan)):
        cpu, req = s[k].cpu - s[k - 1].cpu, s[k].requests - s[k - 1].requests
        if plan[k] == "unchanged":
            out.unchanged.append(cpu)
            out.req_unchanged.append(req)
        elif plan[k] == "changed":
            out.changed.append(cpu)
            out.req_changed.append(req)
    return out


def rules_yaml(calendar: str) -> str:
    """rules/example.yaml with its calendar section replaced (the blocks cycle_bench uses)."""
    text = (ROOT / "rules" / "example.yaml").read_text()
    head, rest = text.split("\ncalendar:\n", 1)
    _, tail = rest.split("\nnotify:\n", 1)
    return f"{head}\ncalendar:\n{calendar}\n\nnotify:\n{tail}"


# --- the floor ----------------------------------------------------------------------------------


def child_floor(calendar: Path, now: datetime) -> dict[str, float]:
    """One file: parse it; a folder (CalDAV's resources): parse each resource, expand them as one calendar."""
    import icalendar
    import recurring_ical_events

    texts = [p.read_bytes() for p in sorted(calendar.glob("*.ics"))] if calendar.is_dir() else [calendar.read_bytes()]
    t0 = time.process_time()
    cal = icalendar.Calendar()
    for text in texts:
        cal.subcomponents.extend(icalendar.Calendar.from_ical(text).subcomponents)
    n = len(list(recurring_ical_events.of(cal).between(now, now + timedelta(days=14))))
    cpu = time.process_time() - t0
    return {"cpu": cpu, "instances": n, "rss": proc_sample(os.getpid())[1]}


def floor(calendar: Path, now: datetime, runs: int = 3) -> tuple[float, float]:
    """(median CPU seconds, RSS MB) of the floor, each run in a child process of its own."""
    out = []
    for _ in range(runs):
        res = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--floor", str(calendar), now.isoformat()],
                             capture_output=True, text=True, check=True)
        out.append(json.loads(res.stdout.strip().splitlines()[-1]))
    return statistics.median(r["cpu"] for r in out), statistics.median(r["rss"] for r in out)


# --- the run ------------------------------------------------------------------------------------


def run_one(kind: str, size: int, *, cycles: int, interval: float, warmup: int = 2, floor_runs: int = 3,
            code: Path = ROOT / "daemon", trace: bool = False, timeout: float = 900.0) -> dict[str, Any]:
    """One backend at one size: the floor, then the daemon through its cycles. A row of the table."""
    t0 = time.monotonic()
    say = (lambda what: print(f"  {kind} {size}: {what} ({time.monotonic() - t0:.1f}s)", file=sys.stderr)) if trace else (lambda what: None)
    with tempfile.TemporaryDirectory(prefix="bdc", dir="/tmp") as d:  # AF_UNIX paths are short
        root = Path(d)
        now = calendar_now()
        data = generate_around(now, size)
        (root / "floor.ics").write_bytes(data)
        say("generated")
        events = vevents(data)
        targets = window_singles(events, now)
        world = IcsWorld(root, data, targets) if kind == "ics" else WORLDS[kind](root, events, targets, now)
        say("calendar loaded")
        fl_cpu, fl_rss = floor(root / FLOOR_OF.get(kind, "floor.ics"), now, floor_runs)
        say("floor measured")
        try:
            m = measure(world, root, cycles=cycles, interval=interval, warmup=warmup, code=code, trace=trace, timeout=timeout)
        finally:
            world.close()
    return {"backend": kind, "events": size, "network": world.network, "floor": fl_cpu, "floor_rss": fl_rss, **m.summary()}


def missed_goals(row: dict[str, Any]) -> list[str]:
    unchanged, changed = GOALS["network" if row["network"] else "ics"]
    name = f"{row['backend']} {row['events']}"
    out = []
    if not row["unchanged"] / row["floor"] <= unchanged:
        out.append(f"{name}: unchanged {row['unchanged'] / row['floor']:.1%} > {unchanged:.0%}")
    if not row["changed"] / row["floor"] <= changed:
        out.append(f"{name}: one change {row['changed'] / row['floor']:.1%} > {changed:.0%}")
    if row["events"] >= RSS_GOAL_EVENTS and row["rss"] > RSS_GOAL_MB:
        out.append(f"{name}: RSS {row['rss']:.1f} MB > {RSS_GOAL_MB:.0f} MB")
    most = 2 if row["backend"] == "radicale" else 1
    if row["network"] and row["req_unchanged"] > most:
        out.append(f"{name}: {row['req_unchanged']:g} requests per unchanged cycle > {most}")
    return out


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'backend':<10} {'events':>6} {'floor':>7} {'first':>7} {'unchanged':>9} {'ratio':>6} {'1 change':>8} "
             f"{'ratio':>6} {'req/unch':>8} {'req/chg':>7} {'RSS':>8} {'ratio':>6} {'floor RSS':>9}"]
    for r in rows:
        req = (f"{r['req_unchanged']:>8g} {r['req_changed']:>7g}" if r["network"] else f"{'-':>8} {'-':>7}")
        lines.append(
            f"{r['backend']:<10} {r['events']:>6} {r['floor']:>6.2f}s {r['first']:>6.2f}s {r['unchanged']:>8.3f}s "
            f"{r['unchanged'] / r['floor']:>6.1%} {r['changed']:>7.3f}s {r['changed'] / r['floor']:>6.1%} {req} "
            f"{r['rss']:>6.1f}MB {r['rss'] / r['floor_rss']:>5.2f}x {r['floor_rss']:>7.1f}MB"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--backends", nargs="+", default=["ics", "google", "microsoft"], choices=sorted(WORLDS))
    ap.add_argument("--sizes", type=int, nargs="+", default=[5500], help="ics: calendar sizes (network backends: the smallest)")
    ap.add_argument("--resources", type=int, default=2000, help="radicale: resources (one per UID)")
    ap.add_argument("--cycles", type=int, default=5, help="cycles of each kind (unchanged, changed, unchanged again)")
    ap.add_argument("--interval", type=float, default=3.0, help="boundaryd run --interval (> 2 s: ics reads a file "
                    "stamped within 2 s of the last read again)")
    ap.add_argument("--code", type=Path, default=ROOT / "daemon", help="the daemon/ folder the daemon runs from")
    ap.add_argument("--json", action="store_true", help="also print the rows as JSON")
    ap.add_argument("--trace", action="store_true", help="each step and each sync on stderr")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    ap.add_argument("--floor", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.floor:
        print(json.dumps(child_floor(Path(args.floor[0]), datetime.fromisoformat(args.floor[1]))))
        return 0
    rows = []
    for kind in args.backends:
        sizes = sorted(args.sizes) if kind == "ics" else [args.resources] if kind == "radicale" else [min(args.sizes)]
        for size in sizes:
            rows.append(run_one(kind, size, cycles=args.cycles, interval=args.interval, code=args.code, trace=args.trace))
    print(table(rows))
    print(f"CPU seconds per sync cycle of `boundaryd run --interval {args.interval:g}` (medians of {args.cycles}/"
          f"{2 * args.cycles}); ratios to the floor (one icalendar parse + recurring-ical-events expansion, same run); "
          "requests to the stand-in (API + sign-in) per cycle")
    missed = [m for r in rows for m in missed_goals(r)]
    print("goals met" if not missed else "goals missed: " + "; ".join(missed))
    if args.json:
        print(json.dumps(rows))
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(main())
