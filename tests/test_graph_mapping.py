"""Graph's recurrence patterns and zone names, both ways (pure functions; no stand-in needed)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from dateutil.rrule import rrulestr

from boundaryd.calendars.graph_events import graph_time, parse_time
from boundaryd.calendars.graph_recur import iana_zone, pattern_of, rrule_of, windows_zone
from boundaryd.core.icalprops import recur_from_text

START = date(2026, 11, 23)  # a Monday


@pytest.mark.parametrize("rule", [
    "FREQ=DAILY",
    "FREQ=DAILY;INTERVAL=2;COUNT=5",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270131T235959",
    "FREQ=MONTHLY;BYMONTHDAY=15",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=MONTHLY;BYDAY=2TU;COUNT=6",
    "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1",
    "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
])
def test_patterns_graph_can_express_mean_the_same_dates(rule: str) -> None:
    rec = pattern_of(recur_from_text(rule), START)
    assert rec is not None
    assert rec["range"]["startDate"] == START.isoformat()
    begin = datetime.combine(START, datetime.min.time())
    horizon = begin + timedelta(days=800)
    want = list(rrulestr(rule, dtstart=begin).between(begin, horizon, inc=True))
    got = list(rrulestr(rrule_of(rec), dtstart=begin).between(begin, horizon, inc=True))
    assert got == want and want


@pytest.mark.parametrize("rule", [
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",  # the last working day
    "FREQ=MONTHLY;BYMONTHDAY=1,15",
    "FREQ=HOURLY;INTERVAL=4",
    "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9,14",
    "FREQ=MONTHLY;BYDAY=1MO,3MO",
])
def test_rules_graph_cannot_express_say_so(rule: str) -> None:
    assert pattern_of(recur_from_text(rule), START) is None


@pytest.mark.parametrize("iana, windows", [
    ("America/Toronto", "Eastern Standard Time"),
    ("America/New_York", "Eastern Standard Time"),
    ("Europe/Berlin", "W. Europe Standard Time"),
    ("Asia/Kolkata", "India Standard Time"),
    ("Australia/Sydney", "AUS Eastern Standard Time"),
    ("UTC", "UTC"),
])
def test_zones_are_written_the_windows_way_and_read_back(iana: str, windows: str) -> None:
    from zoneinfo import ZoneInfo

    assert windows_zone(iana) == windows
    back = ZoneInfo(iana_zone(windows))  # the zone CLDR names for it (Asia/Calcutta for Kolkata): same clock
    for day in (datetime(2026, 1, 15, 12), datetime(2026, 7, 15, 12)):
        assert day.replace(tzinfo=back).utcoffset() == day.replace(tzinfo=ZoneInfo(iana)).utcoffset()


def test_a_zone_cldr_does_not_map_is_written_as_utc_at_the_same_instant() -> None:
    from zoneinfo import ZoneInfo

    t = datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("America/Toronto"))
    assert windows_zone("Mars/Olympus") == "UTC"
    written: Any = graph_time(t, "Mars/Olympus")
    assert written == {"dateTime": "2026-11-24T14:00:00", "timeZone": "UTC"}
    assert parse_time(written) == t


def test_graph_times_with_seven_fractional_digits_read() -> None:
    t = parse_time({"dateTime": "2026-11-24T14:00:00.0000000", "timeZone": "UTC"})
    assert t.isoformat() == "2026-11-24T14:00:00+00:00"
    assert parse_time({"dateTime": "2026-11-24T09:00:00", "timeZone": "Eastern Standard Time"}) == t
