"""The ledger a quiet sync records is not computed again (it is a fixpoint of what the sync saw),
and is computed again the moment anything it is made of changes: the meetings seen, a later
minute that moves a meeting behind ``now``, or another process writing the journal."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from boundaryd.engine.app import App
from clirun import NOW, calendar_of, invite, make_env
from test_report import at


def _ledger_rows(state: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    db = sqlite3.connect(state / "journal.sqlite3")
    try:
        items = sorted(db.execute(  # the record's meetings and make-up events, with the report's minutes
            "SELECT kind, uid, rid, key, start, \"end\", all_day, person, decision, block, lost FROM ledger_items"
            " WHERE kind IN ('meeting', 'makeup')"))
        weeks = sorted(db.execute("SELECT * FROM ledger_weeks"))
    finally:
        db.close()
    return items, weeks


def _ledger_reads(app: App) -> list[str]:
    seen: list[str] = []
    app.journal.db.set_trace_callback(lambda sql: seen.append(sql) if "ledger_items" in sql else None)
    return seen


def _env(tmp_path: Path) -> tuple[App, object, Path]:
    e = make_env(tmp_path)
    e.calendar.write_bytes(calendar_of(
        invite("vip@t", "Portfolio review", at(1, 9), 60, organizer="pat@bigclient.com"),
        invite("bob@t", "Listing review", at(2, 9), 60),
        invite("call@t", "Quick call", at(0, 11, 30), 30),
    ))
    return App(e.rules, e.state), e, e.state


def test_a_quiet_sync_reads_no_ledger_back_and_a_fresh_process_agrees(tmp_path: Path) -> None:
    app, e, state = _env(tmp_path)
    rules = app.load_rules()
    t = datetime.fromisoformat(NOW)
    app.sync(rules, t)
    app.sync(rules, t + timedelta(minutes=1))
    before = _ledger_rows(state)
    reads = _ledger_reads(app)
    app.sync(rules, t + timedelta(minutes=2))
    assert reads == []  # nothing changed: the ledger is neither read back nor written
    assert _ledger_rows(state) == before
    fresh = App(e.rules, state)  # a new process computes the same rows
    fresh.sync(fresh.load_rules(), t + timedelta(minutes=2))
    assert _ledger_rows(state) == before


def test_another_process_writing_the_journal_is_seen_at_the_next_sync(tmp_path: Path) -> None:
    app, _e, state = _env(tmp_path)
    rules = app.load_rules()
    t = datetime.fromisoformat(NOW)
    app.sync(rules, t)
    app.sync(rules, t + timedelta(minutes=1))
    before = _ledger_rows(state)
    assert before[0] and before[1]
    other = sqlite3.connect(state / "journal.sqlite3")
    with other:
        other.execute("UPDATE ledger_items SET lost=999 WHERE uid='vip@t'")  # one the calendar still shows
        other.execute("DELETE FROM ledger_weeks")
    other.close()
    app.sync(rules, t + timedelta(minutes=2))  # the same calendar, the same rules: but the journal changed
    assert _ledger_rows(state) == before


def test_a_meeting_passing_now_or_a_changed_meeting_is_recorded(tmp_path: Path) -> None:
    app, e, state = _env(tmp_path)
    rules = app.load_rules()
    t = datetime.fromisoformat(NOW)
    app.sync(rules, t)
    app.sync(rules, t + timedelta(minutes=1))
    reads = _ledger_reads(app)
    app.sync(rules, at(1, 9, 30))  # Tuesday 9:30: the VIP meeting began, it is kept from the journal now
    assert reads  # computed again
    items = {r[1]: r for r in _ledger_rows(state)[0]}
    assert items["vip@t"][10] == 60  # its lost minutes stay counted
    e.calendar.write_bytes(calendar_of(
        invite("vip@t", "Portfolio review", at(1, 9), 60, organizer="pat@bigclient.com"),
        invite("bob@t", "Listing review", at(2, 9), 60),
        invite("call@t", "Quick call", at(2, 11, 30), 60),  # moved to Wednesday, an hour (half on return calls)
    ))
    app.sync(rules, at(1, 9, 31))
    items = {r[1]: r for r in _ledger_rows(state)[0]}
    assert items["call@t"][4].startswith("2026-11-25") and items["call@t"][10] == 30  # the half hour on return calls
