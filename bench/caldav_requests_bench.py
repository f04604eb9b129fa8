"""HTTP requests per sync cycle on a real Radicale and Xandikos (started here, on 127.0.0.1).

    .venv/bin/python bench/caldav_requests_bench.py

Requests are counted on the wire, by a pass-through proxy in front of the server, and listed by
method. "etags" is the same server with sync-collection refused (answered 501 by the proxy), as
a server without RFC 6578 would: boundaryd then compares the collection's ETags.
The contract (SPEC): a cycle with nothing new costs at most 2 requests on CalDAV.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App
from caldav_servers import FaultProxy
from clirun import OWNER, calendar_of, invite
from dav_servers import DavServer, put_event, start_radicale, start_xandikos
from test_contract import BLOCKS, RULES

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
EVENTS = 200


def no_sync_collection(method: str, path: str, body: bytes) -> tuple[str, float] | None:
    return ("status", 501) if method == "REPORT" and b"sync-collection" in body else None


class Bench:
    def __init__(self, label: str, server: DavServer, proxy: FaultProxy, tmp: Path) -> None:
        self.label, self.server, self.proxy = label, server, proxy
        rules_path = tmp / "rules.yaml"
        url = proxy.url_for(server)
        rules_path.write_text(RULES.format(owner=OWNER, calendar=f"  caldav: {{url: {url}}}", blocks=BLOCKS))
        self.rules: Any = load_rules(rules_path)
        self.app = App(rules_path, tmp / "state")

    def cycle(self, what: str, minutes: int) -> int:
        self.proxy.requests.clear()
        t = time.perf_counter()
        self.app.sync(self.rules, NOW + timedelta(minutes=minutes))
        ms = (time.perf_counter() - t) * 1000
        n = len(self.proxy.requests)
        methods = ", ".join(f"{m} x{c}" if c > 1 else m for m, c in Counter(m for m, _ in self.proxy.requests).items())
        print(f"{self.label:<18} {what:<38} {n:>3} request(s) {ms:>7.0f} ms   {methods}")
        return n


def run(name: str, mode: str) -> list[str]:
    tmp = Path(tempfile.mkdtemp(prefix="bd-bench-"))
    server = start_radicale(tmp / "s") if name == "radicale" else start_xandikos(tmp / "s", email=OWNER)
    port = int(server.root.rsplit(":", 1)[1].strip("/"))
    failures = []
    try:
        for i in range(EVENTS):  # a lived-in calendar: events over the next four weeks
            start = NOW + timedelta(days=i % 28, hours=5 + i % 9)
            put_event(server, f"e{i}.ics", calendar_of(invite(f"e{i}@bench", f"Meeting {i}", start, 30, organizer=None)))
        with FaultProxy(port) as proxy:
            if mode == "etags":
                proxy.rule = no_sync_collection
            b = Bench(f"{name} ({mode})", server, proxy, tmp)
            b.cycle("first sync (writes the blocks)", 0)
            b.cycle("reads back its own writes", 1)
            quiet = [b.cycle("unchanged calendar", 2), b.cycle("unchanged calendar, again", 3)]
            put_event(server, "new.ics", calendar_of(invite("new@bench", "New client", NOW + timedelta(days=1, hours=2))))
            b.cycle("one new conflicting invitation", 4)
            quiet.append(b.cycle("unchanged after the decline", 6))
            quiet.append(b.cycle("unchanged", 7))
            if max(quiet[-1:] + quiet[:2]) > 2:
                failures.append(f"{b.label}: a quiet cycle cost {max(quiet)} requests")
    finally:
        server.stop()
    return failures


def main() -> int:
    print(f"{EVENTS} events on the calendar; requests counted on the wire\n")
    failures = []
    for name in ("radicale", "xandikos"):
        for mode in ("sync-collection", "etags"):
            failures += run(name, mode)
            print()
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
