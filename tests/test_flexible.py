"""Flexible blocks (SPEC "What sync does" 5): an instance moves away from a meeting let through."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from boundaryd.core.model import BusyEvent
from boundaryd.core.rules import Rules
from boundaryd.errors import BadInput
from clirun import OWNER, Env, calendar_of, invite, make_env
from conftest import TORONTO, local, make_rules, occurrence
from keepweek_world import World

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=TORONTO)  # Monday 05:00
TUE = date(2026, 11, 24)


def rules_with(window: str = '{start: "06:00", end: "10:00"}') -> Rules:
    return make_rules(f"""
- id: workout
  title: Workout
  kind: workout
  days: weekdays
  start: "06:00"
  end: "07:00"
  policy: decline
  flexible: {window}
- id: prospecting
  title: Prospecting calls
  kind: prospecting
  days: weekdays
  start: "08:30"
  end: "11:00"
  policy: decline
""")


def workout_on(blocks: object, day: date) -> list[tuple[datetime, datetime]]:
    return [(b.start, b.end) for b in blocks if b.block == "workout" and b.start.date() == day]  # type: ignore[attr-defined]


def test_a_workout_moves_to_the_earliest_free_time_of_its_window() -> None:
    accepted = occurrence("early@t", local(TUE, 6, 30), 60, me="ACCEPTED")  # 06:30-07:30, already accepted
    w = World(rules_with(), [accepted])
    p = w.sync(NOW)
    assert workout_on(p.blocks, TUE) == [(local(TUE, 7, 30), local(TUE, 8, 30))]
    assert not p.conflicts  # the meeting no longer lands on the workout
    (moved,) = w.owned_of("flex")
    assert (moved.start, moved.end, moved.summary, moved.owned_block) == (local(TUE, 7, 30), local(TUE, 8, 30), "Workout", "flex:workout@2026-11-24")
    again = w.sync(NOW + timedelta(minutes=5))
    assert not again.calendar_changes and not again.conflicts


def test_the_moved_instance_is_protected_where_it_went() -> None:
    accepted = occurrence("early@t", local(TUE, 6, 30), 60, me="ACCEPTED")
    w = World(rules_with(), [accepted])
    w.sync(NOW)
    w.meetings.append(occurrence("late@t", local(TUE, 8), 30))  # an invitation into the moved workout
    p = w.sync(NOW + timedelta(minutes=5))
    (c,) = p.conflicts
    assert (c.occurrence.uid, c.block, c.decision.value) == ("late@t", "workout", "decline")
    assert workout_on(p.blocks, TUE) == [(local(TUE, 7, 30), local(TUE, 8, 30))]


def test_a_meeting_boundaryd_declines_does_not_move_it() -> None:
    w = World(rules_with(), [occurrence("ask@t", local(TUE, 6, 30), 60)])
    p = w.sync(NOW)
    assert workout_on(p.blocks, TUE) == [(local(TUE, 6), local(TUE, 7))]
    assert [c.decision.value for c in p.conflicts] == ["decline"] and w.owned_of("flex") == []


def test_no_free_time_in_the_window_the_instance_stays() -> None:
    accepted = occurrence("early@t", local(TUE, 6, 30), 60, me="ACCEPTED")
    w = World(rules_with('{start: "06:00", end: "07:30"}'), [accepted])
    p = w.sync(NOW)
    assert workout_on(p.blocks, TUE) == [(local(TUE, 6), local(TUE, 7))]
    assert [c.decision.value for c in p.conflicts] == ["flag"] and w.owned_of("flex") == []


def test_flexible_needs_one_timed_span_a_day() -> None:
    with pytest.raises(BadInput, match="flexible"):
        make_rules("""
- {id: calls, days: weekdays, times: ["11:30", "16:30"], duration: 30m, flexible: {start: "08:00", end: "18:00"}}
""")


# --- end to end, through the command, on an iCalendar file -------------------------------------

RULES = """\
version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [{owner}]}}
calendar:
  ics: {{path: {calendar}}}
notify:
  email: {{to: {owner}, from: boundaryd@example.com}}
blocks:
  - {{id: workout, title: Workout, kind: workout, days: weekdays, start: "06:00", end: "07:00", policy: decline,
      flexible: {{start: "06:00", end: "10:00"}}}}
"""


@pytest.fixture
def env(tmp_path: Path) -> Env:
    e = make_env(tmp_path)
    e.write_rules(text=RULES.format(owner=OWNER, calendar=e.calendar))
    e.calendar.write_bytes(calendar_of(invite("early@t", "Breakfast with a client", local(TUE, 6), 60, partstat="ACCEPTED")))
    return e


def test_end_to_end_a_moved_workout(env: Env) -> None:
    out = json.loads(env.run("sync", "--now", NOW.isoformat(), "--json").stdout)
    assert out["conflicts"] == []
    cal = icalendar.Calendar.from_ical(env.calendar.read_bytes())
    (series,) = [c for c in cal.walk("VEVENT") if str(c.get("X-BOUNDARYD-BLOCK")) == "workout"]
    exdates = [d.dt for x in (series["EXDATE"] if isinstance(series["EXDATE"], list) else [series["EXDATE"]]) for d in x.dts]
    assert exdates == [local(TUE, 6)]
    (moved,) = [c for c in cal.walk("VEVENT") if "X-BOUNDARYD-FLEX" in c]
    assert (moved["DTSTART"].dt, moved["DURATION"].dt, str(moved["X-BOUNDARYD-FLEX"])) == (local(TUE, 7), timedelta(hours=1), "workout@2026-11-24")
    week = [b for b in out["blocks"] if b["block"] == "workout" and b["start"].startswith("2026-11-24")]
    assert [b["start"] for b in week] == ["2026-11-24T07:00:00-05:00"]
    before = (env.calendar.read_bytes(), env.calendar.stat().st_mtime_ns)
    again = json.loads(env.run("sync", "--now", (NOW + timedelta(minutes=30)).isoformat(), "--json").stdout)
    assert again["calendar_changes"] == [] and (env.calendar.read_bytes(), env.calendar.stat().st_mtime_ns) == before


def test_a_moved_workout_never_goes_over_a_busy_from_event() -> None:
    """07:30-08:00 is taken on another calendar (``busy_from``): the workout cannot go there."""
    accepted = occurrence("early@t", local(TUE, 6, 30), 60, me="ACCEPTED")
    w = World(rules_with('{start: "06:00", end: "12:00"}'), [accepted])
    w.busy.append(BusyEvent("Family", "school@t", "", "School run", local(TUE, 7, 30), local(TUE, 8)))
    p = w.sync(NOW)
    (s, e), = workout_on(p.blocks, TUE)
    assert not (s < local(TUE, 8) and e > local(TUE, 7, 30)), (s, e)
    assert s >= local(TUE, 8)


def test_the_report_measures_lost_time_where_the_workout_moved(env: Env) -> None:
    """The workout moved to Tuesday 07:00-08:00: a meeting at 07:00-07:30 takes 30 minutes from it
    in the ledger (at its usual 06:00 it would take nothing)."""
    from boundaryd.core.ledger import Item
    from boundaryd.engine.app import App
    from boundaryd.engine.journal_holds import recent
    from boundaryd.engine.journal_ledger import _week

    env.run("sync", "--now", NOW.isoformat())
    app = App(env.rules, env.state)
    rules = app.load_rules()
    talk = Item("meeting", "talk@t", "", local(TUE, 7), local(TUE, 7, 30), person="kim@x.example", decision="keep")
    ledger, items = _week(recent(app.journal, NOW), rules, date(2026, 11, 23), [talk])  # the record's rows
    (line,) = ledger.blocks
    assert (line.planned_minutes, line.lost_minutes) == (300, 30) and [i.lost for i in items] == [30]
