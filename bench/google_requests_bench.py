"""Google Calendar API requests per sync cycle, through the whole program (App -> planner -> executor).

Runs against the tests' local Calendar API (tests/fake_google.py), never the network:

    .venv/bin/python bench/google_requests_bench.py

Prints one line per cycle. The contract: an unchanged calendar costs 1 request; one new
conflicting invitation costs 2 (the incremental read, and the decline).
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

from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App
from clirun import BLOCKS  # ordinary block events (allow lists rule out focus time)
from fake_google import FakeGoogle, FakeOAuth, write_token_file
from test_google_sync import NOW, RULES, invitation


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

        results: list[tuple[str, int, int]] = []

        def cycle(label: str, expected: int, minutes: int) -> None:
            google.reset_counts()
            App(rules_path, state).sync(rules, NOW + timedelta(minutes=minutes))
            methods = [r.method for r in google.requests]
            print(f"{label:<40} {len(methods):>3} request(s)  {', '.join(methods)}")
            results.append((label, len(methods), expected))

        cycle("first sync (writes the blocks)", -1, 0)
        cycle("unchanged calendar", 1, 1)
        cycle("unchanged calendar, again", 1, 2)
        google.add_event(invitation("Intrusion on prospecting", NOW.replace(day=25, hour=9)))
        cycle("one new conflicting invitation", 2, 3)
        cycle("unchanged calendar after the decline", 1, 4)
        oauth.stop()
        if google.rejections:
            print(f"FAIL: the discovery document rejected {len(google.rejections)} request(s)")
            return 1
        bad = [(label, n, e) for label, n, e in results if e >= 0 and n != e]
        for label, n, e in bad:
            print(f"FAIL: {label}: {n} requests, expected {e}")
        return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
