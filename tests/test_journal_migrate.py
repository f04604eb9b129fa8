"""An old journal opens and keeps its history: schema 3 kept the week's past twice (the planner's
``ledger`` rows, the report's ``ledger_items``); schema 4 keeps it once. ``journal_v3/`` holds a
journal boundaryd wrote at schema 3 (commit 0085684: a week of syncs with make-up time, meetings
let through and declined over two weeks), its calendar, and what that boundaryd showed at
Wednesday noon: the week's report, the week before, and the plan's calendar changes (none)."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

from boundaryd.core.actions import RemoveBlock, WriteBlock
from boundaryd.engine.app import App
from boundaryd.engine.journal_ledger import ledger_of
from boundaryd.presentation.report import ledger_json
from clirun import Env, make_env
from conftest import local
from test_makeup import OWNER, RULES

OLD = Path(__file__).parent / "journal_v3"
T = local(date(2026, 11, 25), 12)  # Wednesday noon: Tuesday's VIP meeting and make-up time are past


def _env(tmp_path: Path) -> Env:
    e = make_env(tmp_path)
    e.write_rules(text=RULES.format(owner=OWNER, calendar=e.calendar, days="[tue, wed, thu, fri]", start="13:00", end="14:00"))
    e.calendar.write_bytes((OLD / "calendar.ics").read_bytes())
    e.state.mkdir(parents=True)
    db = sqlite3.connect(e.state / "journal.sqlite3")
    db.executescript((OLD / "journal.sql").read_text())
    db.close()
    return e


def _views(app: App) -> dict[str, Any]:
    rules = app.load_rules()
    p, snap = app.plan(rules, T)
    changes = sorted([type(a).__name__, a.block if isinstance(a, RemoveBlock) else a.event.block]
                     for a in p.calendar_changes if isinstance(a, (RemoveBlock, WriteBlock)))
    return json.loads(json.dumps({
        "report": ledger_json(ledger_of(app.journal, rules, date(2026, 11, 23), T, (p, snap))),
        "previous_week": ledger_json(ledger_of(app.journal, rules, date(2026, 11, 16), T)),
        "changes": changes,
    }, default=str))


def test_a_schema_3_journal_opens_with_one_record_and_reads_the_same_report_and_make_up(tmp_path: Path) -> None:
    e = _env(tmp_path)
    app = App(e.rules, e.state)
    db = app.journal.db
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("4",)
    assert db.execute("SELECT name FROM sqlite_master WHERE name IN ('ledger', 'ledger_items_3', 'lost_3')").fetchall() == []
    # the planner's rows gained organizer and decision; the report's meetings gained the blocks they took from
    rows = {(k, key): (p, d, b) for k, key, p, d, b in db.execute("SELECT kind, key, person, decision, blocks FROM ledger_items")}
    assert rows[("meeting", "vip-tue@t|")] == ("ceo@bigclient.com", "allow", "prospecting")
    assert rows[("meeting", "bob@t|")] == ("bob@client.example", "decline", "")
    assert ("makeup", "prospecting@2026-11-24T13:00") in rows and len(rows) == 10
    assert _views(app) == json.loads((OLD / "expected.json").read_text())
    # a sync now changes nothing on the calendar and the report reads the same
    e.run("sync", "--now", T.isoformat())
    assert _views(App(e.rules, e.state)) == json.loads((OLD / "expected.json").read_text())


def test_the_migrated_past_meeting_is_what_keeps_the_make_up_time_ahead(tmp_path: Path) -> None:
    """Without Tuesday's VIP meeting in the record, an hour less is made up (Wednesday's hour
    becomes half an hour, Thursday's half hour goes): the migrated row is what the planner reads."""
    e = _env(tmp_path)
    app = App(e.rules, e.state)
    with app.journal.tx() as db:
        db.execute("DELETE FROM ledger_items WHERE key='vip-tue@t|'")
    assert _views(app)["changes"] == [
        ["RemoveBlock", "makeup:prospecting@2026-11-26T13:00"], ["WriteBlock", "makeup:prospecting@2026-11-25T13:00"],
    ]
