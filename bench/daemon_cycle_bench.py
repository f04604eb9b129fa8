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
events each; Radicale: bench/caldav_cycle_bench.py.

    make bench    # or: .venv/bin/python bench/daemon_cycle_bench.py [--sizes 5500 22000] [--backends ics google microsoft]
                  #     [--cycles 5] [--interval 3] [--code DIR] [--strict]

Goals (issue 12; ``--strict``: exit 1 when one is missed): unchanged cycle <= 2% of the floor on
`ics:` and <= 5% on the network backends; one change <= 25% (`ics:`) and <= 10% (network);
requests per unchanged cycle 1 (Google, Microsoft).
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
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT / "bench", ROOT / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

TZ = ZoneInfo("America/Toronto")
OWNER = "alice@example.com"
SIZES = {50: (5, 45), 5500: (500, 5000), 22000: (2000, 20000)}  # (recurring series, single events)
GOALS = {"ics": (0.02, 0.25), "network": (0.05, 0.10)}  # (unchanged, one change) as a share of the floor
TICK = os.sysconf("SC_CLK_TCK")


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
            if "failing" in watch.syncs[k].status:
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


# --- the calendars ------------------------------------------------------------------------------


def calendar_now() -> datetime:
    return datetime.now(TZ).replace(second=0, microsecond=0)


def generate_around(now: datetime, size: int) -> bytes:
    """plan_bench's busy professional's calendar, around ``now`` (the daemon's wall clock)."""
    import plan_bench

    series, singles = SIZES.get(size, (size // 11, size - size // 11))
    plan_bench.NOW = now
    return plan_bench.generate(series, singles)


def vevents(data: bytes) -> list[Any]:
    import icalendar

    return list(icalendar.Calendar.from_ical(data).walk("VEVENT"))


def window_singles(events: list[Any], now: datetime) -> list[Any]:
    """The single, timed, confirmed events of the window's days 1-13: the ones someone else edits."""
    out = []
    for ev in events:
        start = ev.decoded("DTSTART")
        if ev.get("RRULE") or not isinstance(start, datetime) or str(ev.get("STATUS", "")) == "CANCELLED":
            continue
        aware = start if start.tzinfo else start.replace(tzinfo=TZ)
        if now + timedelta(days=1) <= aware <= now + timedelta(days=13) and str(ev["UID"]).startswith("d"):
            out.append(ev)
    return out


def by_uid(events: list[Any]) -> dict[str, list[Any]]:
    """The calendar's VEVENTs by UID, the master (no RECURRENCE-ID) first."""
    groups: dict[str, list[Any]] = {}
    for ev in events:
        groups.setdefault(str(ev["UID"]), []).append(ev)
    return {u: sorted(evs, key=lambda e: e.get("RECURRENCE-ID") is not None) for u, evs in groups.items()}


class IcsWorld:
    name, network = "ics", False

    def __init__(self, root: Path, data: bytes, targets: list[Any]) -> None:
        self.path = root / "calendar.ics"
        self.path.write_bytes(data)
        self.uids = [str(ev["UID"]).split("@")[0] for ev in targets]
        self.env: dict[str, str] = {}

    def calendar_yaml(self) -> str:
        return f"  ics: {{path: {self.path}}}"

    def requests(self) -> int:
        return 0

    def edit(self, i: int) -> None:
        """Someone else changes one event's title (another event each time), as cycle_bench does."""
        data = self.path.read_bytes()
        for uid in self.uids[i:] + self.uids[:i]:
            plain, marked = f"SUMMARY:Meeting {uid}\r\n".encode(), f"SUMMARY:Meeting {uid}x\r\n".encode()
            for old, new in ((plain, marked), (marked, plain)):
                if old in data:
                    self.path.write_bytes(data.replace(old, new, 1))
                    return
        raise RuntimeError("no event left to edit in the window")

    def close(self) -> None:
        pass


def _local(body: dict[str, Any]) -> dict[str, Any]:
    """Floating times as the owner's local time (the Calendar API wants an offset on every dateTime)."""
    for key in ("start", "end"):
        edt = body[key]
        if "dateTime" in edt and datetime.fromisoformat(edt["dateTime"]).tzinfo is None:
            body[key] = {"dateTime": datetime.fromisoformat(edt["dateTime"]).replace(tzinfo=TZ).isoformat(), "timeZone": TZ.key}
    return body


def _memo_expansion(fake: Any) -> None:
    """The stand-in expands every series on every incremental read (seconds at 500 series, more than
    the interval): remember each expansion by the series' version. The stand-in never changes an
    instance it is handed (it copies before patching, and deep-copies what it answers)."""
    expand, memo = fake._series_instances, {}

    def cached(master: dict[str, Any], mid: str, lo: datetime | None, hi: datetime | None) -> list[dict[str, Any]]:
        key = (mid, master.get("_seq"), json.dumps([master.get("start"), master.get("end"), master.get("recurrence")]), lo, hi)
        if key not in memo:
            memo[key] = expand(master, mid, lo, hi)
        return list(memo[key])

    fake._series_instances = cached


class GoogleWorld:
    """The local Calendar API (plain HTTP on 127.0.0.1) and its OAuth endpoints (HTTPS, a test CA)."""

    name, network = "google", True

    def __init__(self, root: Path, events: list[Any], targets: list[Any], now: datetime) -> None:
        import fake_google
        from contract_servers import google_body
        from fake_google import FakeGoogle, FakeOAuth, Invalid, write_token_file

        # headers and body go out in two writes: without TCP_NODELAY each answer waits ~40 ms for a delayed ACK
        fake_google._Handler.disable_nagle_algorithm = fake_google._OAuthHandler.disable_nagle_algorithm = True
        # the stand-in expands series up to expand_until on every incremental read: keep it near the window
        self.fake = FakeGoogle(account=OWNER, expand_until=now + timedelta(days=45)).start()
        _memo_expansion(self.fake)
        self.oauth = FakeOAuth(self.fake).start(root / "ca.pem")
        (root / "state").mkdir()
        self.token = root / "state" / "google-token.json"
        write_token_file(self.token, self.oauth)
        self.env = {"REQUESTS_CA_BUNDLE": str(self.oauth.ca_file)}
        ids: dict[str, str] = {}
        for uid, (master, *overrides) in by_uid(events).items():
            ids[uid] = self.fake.add_event(_local(google_body(master)))["id"]
            for ov in overrides:
                rid = ov.decoded("RECURRENCE-ID")
                rid = rid.replace(tzinfo=TZ) if isinstance(rid, datetime) and rid.tzinfo is None else rid
                suffix = f"{rid:%Y%m%d}" if not isinstance(rid, datetime) else f"{rid.astimezone(ZoneInfo('UTC')):%Y%m%dT%H%M%SZ}"
                try:
                    self.fake.patch_event(f"{ids[uid]}_{suffix}", {k: v for k, v in _local(google_body(ov)).items()
                                                                    if k not in ("iCalUID", "recurrence")})
                except (Invalid, KeyError):
                    pass  # an override of an instance the stand-in does not expand (past its horizon)
        self.targets = [ids[str(ev["UID"])] for ev in targets]

    def calendar_yaml(self) -> str:
        return f'  google: {{calendar_id: primary, token_file: {self.token}, api_endpoint: "{self.fake.api_endpoint}"}}'

    def requests(self) -> int:
        return len(self.fake.requests) + len(self.oauth.token_requests)

    def edit(self, i: int) -> None:
        eid = self.targets[i % len(self.targets)]
        title = str(self.fake.get_event(eid).get("summary", ""))
        self.fake.patch_event(eid, {"summary": title[:-1] if title.endswith("x") else title + "x"})

    def close(self) -> None:
        self.oauth.stop()
        self.fake.stop()


def _memo_instances(store: Any) -> None:
    """The Graph stand-in expands a series (a deep copy of the master per occurrence) on every request
    that names an occurrence, several times: seconds per cycle at 500 series. Remember each expansion
    by everything it is made of (the master's version, its exceptions and deletions, the range); the
    stand-in never changes what ``instances`` hands out (it copies what it answers)."""
    expand, memo = store.instances, {}

    def cached(master: dict[str, Any], lo: datetime | None, hi: datetime | None) -> list[dict[str, Any]]:
        mid = master["id"]
        mine = sorted((k, v) for k, v in store.overrides.items() if k.startswith(mid + "_"))
        key = (mid, master.get("changeKey"), lo, hi, json.dumps(mine, sort_keys=True, default=str),
               tuple(sorted(store.cancelled.get(mid, ()))))
        if key not in memo:
            memo[key] = expand(master, lo, hi)
        return list(memo[key])

    store.instances = cached


class GraphWorld:
    """The local Microsoft Graph and identity endpoints (HTTPS, a test CA), signed in by MSAL's device code."""

    name, network = "microsoft", True

    def __init__(self, root: Path, events: list[Any], targets: list[Any], now: datetime) -> None:
        import fake_graph
        import fake_graph_store
        from contract_graph import graph_body
        from fake_graph import CLIENT_ID, FakeGraph, sign_in
        from fake_graph_store import stamp

        fake_graph._Handler.disable_nagle_algorithm = True  # as for Google: no 40 ms wait per answer
        fake_graph_store.EXPAND_UNTIL = now + timedelta(days=45)  # it expands every series to there on every read
        self.fake = FakeGraph(account=OWNER).start(root / "ca.pem")
        _memo_instances(self.fake.store)
        self.client_id = CLIENT_ID
        (root / "state").mkdir()
        self.token = root / "state" / "microsoft-token.json"
        from boundaryd.calendars import graph_auth

        graph_auth.VERIFY = str(self.fake.ca_file)
        sign_in(self.fake, self.token)
        self.env = {"REQUESTS_CA_BUNDLE": str(self.fake.ca_file)}
        ids: dict[str, str] = {}
        store = self.fake.store
        with self.fake.lock:
            for uid, (master, *overrides) in by_uid(events).items():
                body = graph_body(master)
                body.pop("iCalUId")
                org = str(master.get("ORGANIZER", "mailto:" + OWNER)).removeprefix("mailto:")
                try:
                    ev = store.create(body, {"emailAddress": {"address": org}})
                except Exception:  # noqa: BLE001 - a shape the stand-in refuses (e.g. a floating series): left out
                    continue
                ev["iCalUId"] = uid
                ids[uid] = ev["id"]
                ex = master.get("EXDATE")
                for group in ex if isinstance(ex, list) else [ex] if ex is not None else []:
                    for d in (d for d in group.dts if isinstance(d.dt, datetime)):
                        store.cancelled.setdefault(ev["id"], set()).add(f"{ev['id']}_{stamp(d.dt)}")
                for ov in overrides:
                    rid = ov.decoded("RECURRENCE-ID")
                    if isinstance(rid, datetime):  # an all-day series' moved day: left out
                        fields = {k: v for k, v in graph_body(ov).items() if k not in ("iCalUId", "recurrence")}
                        store.overrides[f"{ev['id']}_{stamp(rid)}"] = fields
        self.targets = [ids[str(ev["UID"])] for ev in targets if str(ev["UID"]) in ids]

    def calendar_yaml(self) -> str:
        f = self.fake
        return (f"  microsoft: {{calendar: primary, client_id: {self.client_id}, token_file: {self.token}, "
                f'authority: "{f.authority}", api_endpoint: "{f.api_endpoint}"}}')

    def requests(self) -> int:
        return len(self.fake.requests) + len(self.fake.identity.grants)

    def edit(self, i: int) -> None:
        eid = self.targets[i % len(self.targets)]
        with self.fake.lock:
            title = str(self.fake.store.events[eid].get("subject", ""))
            self.fake.store.patch(eid, {"subject": title[:-1] if title.endswith("x") else title + "x"})

    def close(self) -> None:
        self.fake.stop()


class RadicaleWorld:
    """A real Radicale (127.0.0.1), one resource per UID (with its VTIMEZONEs), reached through the
    tests' FaultProxy, which counts the daemon's requests; someone else's edits go to Radicale directly."""

    name, network = "radicale", True

    def __init__(self, root: Path, events: list[Any], targets: list[Any], now: datetime) -> None:
        from concurrent.futures import ThreadPoolExecutor

        import icalendar

        from caldav_servers import FaultProxy
        from dav_servers import start_radicale

        self.server = start_radicale(root / "server")
        self.proxy = FaultProxy(int(self.server.root.rsplit(":", 1)[1].strip("/")))
        zones = list(icalendar.Calendar.from_ical((root / "floor.ics").read_bytes()).walk("VTIMEZONE"))
        self.texts: dict[str, bytes] = {}
        for uid, evs in by_uid(events).items():
            one = icalendar.Calendar()
            one.add("PRODID", "-//boundaryd bench//EN")
            one.add("VERSION", "2.0")
            one.subcomponents = [*zones, *evs]
            self.texts[uid.split("@")[0] + ".ics"] = one.to_ical()
        (root / "resources").mkdir()
        for name, text in self.texts.items():
            (root / "resources" / name).write_bytes(text)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda kv: self._put(*kv), self.texts.items()))
        self.targets = [str(ev["UID"]).split("@")[0] + ".ics" for ev in targets]
        self.env: dict[str, str] = {}

    def _put(self, name: str, text: bytes) -> None:
        from dav_servers import put_event

        if put_event(self.server, name, text) not in (200, 201, 204):
            raise RuntimeError(f"Radicale refused {name}")

    def calendar_yaml(self) -> str:
        return f"  caldav: {{url: {self.proxy.url_for(self.server)}}}"

    def requests(self) -> int:
        return len(self.proxy.requests)

    def edit(self, i: int) -> None:
        name = self.targets[i % len(self.targets)]
        uid = name.removesuffix(".ics")
        text = self.texts[name]
        plain, marked = f"SUMMARY:Meeting {uid}\r\n".encode(), f"SUMMARY:Meeting {uid}x\r\n".encode()
        self.texts[name] = text.replace(plain, marked) if plain in text else text.replace(marked, plain)
        self._put(name, self.texts[name])

    def close(self) -> None:
        self.proxy.close()
        self.server.stop()


WORLDS: dict[str, Any] = {"ics": IcsWorld, "google": GoogleWorld, "microsoft": GraphWorld, "radicale": RadicaleWorld}
FLOOR_OF = {"radicale": "resources"}  # the floor parses what the backend holds: here each resource on its own


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
