"""Block expansion: rules → owned VEVENTs (block_events) → instances (expand_blocks), in the rules' zone."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from boundaryd.core.ical import BLOCK_PROP, block_events
from boundaryd.core.ical_blocks import event_from
from boundaryd.core.icalprops import duration, first, param, text, values, when
from boundaryd.core.model import BlockInstance
from boundaryd.core.rules import Rules
from clirun import make_env
from conftest import instances, local, make_rules

TORONTO = ZoneInfo("America/Toronto")
SYDNEY = ZoneInfo("Australia/Sydney")
UTC = timezone.utc


def spans(found: list[BlockInstance], block: str | None = None) -> list[tuple[datetime, datetime]]:
    return [(b.start, b.end) for b in found if block is None or b.block == block]


def days_of(found: list[BlockInstance], block: str) -> list[date]:
    return [b.start.date() for b in found if b.block == block]


def week(monday: date, tz: ZoneInfo = TORONTO) -> tuple[datetime, datetime]:
    start = datetime.combine(monday, time(0), tz)
    return start, datetime.combine(monday + timedelta(days=7), time(0), tz)


MON = date(2026, 11, 23)  # a Monday, no DST change nearby


# --- days, times, all_day ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "weekdays"),
    [
        ("daily", [0, 1, 2, 3, 4, 5, 6]),
        ("weekdays", [0, 1, 2, 3, 4]),
        ("weekends", [5, 6]),
        ("[mon, wed, fri]", [0, 2, 4]),
        ("[sun]", [6]),
        ("[Tuesday, thu]", [1, 3]),
    ],
)
def test_days(days: str, weekdays: list[int]) -> None:
    r = make_rules(f'- {{id: b, days: {days}, start: "08:30", end: "11:00"}}')
    found = instances(r, *week(MON))
    assert [d.weekday() for d in days_of(found, "b")] == weekdays
    for b in found:
        assert (b.start.time(), b.end.time()) == (time(8, 30), time(11, 0))
        assert b.start.tzinfo is not None and b.start.utcoffset() == timedelta(hours=-5)
        assert not b.all_day


def test_two_weeks_of_weekdays() -> None:
    r = make_rules('- {id: b, days: weekdays, start: "08:30", duration: 2h30m}')
    start = local(MON)
    found = instances(r, start, start + timedelta(days=14))
    assert len(found) == 10
    assert found == sorted(found, key=lambda b: b.start)


def test_times_with_duration() -> None:
    r = make_rules('- {id: calls, title: Return calls, kind: call-return, days: weekdays, times: ["16:30", "11:30"], duration: 30m}')
    found = instances(r, *week(MON))
    assert len(found) == 10
    monday = [(b.start.time(), b.end.time()) for b in found if b.start.date() == MON]
    assert monday == [(time(11, 30), time(12, 0)), (time(16, 30), time(17, 0))]
    assert {(b.title, b.kind) for b in found} == {("Return calls", "call-return")}
    # one owned event per daily start time
    assert [e.uid for e in block_events(r, r.blocks[0], MON)] == ["calls-1130@boundaryd", "calls-1630@boundaryd"]


def test_all_day_block_covers_the_local_day() -> None:
    r = make_rules("- {id: sunday, days: [sun], all_day: true}")
    found = instances(r, *week(MON))
    (b,) = found
    assert b.all_day
    assert b.start == datetime(2026, 11, 29, 0, 0, tzinfo=TORONTO)
    assert b.end == datetime(2026, 11, 30, 0, 0, tzinfo=TORONTO)


def test_rrule_every_other_saturday_since() -> None:
    r = make_rules('- {id: reading, rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", since: 2026-11-07, start: "09:00", duration: 1h}')
    start = local(date(2026, 11, 1))
    found = instances(r, start, start + timedelta(days=42))
    assert days_of(found, "reading") == [date(2026, 11, 7), date(2026, 11, 21), date(2026, 12, 5)]
    assert all((b.start.time(), b.end - b.start) == (time(9), timedelta(hours=1)) for b in found)


@pytest.mark.parametrize("today", [date(2026, 11, 9) + timedelta(days=i) for i in range(14)])
def test_rrule_phase_does_not_depend_on_today(today: date) -> None:
    """An INTERVAL=2 block keeps its weeks, whichever day boundaryd happens to run."""
    r = make_rules('- {id: reading, rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", since: 2026-11-07, start: "09:00", duration: 1h}')
    start = local(today)
    found = days_of(instances(r, start, start + timedelta(days=28)), "reading")
    assert found, today
    assert all((d - date(2026, 11, 7)).days % 14 == 0 for d in found), (today, found)


@pytest.mark.parametrize("today", [date(2026, 11, 9) + timedelta(days=i) for i in range(0, 14, 3)])
def test_rrule_without_since_keeps_one_phase(today: date) -> None:
    r = make_rules('- {id: reading, rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", start: "09:00", duration: 1h}')
    ref = days_of(instances(r, local(date(2026, 11, 9)), local(date(2027, 1, 1))), "reading")
    start = local(today)
    found = days_of(instances(r, start, start + timedelta(days=28)), "reading")
    assert found and set(found) <= set(ref), (today, found, ref)


def test_rrule_monthly() -> None:
    r = make_rules('- {id: review, rrule: "FREQ=MONTHLY;BYDAY=1MO", start: "15:00", end: "16:00"}')
    start = local(date(2026, 11, 1))
    found = instances(r, start, start + timedelta(days=70))
    assert days_of(found, "review") == [date(2026, 11, 2), date(2026, 12, 7), date(2027, 1, 4)]


def test_since_in_the_future() -> None:
    r = make_rules('- {id: b, days: weekdays, since: 2026-11-26, start: "08:30", end: "09:00"}')
    assert days_of(instances(r, *week(MON)), "b") == [date(2026, 11, 26), date(2026, 11, 27)]


# --- skip ---------------------------------------------------------------------------------


def test_skip_dates_per_block_and_for_all() -> None:
    r = make_rules(
        """
        - {id: a, days: weekdays, start: "08:30", end: "11:00"}
        - {id: b, days: weekdays, times: ["11:30", "16:30"], duration: 30m}
        - {id: c, days: daily, all_day: true}
        """,
        extra="skip:\n  - {date: 2026-11-24, blocks: [a, c]}\n  - {date: 2026-11-26}\n",
    )
    found = instances(r, *week(MON))
    assert days_of(found, "a") == [MON, date(2026, 11, 25), date(2026, 11, 27)]
    b_days = days_of(found, "b")
    assert date(2026, 11, 24) in b_days and date(2026, 11, 26) not in b_days and len(b_days) == 8
    assert days_of(found, "c") == [MON + timedelta(days=i) for i in (0, 2, 4, 5, 6)]


# --- intervals ----------------------------------------------------------------------------


def test_crossing_midnight() -> None:
    r = make_rules('- {id: sleep, days: daily, start: "22:00", duration: 9h}')
    found = instances(r, *week(MON))
    first = found[0]
    assert first.start == local(MON, 22)
    assert first.end == local(MON + timedelta(days=1), 7)
    assert first.end - first.start == timedelta(hours=9)
    assert all(b.end.time() == time(7) for b in found)


def test_half_open_window() -> None:
    r = make_rules('- {id: b, days: daily, start: "08:00", end: "09:00"}')
    # a window that ends exactly at a start excludes it; one that starts exactly at an end excludes it
    assert instances(r, local(MON, 9), local(MON + timedelta(days=1), 8)) == []
    got = instances(r, local(MON, 8, 59), local(MON + timedelta(days=1), 8, 1))
    assert spans(got) == [(local(MON, 8), local(MON, 9)), (local(MON + timedelta(days=1), 8), local(MON + timedelta(days=1), 9))]


def test_instance_already_running_at_window_start() -> None:
    r = make_rules('- {id: b, days: daily, start: "08:00", end: "11:00"}')
    got = instances(r, local(MON, 10), local(MON, 12))
    assert spans(got) == [(local(MON, 8), local(MON, 11))]


# --- daylight-saving changes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "switch", "before", "after"),
    [
        ("America/Toronto", date(2026, 3, 8), -5, -4),
        ("America/Toronto", date(2026, 11, 1), -4, -5),
        ("Australia/Sydney", date(2026, 4, 5), 11, 10),
        ("Australia/Sydney", date(2026, 10, 4), 10, 11),
    ],
)
def test_dst_wall_clock_stays(zone: str, switch: date, before: int, after: int) -> None:
    tz = ZoneInfo(zone)
    r = make_rules(
        """
        - {id: pro, days: daily, start: "08:30", end: "11:00"}
        - {id: off, title: Day off, days: daily, all_day: true}
        """.replace("off, title", "dayoff, title"),
        tz=zone,
    )
    start = datetime.combine(switch - timedelta(days=3), time(0), tz)
    found = instances(r, start, start + timedelta(days=7))
    pro = [b for b in found if b.block == "pro"]
    assert len(pro) == 7
    for b in pro:
        assert (b.start.time(), b.end.time()) == (time(8, 30), time(11))
        assert b.end.astimezone(UTC) - b.start.astimezone(UTC) == timedelta(hours=2, minutes=30)
        want = before if b.start.date() < switch else after
        assert b.start.utcoffset() == timedelta(hours=want), b
    # the UTC time of 08:30 moves by an hour across the change
    utc_times = sorted({b.start.astimezone(UTC).time() for b in pro})
    assert len(utc_times) == 2
    days = [b for b in found if b.block == "dayoff"]
    assert len(days) == 7
    for b in days:
        assert b.all_day and b.start.time() == time(0) and b.end.time() == time(0)
        assert b.end.date() - b.start.date() == timedelta(days=1)
        real = b.end.astimezone(UTC) - b.start.astimezone(UTC)
        if b.start.date() == switch:
            assert real == timedelta(hours=24 + (after - before) * -1), (zone, real)
        else:
            assert real == timedelta(hours=24)


@pytest.mark.parametrize("switch", [date(2026, 3, 8), date(2026, 11, 1)])
def test_dst_night_block(switch: date) -> None:
    """A block across the 2 a.m. change keeps its wall clock: 22:00 to 07:00 local."""
    r = make_rules('- {id: sleep, days: daily, start: "22:00", duration: 9h}')
    start = local(switch - timedelta(days=2))
    found = instances(r, start, start + timedelta(days=4))
    assert len(found) == 4
    for b in found:
        assert (b.start.time(), b.end.time()) == (time(22), time(7))
        assert b.end.date() == b.start.date() + timedelta(days=1)


# --- the written VEVENT -------------------------------------------------------------------


def _vevent(rules: Rules, block_id: str, anchor: date = MON) -> list[icalendar.Event]:
    return [event_from(e.ical) for e in block_events(rules, rules.block(block_id), anchor)]


def _recur(ev: icalendar.Event) -> icalendar.vRecur:
    rule = first(ev, "RRULE")
    assert isinstance(rule, icalendar.vRecur), rule
    return rule


def _exdate_lists(ev: icalendar.Event) -> list[icalendar.vDDDLists]:
    """Every EXDATE property (each holds one or more dates, and its own TZID)."""
    lists = values(ev, "EXDATE")
    assert all(isinstance(x, icalendar.vDDDLists) for x in lists), lists
    return [x for x in lists if isinstance(x, icalendar.vDDDLists)]


def _exdates(ev: icalendar.Event) -> list[date]:
    out = []
    for x in _exdate_lists(ev):
        for d in x.dts:
            assert isinstance(d.dt, date), d.dt
            out.append(d.dt)
    return sorted(out)


def test_written_vevent_timed() -> None:
    r = make_rules(
        '- {id: pro, title: Prospecting calls, kind: prospecting, days: weekdays, start: "08:30", end: "11:00", private: true}',
        extra="skip:\n  - {date: 2026-11-25, blocks: [pro]}\n  - {date: 2026-12-25}\n",
    )
    (ev,) = _vevent(r, "pro")
    assert text(ev, "UID") == "pro-0830@boundaryd"
    assert text(ev, "SUMMARY") == "Prospecting calls"
    assert param(first(ev, "DTSTART"), "TZID") == "America/Toronto"
    assert when(ev, "DTSTART") == datetime(2026, 11, 23, 8, 30, tzinfo=TORONTO)
    assert duration(ev) == timedelta(hours=2, minutes=30)
    rrule = _recur(ev)
    assert rrule["FREQ"] == ["WEEKLY"] and rrule["BYDAY"] == ["MO", "TU", "WE", "TH", "FR"]
    assert _exdates(ev) == [datetime(2026, 11, 25, 8, 30, tzinfo=TORONTO), datetime(2026, 12, 25, 8, 30, tzinfo=TORONTO)]
    assert all(param(e, "TZID") == "America/Toronto" for e in _exdate_lists(ev))
    assert text(ev, "TRANSP") == "OPAQUE"
    assert text(ev, "CLASS") == "PRIVATE"
    assert text(ev, BLOCK_PROP) == "pro"
    ical_text = ev.to_ical().decode()
    assert "DTSTART;TZID=America/Toronto:20261123T083000" in ical_text
    assert "X-BOUNDARYD-BLOCK:pro" in ical_text


def test_written_vevent_all_day_and_rrule() -> None:
    r = make_rules(
        """
        - {id: sunday, days: [sun], all_day: true}
        - {id: reading, rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", since: 2026-11-28, start: "09:00", duration: 1h}
        """,
        extra="skip:\n  - {date: 2026-12-06}\n",
    )
    (sun,) = _vevent(r, "sunday")
    assert when(sun, "DTSTART") == date(2026, 11, 29) and when(sun, "DTEND") == date(2026, 11, 30)
    assert _recur(sun)["BYDAY"] == ["SU"]
    assert _exdates(sun) == [date(2026, 12, 6)]
    (rd,) = _vevent(r, "reading")
    assert _recur(rd)["INTERVAL"] == [2] and _recur(rd)["BYDAY"] == ["SA"]
    assert when(rd, "DTSTART") == datetime(2026, 11, 28, 9, 0, tzinfo=TORONTO)
    for ev in (sun, rd):
        assert (text(ev, "TRANSP"), text(ev, "CLASS")) == ("OPAQUE", "PRIVATE")


def test_fingerprint_changes_with_the_definition() -> None:
    a = make_rules('- {id: b, days: weekdays, start: "08:30", end: "11:00"}')
    b = make_rules('- {id: b, days: weekdays, start: "08:30", end: "11:30"}')
    fa = block_events(a, a.blocks[0], MON)[0].fingerprint
    assert fa == block_events(a, a.blocks[0], MON + timedelta(days=3))[0].fingerprint  # not the day it runs
    assert fa != block_events(b, b.blocks[0], MON)[0].fingerprint


# --- the calendar a sync writes expands to the plan's blocks ---------------------------------

SYNC_RULES = """\
version: 1
timezone: America/Toronto
owner: {{emails: [alice@example.com]}}
horizon_days: 14
calendar:
  ics: {{path: {calendar}}}
notify: {{replies: off}}
defaults: {{decline_existing: true}}
blocks:
  - {{id: pro, title: Prospecting calls, days: weekdays, start: "08:30", end: "11:00", policy: decline}}
  - {{id: calls, kind: call-return, days: weekdays, times: ["11:30", "16:30"], duration: 30m}}
  - {{id: sleep, days: daily, start: "22:00", duration: 9h, policy: keep}}
  - {{id: sunday, days: [sun], all_day: true, policy: decline}}
  - {{id: reading, rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", since: 2026-10-03, start: "09:00", duration: 1h}}
skip:
  - {{date: 2026-11-03, blocks: [pro]}}
  - {{date: 2026-11-05}}
"""


@pytest.mark.parametrize("now", ["2026-10-26T07:00:00-04:00", "2026-03-02T12:00:00-05:00"], ids=["november", "march"])
def test_synced_calendar_expands_to_plan_blocks(tmp_path: Path, now: str) -> None:
    env = make_env(tmp_path)
    env.write_rules(text=SYNC_RULES.format(calendar=env.calendar))
    out = json.loads(env.run("sync", "--now", now, "--json").stdout)
    planned = {(b["block"], datetime.fromisoformat(b["start"]), datetime.fromisoformat(b["end"])) for b in out["blocks"]}
    assert len(planned) == len(out["blocks"]) > 30
    lo, hi = datetime.fromisoformat(out["window"]["start"]), datetime.fromisoformat(out["window"]["end"])

    cal = icalendar.Calendar.from_ical(env.calendar.read_bytes())
    assert {str(c["TZID"]) for c in cal.walk("VTIMEZONE")} == {"America/Toronto"}
    written = set()
    for inst in recurring_ical_events.of(cal).between(lo, hi):
        if inst.get(BLOCK_PROP) is None:
            continue
        s, e = inst["DTSTART"].dt, inst["DTEND"].dt
        if not isinstance(s, datetime):  # all-day: the whole local day
            s, e = datetime.combine(s, time(0), TORONTO), datetime.combine(e, time(0), TORONTO)
        written.add((str(inst[BLOCK_PROP]), s.astimezone(TORONTO), e.astimezone(TORONTO)))
    assert written == planned
    # skips are honoured in what was written
    assert not any(b == "pro" and s.date() == date(2026, 11, 3) for b, s, _ in written)
    assert not any(s.date() == date(2026, 11, 5) for _, s, _ in written)

    # a second sync with nothing new writes nothing
    before = (env.calendar.read_bytes(), env.calendar.stat().st_mtime_ns)
    again = json.loads(env.run("sync", "--now", now, "--json").stdout)
    assert again["calendar_changes"] == []
    assert (env.calendar.read_bytes(), env.calendar.stat().st_mtime_ns) == before
