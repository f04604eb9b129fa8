"""busy_from: what a quiet cycle costs with a feed source of 500 events, mirrored or not.

Runs against the tests' feed server on 127.0.0.1 (tests/feed_server.py), never the network:

    .venv/bin/python bench/busy_from_bench.py

Prints, for the main calendar alone and with the feed (mirror off, mirror on): the requests the feed
got per unchanged cycle (the contract: 1, answered 304) and the CPU time of an unchanged cycle
(median of 30), as a ratio to the main calendar alone in the same run.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "daemon"))

from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App
from clirun import calendar_of, invite
from feed_server import FeedServer, Route

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
REPS = 30
RULES = """\
version: 1
timezone: America/Toronto
owner: {{emails: [alice@example.com]}}
calendar: {{ics: {{path: {cal}}}}}
blocks:
  - {{id: p, days: weekdays, start: "08:30", end: "11:00", policy: flag}}
{sources}"""


def run(tmp: Path, feed: FeedServer, name: str, sources: str) -> tuple[float, float]:
    cal = tmp / f"{name}.ics"
    cal.write_bytes(calendar_of(invite("m@t", "Meeting", datetime(2026, 11, 24, 9, tzinfo=TZ))))
    rules_path = tmp / f"{name}.yaml"
    rules_path.write_text(RULES.format(cal=cal, sources=sources))
    rules, app = load_rules(rules_path), App(rules_path, tmp / f"state-{name}")
    app.sync(rules, NOW)
    app.sync(rules, NOW + timedelta(seconds=1))  # settled
    time.sleep(2.1)  # past the file cache's timestamp doubt (cycles are a minute apart)
    before = len(feed.hits["/f.ics"])
    times = []
    for k in range(REPS):
        t0 = time.process_time()  # CPU (this process, the feed server's thread included): the machine is shared
        app.sync(rules, NOW + timedelta(seconds=2 + k))
        times.append(time.process_time() - t0)
    return statistics.median(times), (len(feed.hits["/f.ics"]) - before) / REPS


def main() -> int:
    events = [
        invite(f"e{i}@f", f"Event {i}", datetime.combine(date(2026, 11, 23) + timedelta(days=i % 14), dtime(8 + i % 10), TZ),
               30, organizer=None)
        for i in range(500)
    ]
    with tempfile.TemporaryDirectory() as tmp, FeedServer() as feed:
        feed.routes["/f.ics"] = Route(calendar_of(*events))
        url = feed.url("/f.ics")
        alone, _ = run(Path(tmp), feed, "alone", "")
        print(f"main calendar alone: unchanged cycle {alone * 1000:.1f} ms CPU")
        for mirror in ("true", "false"):
            took, requests = run(Path(tmp), feed, f"m{mirror}",
                                 f'busy_from:\n  - {{name: F{mirror}, ics_url: "{url}", mirror: {mirror}}}\n')
            print(f"+ feed of 500 events, mirror {mirror}: unchanged cycle {took * 1000:.1f} ms CPU"
                  f" ({took / alone:.1f}x), {requests:g} request(s) to the feed per cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
