"""Whole syncs (App -> planner -> executor -> GoogleBackend) against the local Calendar API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App
from boundaryd.errors import RuntimeFailure
from fake_google import FakeGoogle, FakeOAuth, check_no_rejections, write_token_file

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
ALICE = "alice@example.com"

BLOCKS = """\
  - id: prospecting
    title: Prospecting calls
    kind: prospecting
    days: weekdays
    start: "08:30"
    end: "11:00"
    policy: decline
  - id: call-return
    kind: call-return
    days: weekdays
    times: ["11:30", "16:30"]
    duration: 30m
    policy: flag
"""
RULES = """\
version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [alice@example.com]}}
calendar:
  google: {{calendar_id: primary, token_file: {token}, api_endpoint: "{endpoint}"}}
defaults: {{decline_existing: true}}
blocks:
{blocks}"""


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with FakeGoogle(account=ALICE) as google:
        oauth = FakeOAuth(google).start(tmp_path / "ca.pem")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(oauth.ca_file))
        state = tmp_path / "state"
        state.mkdir()
        token = state / "google-token.json"
        rt = write_token_file(token, oauth)
        rules_path = tmp_path / "rules.yaml"

        def write_rules(blocks: str = BLOCKS) -> Any:
            rules_path.write_text(RULES.format(token=token, endpoint=google.api_endpoint, blocks=blocks))
            return load_rules(rules_path)

        yield {"google": google, "oauth": oauth, "state": state, "rules_path": rules_path, "write_rules": write_rules,
               "token": token, "refresh_token": rt}
        oauth.stop()
        check_no_rejections(google)


def sync(world: dict[str, Any], rules: Any, minutes: int = 0) -> Any:
    return App(world["rules_path"], world["state"]).sync(rules, NOW + timedelta(minutes=minutes))


def invitation(summary: str, start: datetime, minutes: int = 60, **kw: Any) -> dict[str, Any]:
    body = {"summary": summary,
            "start": {"dateTime": start.isoformat(), "timeZone": "America/Toronto"},
            "end": {"dateTime": (start + timedelta(minutes=minutes)).isoformat(), "timeZone": "America/Toronto"},
            "organizer": {"email": "bob@partner.example"},
            "attendees": [{"email": "bob@partner.example", "responseStatus": "accepted"},
                          {"email": ALICE, "responseStatus": "needsAction"}]}
    body.update(kw)
    return body


def live(google: FakeGoogle) -> list[dict[str, Any]]:
    return [e for e in google.calendar().events.values() if e.get("status") != "cancelled"]


def test_sync_writes_blocks_declines_flags_and_then_costs_one_request(world: dict[str, Any]) -> None:
    google: FakeGoogle = world["google"]
    rules = world["write_rules"]()
    series = google.add_event(invitation("Weekly pipeline", datetime(2026, 11, 24, 9, 0, tzinfo=TZ), 30,
                                         recurrence=["RRULE:FREQ=WEEKLY;BYDAY=TU,SA;COUNT=6"]))
    # Tuesdays on prospecting, Saturdays free: not a standing conflict, declined one by one
    google.add_event(invitation("Quick call", datetime(2026, 11, 25, 11, 30, tzinfo=TZ), 30))
    first = sync(world, rules)
    assert first.declined == 2 and first.flagged == 1
    owned = {e["extendedProperties"]["private"]["boundarydBlock"]: e for e in live(google)
             if "extendedProperties" in e and ":" not in e["extendedProperties"]["private"]["boundarydBlock"]}
    assert sorted(owned) == ["call-return", "prospecting"]  # call-return: one event per time, same block key
    assert len([e for e in live(google) if "extendedProperties" in e]) == 3 + 4  # and 2 held offers per decline
    assert owned["prospecting"]["eventType"] == "focusTime"
    # each declined instance is an exception; the series itself keeps Alice's needsAction
    declined = [n for n in google.notifications if n["responseStatus"] == "declined"]
    assert sorted(n["event"] for n in declined) == [series["id"] + "_20261124T140000Z", series["id"] + "_20261201T140000Z"]
    master = google.get_event(series["id"])
    assert next(a for a in master["attendees"] if a["email"] == ALICE)["responseStatus"] == "needsAction"
    flagged = [e for e in google.list_instances() if e.get("colorId") == "11"]
    assert [e["summary"] for e in flagged] == ["Quick call"]

    google.reset_counts()
    again = sync(world, rules, 1)
    assert google.count() == 1 and again.declined == 0 and not again.plan.calendar_changes


def test_rules_change_updates_and_removes_block_events(world: dict[str, Any]) -> None:
    google: FakeGoogle = world["google"]
    sync(world, world["write_rules"]())
    moved = BLOCKS.replace('end: "11:00"', 'end: "11:30"').split("  - id: call-return")[0]
    result = sync(world, world["write_rules"](moved), 1)
    ops = sorted((c.op, c.block) for c in result.plan.calendar_changes)
    assert ops == [("delete", "call-return"), ("delete", "call-return"), ("update", "prospecting")]
    (block,) = [e for e in live(google) if "extendedProperties" in e]
    assert block["end"]["dateTime"].startswith("2026-11-23T11:30")
    google.reset_counts()
    sync(world, world["write_rules"](moved), 2)
    assert google.count() == 1


def test_revoked_token_fails_the_sync_with_one_line(world: dict[str, Any]) -> None:
    rules = world["write_rules"]()
    write_token_file(world["token"], world["oauth"], expired=True)
    import json

    rt = json.loads(world["token"].read_text())["refresh_token"]
    world["oauth"].revoke(rt)
    with pytest.raises(RuntimeFailure) as info:
        sync(world, rules)
    assert info.value.problems == (f"{world['token']}: Google refused the saved token (run boundaryd auth google)",)
