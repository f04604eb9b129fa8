"""HTTP requests per sync cycle on a real Radicale and Xandikos (started here, on 127.0.0.1).

    .venv/bin/python bench/caldav_requests_bench.py
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from boundaryd.app import App  # noqa: E402
from boundaryd.backends import caldav_backend  # noqa: E402
from boundaryd.rules import load_rules  # noqa: E402
from clirun import OWNER, calendar_of, invite  # noqa: E402
from dav_servers import put_event, start_radicale, start_xandikos  # noqa: E402
from test_contract import BLOCKS, RULES  # noqa: E402

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)


def main() -> None:
    for name in ("radicale", "xandikos"):
        tmp = Path(tempfile.mkdtemp(prefix="bd-bench-"))
        server = start_radicale(tmp / "s") if name == "radicale" else start_xandikos(tmp / "s", email=OWNER)
        try:
            for i in range(200):  # a lived-in calendar: 200 events over the next weeks
                start = NOW + timedelta(days=i % 28, hours=5 + i % 9)
                put_event(server, f"e{i}.ics", calendar_of(invite(f"e{i}@bench", f"Meeting {i}", start, 30, organizer=None)))
            rules_path = tmp / "rules.yaml"
            rules_path.write_text(RULES.format(owner=OWNER, calendar=f"  caldav: {{url: {server.url}}}", blocks=BLOCKS))
            rules = load_rules(rules_path)
            app = App(rules_path, tmp / "state")

            def cycle(label: str, minutes: int) -> None:
                before = caldav_backend.REQUESTS["count"]
                app.sync(rules, NOW + timedelta(minutes=minutes))
                print(f"{name:<9} {label:<36} {caldav_backend.REQUESTS['count'] - before:>3} request(s)")

            cycle("first sync (writes the blocks)", 0)
            cycle("reads back its own writes", 1)
            cycle("unchanged calendar", 2)
            cycle("unchanged calendar, again", 3)
            put_event(server, "new.ics", calendar_of(invite("new@bench", "New client", NOW + timedelta(days=1, hours=2))))
            cycle("one new conflicting invitation", 4)
            cycle("unchanged calendar after the decline", 5)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
