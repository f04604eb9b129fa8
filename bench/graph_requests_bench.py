"""Microsoft Graph requests per sync cycle, through the whole program (App -> planner -> executor).

Runs against the tests' local Graph stand-in (tests/fake_graph.py: HTTPS on 127.0.0.1, the real
MSAL device-code sign-in first), never the network:

    .venv/bin/python bench/graph_requests_bench.py

Prints one line per cycle: Graph requests (and sign-in requests, which MSAL makes only to refresh
a token or, once per process, to discover the authority). The contract: an unchanged calendar
costs 1 Graph request; one new conflicting invitation costs 2 (the delta, and the decline).
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "daemon"))

from boundaryd.calendars import graph_auth
from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App
from clirun import BLOCKS, invite
from contract_graph import graph_body
from fake_graph import CLIENT_ID, FakeGraph, sign_in

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
OWNER = "alice@example.com"
RULES = """\
version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [{owner}]}}
working_hours: {{days: weekdays, start: "08:00", end: "18:00"}}
calendar:
  microsoft: {{calendar: primary, client_id: {client}, token_file: {token}, authority: "{authority}",
               api_endpoint: "{endpoint}"}}
defaults: {{decline_existing: true}}
blocks:
{blocks}"""


def put(fake: FakeGraph, summary: str, start: datetime) -> None:
    body = graph_body(invite(f"{summary}@bench", summary, start))
    uid = body.pop("iCalUId")
    with fake.lock:
        fake.store.create(body, {"emailAddress": {"address": "bob@client.example"}})["iCalUId"] = uid


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeGraph(account=OWNER).start(Path(tmp) / "ca.pem")
        graph_auth.VERIFY = str(fake.ca_file)
        state = Path(tmp) / "state"
        state.mkdir()
        token = state / "microsoft-token.json"
        sign_in(fake, token)
        rules_path = Path(tmp) / "rules.yaml"
        rules_path.write_text(RULES.format(owner=OWNER, client=CLIENT_ID, token=token, authority=fake.authority,
                                           endpoint=fake.api_endpoint, blocks=BLOCKS))
        rules = load_rules(rules_path)
        put(fake, "Existing meeting", NOW.replace(day=24, hour=14))
        results: list[tuple[str, int, int]] = []

        def cycle(label: str, expected: int, minutes: int) -> None:
            grants = len(fake.identity.grants)
            fake.requests.clear()
            App(rules_path, state).sync(rules, NOW + timedelta(minutes=minutes))
            calls = [f"{r.verb} {r.template.rsplit('/', 1)[-1]}" for r in fake.requests]
            signin = len(fake.identity.grants) - grants
            print(f"{label:<48} {len(calls):>3} Graph request(s), {signin} sign-in  {', '.join(calls)}")
            results.append((label, len(calls), expected))

        cycle("first sync (writes the blocks)", -1, 0)
        cycle("next sync (reads the new series' masters once)", -1, 1)
        cycle("unchanged calendar", 1, 2)
        cycle("unchanged calendar, again", 1, 3)
        put(fake, "Intrusion on prospecting", NOW.replace(day=25, hour=9))
        cycle("one new conflicting invitation", 2, 4)
        cycle("after the decline (Graph shows our answer)", 1, 5)
        cycle("unchanged calendar after the decline", 1, 6)
        fake.stop()
        if fake.rejections:
            print(f"FAIL: the OpenAPI description rejected {len(fake.rejections)} request(s)")
            return 1
        bad = [(label, n, e) for label, n, e in results if e >= 0 and n != e]
        for label, n, e in bad:
            print(f"FAIL: {label}: {n} requests, expected {e}")
        return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
