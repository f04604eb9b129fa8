"""Make-up time (SPEC "What sync does" 5): a block with ``weekly_target`` keeps its week whole."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import icalendar
import pytest

from boundaryd.core.actions import RememberOwned, RemoveBlock, WriteBlock
from boundaryd.core.ical_owned import role_of
from boundaryd.core.makeup import makeups_of, week_balance
from boundaryd.core.model import BusyEvent
from boundaryd.core.rules import Rules
from clirun import OWNER, Env, calendar_of, invite, make_env
from conftest import TORONTO, local, make_rules, occurrence
from keepweek_world import World, minutes

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TORONTO)  # Monday 07:00
MON, TUE, WED = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)


def prospecting(extra: str = 'weekly_target: 12h30m\n  makeup: {days: weekdays, start: "08:00", end: "18:00", min: 30m}') -> Rules:
    return make_rules(f"""
- id: prospecting
  title: Prospecting calls
  kind: prospecting
  days: weekdays
  start: "08:30"
  end: "11:00"
  policy: decline
  allow: {{people: ["*@bigclient.com"]}}
  {extra}
""")


def vip(start: datetime, mins: int = 60) -> object:
    return occurrence("vip@t", start, mins, summary="VIP review", organizer="ceo@bigclient.com")


def test_a_vip_meeting_over_prospecting_gets_make_up_time_in_the_same_week() -> None:
    w = World(prospecting(), [vip(local(TUE, 9))])
    p = w.sync(NOW)
    (c,) = p.conflicts
    assert c.decision.value == "allow"
    (m,) = w.owned_of("makeup")
    # Monday 08:00-08:30 is too short for the hour: the earliest stretch that takes it whole
    assert (m.start, m.end, m.summary) == (local(MON, 11), local(MON, 12), "Prospecting calls (make-up)")
    assert makeups_of([m]) == [("prospecting", m.start, m.end)] == makeups_of(w.ledger.values())
    (bal,) = week_balance(w.rules, p.conflicts, makeups_of([m]), MON, p.blocks)
    assert (bal.target_minutes, bal.planned_minutes, bal.lost_minutes, bal.made_up_minutes, bal.shortfall_minutes) == (750, 750, 60, 60, 0)
    again = w.sync(NOW + timedelta(minutes=5))  # nothing changed: nothing written, nothing journaled
    assert not again.calendar_changes and not [a for a in again.actions if isinstance(a, RememberOwned)]


def test_a_target_below_planned_needs_no_make_up_for_a_small_loss() -> None:
    w = World(prospecting("weekly_target: 10h"), [vip(local(TUE, 9))])
    w.sync(NOW)
    assert w.owned_of("makeup") == []


def test_make_up_goes_when_the_meeting_is_cancelled_and_is_never_written_in_the_past() -> None:
    w = World(prospecting(), [vip(local(TUE, 9))])
    w.sync(NOW)
    (m,) = w.owned_of("makeup")
    w.replace_meeting("vip@t", status="CANCELLED")
    p = w.sync(NOW + timedelta(hours=1))
    assert [a.block for a in p.calendar_changes if isinstance(a, RemoveBlock)] == [m.owned_block]
    assert not any(r.kind == "lost" for r in w.ledger.values())
    # a meeting let through late on Friday: make-up only in what is left of the week, never before now
    late = World(prospecting(), [vip(local(date(2026, 11, 27), 9), 120)])
    friday = local(date(2026, 11, 27), 8)
    late.sync(friday)
    made = late.owned_of("makeup")
    assert made and all(o.start >= friday and o.start.date() == date(2026, 11, 27) for o in made)
    assert sum(minutes(o) for o in made) == 120


def test_past_losses_and_make_up_still_count_from_the_journal() -> None:
    """Mid-week the Tuesday meeting and Monday's make-up are no longer read: the ledger keeps them."""
    w = World(prospecting(), [vip(local(TUE, 9))])
    w.sync(NOW)
    (m,) = w.owned_of("makeup")
    p = w.sync(local(WED, 7))
    assert not p.calendar_changes  # no second make-up, the first one not deleted
    assert m.uid in w.owned


def test_a_week_with_no_free_make_up_time_writes_nothing_and_reports_the_shortfall() -> None:
    rules = prospecting('weekly_target: 12h30m\n  makeup: {days: weekdays, start: "08:30", end: "11:00"}')
    w = World(rules, [vip(local(TUE, 9))])
    p = w.sync(NOW)
    assert w.owned_of("makeup") == []
    (bal,) = week_balance(rules, p.conflicts, [], MON, p.blocks)
    assert (bal.lost_minutes, bal.made_up_minutes, bal.shortfall_minutes) == (60, 0, 60)


def test_make_up_minutes_are_real_minutes_in_a_dst_week() -> None:
    """Sunday 2026-11-01 01:00-02:00 happens twice in Toronto: 00:30-02:30 on the wall is 3 real hours."""
    rules = prospecting('makeup: {days: [sun], start: "00:30", end: "02:30", min: 30m}')
    fri = date(2026, 10, 30)
    w = World(rules, [vip(local(fri, 8), 180)])  # takes the whole 150 minutes of Friday's block
    now = local(date(2026, 10, 26), 7)
    p = w.sync(now)
    (m,) = w.owned_of("makeup")
    assert minutes(m) == 150 and m.start == local(date(2026, 11, 1), 0, 30)
    assert m.end == datetime(2026, 11, 1, 7, 0, tzinfo=timezone.utc)  # 02:00 EST
    (write,) = [a for a in p.calendar_changes if isinstance(a, WriteBlock) and role_of(a.block)[0] == "makeup"]
    assert icalendar.Event.from_ical(write.event.ical)["DURATION"].dt == timedelta(minutes=150)


# --- end to end, through the command, on an iCalendar file -------------------------------------

RULES = """\
version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [{owner}]}}
working_hours: {{days: weekdays, start: "08:00", end: "18:00"}}
calendar:
  ics: {{path: {calendar}}}
notify:
  email: {{to: {owner}, from: boundaryd@example.com}}
defaults: {{decline_existing: true}}
blocks:
  - id: prospecting
    title: Prospecting calls
    kind: prospecting
    days: weekdays
    start: "08:30"
    end: "11:00"
    policy: decline
    allow: {{people: ["*@bigclient.com"]}}
    weekly_target: 12h30m
    makeup: {{days: {days}, start: "{start}", end: "{end}", min: 30m}}
"""


def makeup_env(tmp_path: Path, days: str = "weekdays", start: str = "08:00", end: str = "18:00") -> Env:
    e = make_env(tmp_path)
    e.write_rules(text=RULES.format(owner=OWNER, calendar=e.calendar, days=days, start=start, end=end))
    return e


def makeups_on(path: Path) -> list[tuple[datetime, timedelta, str]]:
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return sorted((c["DTSTART"].dt, c["DURATION"].dt, str(c["SUMMARY"])) for c in cal.walk("VEVENT") if "X-BOUNDARYD-MAKEUP" in c)


def test_end_to_end_vip_make_up_idempotent_then_gone(tmp_path: Path) -> None:
    env = makeup_env(tmp_path)
    env.calendar.write_bytes(calendar_of(invite("vip@t", "VIP review", local(TUE, 9), organizer="ceo@bigclient.com")))
    out = json.loads(env.run("sync", "--now", NOW.isoformat(), "--json").stdout)
    assert [x["op"] for x in out["calendar_changes"] if x["block"].startswith("makeup:")] == ["create"]
    assert makeups_on(env.calendar) == [(local(MON, 11), timedelta(hours=1), "Prospecting calls (make-up)")]
    before = (env.calendar.read_bytes(), env.calendar.stat().st_mtime_ns)
    again = json.loads(env.run("sync", "--now", (NOW + timedelta(minutes=10)).isoformat(), "--json").stdout)
    assert again["calendar_changes"] == [] and (env.calendar.read_bytes(), env.calendar.stat().st_mtime_ns) == before
    cal = icalendar.Calendar.from_ical(env.calendar.read_bytes())
    for ev in cal.walk("VEVENT"):
        if str(ev["UID"]) == "vip@t":
            ev["STATUS"] = "CANCELLED"
    env.calendar.write_bytes(cal.to_ical())
    env.run("sync", "--now", (NOW + timedelta(minutes=20)).isoformat())
    assert makeups_on(env.calendar) == []


@pytest.mark.parametrize("case", ["dst", "full"])
def test_end_to_end_dst_week_and_a_week_with_no_room(tmp_path: Path, case: str) -> None:
    if case == "dst":
        env = makeup_env(tmp_path, "[sun]", "00:30", "02:30")
        env.calendar.write_bytes(calendar_of(invite("vip@t", "VIP review", local(date(2026, 10, 30), 8), 180, organizer="ceo@bigclient.com")))
        env.run("sync", "--now", "2026-10-26T07:00:00-04:00")
        ((start, length, _),) = makeups_on(env.calendar)
        assert (start, length) == (local(date(2026, 11, 1), 0, 30), timedelta(minutes=150))  # ends 02:00 EST
    else:
        env = makeup_env(tmp_path, "weekdays", "08:30", "11:00")
        env.calendar.write_bytes(calendar_of(invite("vip@t", "VIP review", local(TUE, 9), organizer="ceo@bigclient.com")))
        env.run("sync", "--now", NOW.isoformat())
        assert makeups_on(env.calendar) == []


def test_make_up_time_never_goes_over_a_busy_from_event() -> None:
    """Monday 11:00-12:00 is taken on another calendar (``busy_from``): the hour goes to 12:00."""
    w = World(prospecting(), [vip(local(TUE, 9))])
    w.busy.append(BusyEvent("Family", "recital@t", "", "Recital", local(MON, 11), local(MON, 12)))
    w.sync(NOW)
    (m,) = w.owned_of("makeup")
    assert (m.start, m.end) == (local(MON, 12), local(MON, 13))
