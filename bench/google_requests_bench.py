"""Google Calendar API requests per sync cycle, through the whole program (App -> planner -> executor).

Runs against the tests' local Calendar API (tests/fake_google.py), never the network:

    .venv/bin/python bench/google_requests_bench.py

Prints one line per cycle: reads (events.list, events.get, events.instances) and writes (the
others). The contract, checked on every cycle (exit 1 when missed):
- reads: 1 (the incremental list), whatever happened before: an unchanged calendar, or one
  boundaryd just wrote to (events.list returns our extended properties: nothing is read back);
- writes: exactly the ones the cycle's plan asks for (:func:`expected_writes`, from the plan's
  actions: a block or held offer created is one insert, a decline or a flag one patch, ...).
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "daemon"))

from boundaryd.core.actions import Decline, Flag, RemoveBlock, Undo, Unflag, WriteBlock
from boundaryd.core.model import Plan
from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App
from clirun import BLOCKS  # ordinary block events (allow lists rule out focus time)
from fake_google import FakeGoogle, FakeOAuth, write_token_file
from test_google_sync import NOW, RULES, invitation

READS = ("events.list", "events.get", "events.instances")


def expected_writes(plan: Plan) -> list[str]:
    """The Calendar API writes the plan's actions make. A changed block is an insert with its id,
    refused (409: it exists), then a patch; a removed one a delete (focus time as any block: a
    calendar that refuses it costs one insert more, once, and this bench says so)."""
    out: list[str] = []
    for a in plan.actions:
        if isinstance(a, WriteBlock):
            out += ["events.insert"] + ["events.patch"] * (a.op == "update")
        elif isinstance(a, RemoveBlock):
            out.append("events.delete")
        elif isinstance(a, (Decline, Undo, Flag, Unflag)):
            out.append("events.patch")
    return out


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, FakeGoogle(account="alice@example.com") as google:
        oauth = FakeOAuth(google).start(Path(tmp) / "ca.pem")
        os.environ["REQUESTS_CA_BUNDLE"] = str(oauth.ca_file)
        state = Path(tmp) / "state"
        state.mkdir()
        token = state / "google-token.json"
        write_token_file(token, oauth)
        rules_path = Path(tmp) / "rules.yaml"
        rules_path.write_text(RULES.format(token=token, endpoint=google.api_endpoint, blocks=BLOCKS))
        rules = load_rules(rules_path)
        google.add_event(invitation("Existing meeting", NOW.replace(day=24, hour=14)))
        bad: list[str] = []

        def cycle(label: str, minutes: int) -> None:
            google.reset_counts()
            plan = App(rules_path, state).sync(rules, NOW + timedelta(minutes=minutes)).plan
            methods = [r.method for r in google.requests]
            reads = [m for m in methods if m in READS]
            writes = [m for m in methods if m not in READS]
            want = expected_writes(plan)
            print(f"{label:<44} reads {len(reads)} (expected 1)  writes {len(writes)} (plan: {len(want)})"
                  f"  {', '.join(methods)}")
            if reads != ["events.list"]:
                bad.append(f"{label}: reads {reads}, expected one events.list")
            if sorted(writes) != sorted(want):
                bad.append(f"{label}: writes {writes}, the plan's actions make {want}")

        cycle("first sync (writes the blocks)", 0)
        cycle("next sync (our new events: not read back)", 1)
        cycle("unchanged calendar", 2)
        google.add_event(invitation("Intrusion on prospecting", NOW.replace(day=25, hour=9)))
        cycle("one new conflicting invitation", 3)
        cycle("after the decline and the held offers", 4)
        cycle("unchanged calendar after the decline", 5)
        oauth.stop()
        if google.rejections:
            print(f"FAIL: the discovery document rejected {len(google.rejections)} request(s)")
            return 1
        for line in bad:
            print(f"FAIL: {line}")
        return 1 if bad else 0

if __name__ == "__main__":
    raise SystemExit(main())
