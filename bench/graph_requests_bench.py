"""Microsoft Graph requests per sync cycle, through the whole program (App -> planner -> executor).

Runs against the tests' local Graph stand-in (tests/fake_graph.py: HTTPS on 127.0.0.1, the real
MSAL device-code sign-in first), never the network:

    .venv/bin/python bench/graph_requests_bench.py

Prints one line per cycle: Graph reads (GET) and writes (POST, PATCH, DELETE), and sign-in
requests (MSAL makes them only to refresh a token or, once per process, to discover the authority).
The contract, checked on every cycle (exit 1 when missed):
- reads: 1 (the delta), whatever happened before: an unchanged calendar, or one boundaryd just
  wrote to (its own blocks, held offers, declines are not read back);
- writes: exactly the ones the cycle's plan asks for (:func:`expected_writes`, from the plan's
  actions: a block or held offer created is one POST, a decline one POST, a flag one PATCH, ...).
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
from boundaryd.calendars.graph_events import parse_block, recurrence_of
from boundaryd.core.actions import Decline, Flag, RemoveBlock, Undo, Unflag, WriteBlock
from boundaryd.core.model import Plan
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


def expected_writes(plan: Plan) -> list[str]:
    """The Graph writes the plan's actions make (as the stand-in names them: verb, last path part),
    and the reads writing them needs (a series' skipped dates are found with GET instances)."""
    out: list[str] = []
    for a in plan.actions:
        if isinstance(a, WriteBlock):
            b = parse_block(a.event, TZ, "bench")
            if b["rrule"] is not None and recurrence_of(b) is None:
                raise SystemExit(f"bench: block {a.block} is a rule Graph cannot express; count its single events here")
            out += ["DELETE {event-id}"] * (a.op == "update") + ["POST events"]
            if b["rrule"] is not None and b["exdates"]:
                out += ["GET instances"] + ["DELETE {event-id}"] * len(b["exdates"])
        elif isinstance(a, RemoveBlock):
            out.append("DELETE {event-id}")
        elif isinstance(a, Decline):
            out.append("POST decline")
        elif isinstance(a, Undo):
            out.append("POST " + {"ACCEPTED": "accept"}.get(a.partstat, "tentativelyAccept"))
        elif isinstance(a, (Flag, Unflag)):
            out.append("PATCH {event-id}")
    return out


def is_read(call: str) -> bool:
    return call.startswith("GET ")


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
        bad: list[str] = []

        def cycle(label: str, minutes: int) -> None:
            grants = len(fake.identity.grants)
            fake.requests.clear()
            plan = App(rules_path, state).sync(rules, NOW + timedelta(minutes=minutes)).plan
            calls = [f"{r.verb} {r.template.rsplit('/', 1)[-1]}" for r in fake.requests]
            reads = [c for c in calls if is_read(c)]
            writes = [c for c in calls if not is_read(c)]
            wanted = expected_writes(plan)
            want_reads = ["GET delta()"] + [c for c in wanted if is_read(c)]
            want_writes = [c for c in wanted if not is_read(c)]
            signin = len(fake.identity.grants) - grants
            print(f"{label:<44} reads {len(reads)} (expected {len(want_reads)})  writes {len(writes)}"
                  f" (plan: {len(want_writes)})  sign-in {signin}  {', '.join(calls)}")
            if sorted(reads) != sorted(want_reads):
                bad.append(f"{label}: reads {reads}, expected {want_reads}")
            if sorted(writes) != sorted(want_writes):
                bad.append(f"{label}: writes {writes}, the plan's actions make {want_writes}")

        cycle("first sync (writes the blocks)", 0)
        cycle("next sync (our new series: not read back)", 1)
        cycle("unchanged calendar", 2)
        cycle("unchanged calendar, again", 3)
        put(fake, "Intrusion on prospecting", NOW.replace(day=25, hour=9))
        cycle("one new conflicting invitation", 4)
        cycle("after the decline and the held offers", 5)
        cycle("unchanged calendar after the decline", 6)
        fake.stop()
        if fake.rejections:
            print(f"FAIL: the OpenAPI description rejected {len(fake.rejections)} request(s)")
            return 1
        for line in bad:
            print(f"FAIL: {line}")
        return 1 if bad else 0

if __name__ == "__main__":
    raise SystemExit(main())
