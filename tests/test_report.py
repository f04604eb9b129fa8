"""The weekly boundary ledger: the numbers of a constructed week (pure), a DST week in real
minutes, ``report --json``'s shape from a real sync, and the history the journal keeps across
syncs at different times (past weeks read from the journal, never the calendar again)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from boundaryd.core.ledger import Item, compute, fresh_items, merge, monday_of, week_bounds
from boundaryd.core.model import BlockInstance, Decision, Occurrence
from boundaryd.engine.app import App
from clirun import NOW, OWNER, calendar_of, invite, make_env
from mail_fixtures import conflict, occurrence

TZ = ZoneInfo("America/Toronto")
MONDAY = date(2026, 11, 23)


def at(day: int, hh: int, mm: int = 0, monday: date = MONDAY) -> datetime:
    return datetime.combine(monday + timedelta(days=day), time(hh, mm), TZ)


def _block(bid: str, title: str, target: Any = None) -> Any:
    return SimpleNamespace(id=bid, label=title, weekly_target=target)


def _prospecting(monday: date = MONDAY) -> list[BlockInstance]:
    return [BlockInstance("prospecting", "Prospecting", "prospecting", at(d, 8, 30, monday), at(d, 11, 0, monday))
            for d in range(5)]


def _meeting(uid: str, start: datetime, minutes: int, decision: Decision, organizer: str = "pat@bigclient.com") -> Item:
    return Item("meeting", uid, "", start, start + timedelta(minutes=minutes), person=organizer, decision=decision.value,
                block="prospecting")


def test_an_allowed_vip_over_prospecting_is_lost_time_a_declined_one_is_not() -> None:
    items = [
        _meeting("vip", at(1, 9), 60, Decision.ALLOW),  # let through: 60 minutes lost
        _meeting("overlap", at(1, 9, 30), 60, Decision.FLAG, "kim@staging.example"),  # 30 more (9:30-10:00 counted once)
        _meeting("no", at(2, 9), 60, Decision.DECLINE, "bob@client.example"),  # declined: nothing lost
        _meeting("kept", at(3, 10, 30), 60, Decision.KEEP, "lee@x.example"),  # half on the block: 30
        Item("makeup", "mk", "", at(4, 14), at(4, 15, 15), block="prospecting"),
    ]
    ledger, out = compute(MONDAY, TZ, [_block("prospecting", "Prospecting", timedelta(hours=10))], _prospecting(), items)
    (line,) = ledger.blocks
    assert (line.target_minutes, line.planned_minutes, line.lost_minutes, line.kept_minutes, line.made_up_minutes) == (
        600, 750, 120, 630, 75)
    assert (ledger.declined, ledger.flagged, ledger.allowed) == (1, 1, 1)
    lost = {i.uid: i.lost for i in out if i.kind == "meeting"}
    assert lost == {"vip": 60, "overlap": 60, "no": 0, "kept": 30}  # each meeting's own; the block counts 9:30-10:00 once
    people = [(p.person, p.lost_minutes, p.events) for p in ledger.by_person]
    assert people == [("kim@staging.example", 60, 1), ("pat@bigclient.com", 60, 1), ("lee@x.example", 30, 1)]
    assert ledger.start == at(0, 0) and ledger.end == at(7, 0)


def test_a_dst_week_counts_real_minutes() -> None:
    """Toronto falls back on Sunday 1 Nov 2026: that Sunday has 25 hours, and 00:30-02:30 lasts 3 hours."""
    monday = date(2026, 10, 26)
    ws, we = week_bounds(monday, TZ)
    assert (we - ws) != timedelta(hours=169)  # same-zone arithmetic is wall time: the week is longer than it looks
    assert we.timestamp() - ws.timestamp() == 169 * 3600
    sunday = datetime.combine(date(2026, 11, 1), time(0), TZ)
    night = BlockInstance("night", "Night", "personal", sunday.replace(hour=0, minute=30), sunday.replace(hour=2, minute=30))
    day_off = BlockInstance("sunday", "Day off", "day-off", sunday, sunday + timedelta(days=1), all_day=True)
    meeting = _meeting("late", sunday.replace(hour=1, minute=30), 60, Decision.ALLOW)  # 01:30 EDT + 60 real minutes
    meeting = Item(meeting.kind, meeting.uid, "", meeting.start.astimezone(ZoneInfo("UTC")),
                   meeting.start.astimezone(ZoneInfo("UTC")) + timedelta(minutes=60), person="p@x", decision="allow")
    makeup = Item("makeup", "mk", "", sunday.replace(hour=0, minute=30), sunday.replace(hour=2, minute=30), block="night")
    blocks = [_block("night", "Night"), _block("sunday", "Day off")]
    ledger, _ = compute(monday, TZ, blocks, [night, day_off], [meeting, makeup])
    by = {b.block: b for b in ledger.blocks}
    assert by["sunday"].planned_minutes == 25 * 60
    assert by["night"].planned_minutes == 180 and by["night"].made_up_minutes == 180
    assert by["night"].lost_minutes == 60 and by["sunday"].lost_minutes == 60


def test_fresh_items_and_merge_keep_the_past_and_boundaryds_declines() -> None:
    vip = conflict(occurrence(TZ, uid="vip", organizer="pat@bigclient.com", start=at(1, 9), end=at(1, 10)), Decision.ALLOW)
    own = conflict(occurrence(TZ, uid="own", organizer="", start=at(1, 10), end=at(1, 10, 30)), Decision.FLAG)
    mk = Occurrence("mk@b", None, "Prospecting (make-up)", at(4, 14), at(4, 15), owned_block="makeup:prospecting@2026-11-27T14:00")
    blk = Occurrence("blk@b", None, "Prospecting", at(4, 8, 30), at(4, 11), owned_block="prospecting")
    items = fresh_items([vip, own], [mk, blk], (OWNER,))
    assert [(i.kind, i.uid, i.person, i.block) for i in items] == [
        ("meeting", "vip", "pat@bigclient.com", "prospecting"), ("meeting", "own", OWNER, "prospecting"),
        ("makeup", "mk@b", "", "prospecting")]
    past = _meeting("past", at(0, 9), 60, Decision.ALLOW)
    gone = _meeting("gone", at(3, 9), 60, Decision.FLAG)  # no longer seen, still ahead: moved away or cancelled
    declined = _meeting("declined", at(3, 10), 60, Decision.DECLINE)  # boundaryd's decline: off the view, kept
    merged = merge([past, gone, declined, items[0]], items[:1], at(0, 12))
    assert [i.uid for i in merged] == ["past", "vip", "declined"]
    assert monday_of(at(6, 23, 59), TZ) == MONDAY and monday_of(at(7, 0), TZ) == MONDAY + timedelta(days=7)


# --- through real syncs ------------------------------------------------------------------------------


def _vip_weekly(start: datetime, weeks: int) -> Any:
    return invite("vip@t", "Portfolio review", start, 60, organizer="pat@bigclient.com",
                  rrule={"FREQ": ["WEEKLY"], "COUNT": [str(weeks)]})


def _journal_state(state: Path) -> tuple[int, int]:
    db, wal = state / "journal.sqlite3", state / "journal.sqlite3-wal"
    return db.stat().st_mtime_ns, wal.stat().st_size if wal.exists() else 0


def test_report_json_shape_and_numbers_from_a_real_sync(tmp_path: Path) -> None:
    e = make_env(tmp_path)
    e.calendar.write_bytes(calendar_of(
        invite("vip@t", "Portfolio review", at(1, 9), 60, organizer="pat@bigclient.com"),  # allowed: 60 lost
        invite("bob@t", "Listing review", at(2, 9), 60),  # declined: not lost
        invite("call@t", "Quick call", at(0, 11, 30), 30),  # return calls (flag): 30 lost
    ))
    e.run("sync", "--now", NOW)
    out = json.loads(e.run("report", "--now", NOW, "--json").stdout)
    assert list(out) == ["week", "blocks", "declined", "flagged", "allowed", "by_person", "history"]
    assert out["week"] == {"start": "2026-11-23T00:00:00-05:00", "end": "2026-11-30T00:00:00-05:00"}
    by = {b["block"]: b for b in out["blocks"]}
    assert list(by["prospecting"]) == ["block", "target_minutes", "planned_minutes", "kept_minutes", "lost_minutes",
                                       "made_up_minutes"]
    assert by["prospecting"] == {"block": "prospecting", "target_minutes": None, "planned_minutes": 750,
                                 "kept_minutes": 690, "lost_minutes": 60, "made_up_minutes": 0}
    assert by["call-return"]["planned_minutes"] == 300 and by["call-return"]["lost_minutes"] == 30
    assert by["sunday"]["planned_minutes"] == 1440 and by["sunday"]["lost_minutes"] == 0
    assert (out["declined"], out["flagged"], out["allowed"]) == (1, 1, 1)
    assert out["by_person"] == [{"person": "pat@bigclient.com", "lost_minutes": 60, "events": 1},
                                {"person": "bob@client.example", "lost_minutes": 30, "events": 1}]
    assert out["history"] == []
    text = e.run("report", "--now", NOW).stdout
    assert "Prospecting calls" in text and "12h 30m" in text and "11h 30m" in text and "pat@bigclient.com: 1h" in text


def test_history_over_syncs_across_weeks_and_past_weeks_read_from_the_journal(tmp_path: Path) -> None:
    e = make_env(tmp_path)
    first = date(2026, 11, 2)
    e.calendar.write_bytes(calendar_of(_vip_weekly(at(1, 9, monday=first), 5)))  # Tuesdays 9:00 from 3 Nov
    app = App(e.rules, e.state)
    rules = app.load_rules()
    for week in range(4):  # a sync each Monday morning, and one on Wednesday after the meeting
        app.sync(rules, at(0, 7, monday=first + timedelta(weeks=week)))
        app.sync(rules, at(2, 12, monday=first + timedelta(weeks=week)))
    before = _journal_state(e.state)
    app.sync(rules, at(2, 12, 1, monday=first + timedelta(weeks=3)))  # nothing new: the journal is not written
    assert _journal_state(e.state) == before

    e.calendar.write_bytes(calendar_of())  # the calendar forgets; the journal does not
    app.sync(rules, at(0, 7, monday=MONDAY))  # week 4: nothing on it now
    out = json.loads(e.run("report", "--now", at(3, 12).isoformat(), "--json").stdout)
    assert [h["week"] for h in out["history"]] == ["2026-11-02", "2026-11-09", "2026-11-16"]
    assert all(h["planned_minutes"] - h["kept_minutes"] == 60 for h in out["history"])
    assert out["allowed"] == 0 and out["by_person"] == []

    past = json.loads(e.run("report", "--now", at(3, 12).isoformat(), "--week", "2026-11-11", "--json").stdout)
    pros = next(b for b in past["blocks"] if b["block"] == "prospecting")
    assert (pros["lost_minutes"], past["allowed"]) == (60, 1)
    assert past["by_person"] == [{"person": "pat@bigclient.com", "lost_minutes": 60, "events": 1}]
    assert past["history"][-1]["week"] == "2026-11-02"
    never = e.run("report", "--now", at(3, 12).isoformat(), "--week", "2026-10-01").stdout
    assert "no record of this week" in never and "Planned" not in never
    con = sqlite3.connect(e.state / "journal.sqlite3")
    weeks = [r[0] for r in con.execute("SELECT DISTINCT week FROM ledger_weeks ORDER BY week")]
    assert weeks[:4] == ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]


def test_this_weeks_past_meetings_stay_counted_after_the_sync_that_saw_them(tmp_path: Path) -> None:
    e = make_env(tmp_path)
    e.calendar.write_bytes(calendar_of(invite("vip@t", "Portfolio review", at(1, 9), 60, organizer="pat@bigclient.com"),
                                       invite("bob@t", "Listing review", at(3, 9), 60)))
    e.run("sync", "--now", NOW)
    later = at(2, 12).isoformat()  # Wednesday: Tuesday's meeting is behind the window now
    e.run("sync", "--now", later)
    out = json.loads(e.run("report", "--now", later, "--json").stdout)
    pros = next(b for b in out["blocks"] if b["block"] == "prospecting")
    assert (pros["lost_minutes"], out["allowed"], out["declined"]) == (60, 1, 1)  # the decline is remembered too


def test_demo_ends_with_the_weeks_ledger(tmp_path: Path) -> None:
    e = make_env(tmp_path)
    out = e.run("demo", "--dir", str(tmp_path / "d"), "--now", "2026-11-20T09:00:00-05:00").stdout
    tail = out[out.index("Her week's ledger"):]
    assert "Your boundaries, Nov 23 – 29, 2026" in tail
    # the VIP, the new lead, the urgent offer, the team sync; made up by the make-up events the sync wrote
    assert "Prospecting calls  12h 30m  12h 30m  9h 30m  3h    3h" in tail
    assert "3 declined, 3 flagged, 3 let through by an exception" in tail and "pat@bigclient.com: 1h (1 meeting)" in tail
    assert "casey@newmail.example: 45m (1 meeting)" in tail
    assert len(tail.splitlines()) < 30


def test_an_organizers_address_is_escaped_in_the_page() -> None:
    from boundaryd.core.ledger import Ledger, PersonLine
    from boundaryd.presentation.report import report_html, report_text

    rules = SimpleNamespace(owner=SimpleNamespace(emails=[OWNER], locale="de_DE"), timezone="America/Toronto", tz=TZ)
    ws, we = week_bounds(MONDAY, TZ)
    evil = PersonLine('"<script>alert(1)</script>"@x.example\r\nBcc: y', 30, 1)
    ledger = Ledger(ws, we, (), 0, 0, 1, (evil,))
    page = report_html(rules, ledger)
    assert "<script>" not in page and "&lt;script&gt;" in page
    text = report_text(rules, ledger)
    assert "\r" not in text and "Bcc: y: 30m" in text  # one line
    assert "23.–29. Nov. 2026" in text  # Babel, in the owner's locale


def test_a_meeting_a_busy_from_source_decided_is_no_block_of_the_ledger() -> None:
    """Its ``block`` is ``busy_from:NAME``: counted as a meeting, lost time only where it overlaps a block."""
    away = replace(_meeting("away", at(1, 14), 60, Decision.FLAG), block="busy_from:Family")  # off every block
    over = replace(_meeting("over", at(2, 9), 30, Decision.KEEP, "kim@x.example"), block="busy_from:Family")
    ledger, out = compute(MONDAY, TZ, [_block("prospecting", "Prospecting")], _prospecting(), [away, over])
    assert [b.block for b in ledger.blocks] == ["prospecting"]
    assert ledger.blocks[0].lost_minutes == 30 and (ledger.flagged, ledger.allowed) == (1, 0)
    assert {i.uid: i.lost for i in out} == {"away": 0, "over": 30}
    assert [(p.person, p.lost_minutes) for p in ledger.by_person] == [("kim@x.example", 30)]
