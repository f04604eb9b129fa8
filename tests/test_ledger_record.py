"""The week's past is recorded once (``ledger_items``), by the planner, before the calendar changes
it describes; the weekly report reads the same rows after the sync."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from boundaryd.engine.app import App
from boundaryd.engine.executor import Executor
from clirun import calendar_of, invite
from conftest import local
from test_makeup import MON, NOW, TUE, makeup_env, makeups_on


def _record(state: Path) -> list[tuple[object, ...]]:
    db = sqlite3.connect(state / "journal.sqlite3")
    try:
        return sorted(db.execute("SELECT kind, key, person, decision, blocks FROM ledger_items"))
    finally:
        db.close()


def test_a_sync_stopped_before_the_calendar_changes_has_recorded_the_week_and_the_next_one_counts_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = makeup_env(tmp_path)
    env.calendar.write_bytes(calendar_of(
        invite("vip@t", "VIP review", local(TUE, 9), organizer="ceo@bigclient.com"),
        invite("bob@t", "Listing review", local(TUE, 10), 30),
    ))
    before = env.calendar.read_bytes()
    app = App(env.rules, env.state)
    rules = app.load_rules()

    def stop(self: Executor, *args: object, **kwargs: object) -> None:
        raise SystemExit("stopped before the calendar changes")

    with monkeypatch.context() as m:
        m.setattr(Executor, "apply", stop)
        with pytest.raises(SystemExit):
            app.sync(rules, NOW)
    assert env.calendar.read_bytes() == before  # nothing written to the calendar yet ...
    recorded = _record(env.state)  # ... but the week's facts are journaled, with organizer and decision
    assert recorded == [
        ("makeup", "prospecting@2026-11-23T11:00", "", "", ""),
        ("meeting", "bob@t|", "bob@client.example", "decline", "prospecting"),
        ("meeting", "vip@t|", "ceo@bigclient.com", "allow", "prospecting"),
    ]
    # the report reads the same rows: the meetings count, the make-up hour not yet on the calendar does not
    out = json.loads(env.run("report", "--now", (NOW + timedelta(minutes=1)).isoformat(), "--json").stdout)
    assert (out["declined"], out["allowed"]) == (1, 1)
    assert (out["blocks"][0]["lost_minutes"], out["blocks"][0]["made_up_minutes"]) == (60, 0)

    App(env.rules, env.state).sync(rules, NOW + timedelta(minutes=1))  # the next sync carries the plan out
    assert makeups_on(env.calendar) == [(local(MON, 11), timedelta(hours=1), "Prospecting calls (make-up)")]
    assert _record(env.state) == recorded  # the same rows, once
    out = json.loads(env.run("report", "--now", (NOW + timedelta(minutes=2)).isoformat(), "--json").stdout)
    assert (out["declined"], out["allowed"]) == (1, 1)
    assert (out["blocks"][0]["lost_minutes"], out["blocks"][0]["made_up_minutes"]) == (60, 60)
