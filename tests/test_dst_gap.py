"""A block that starts in a spring-forward gap (RFC 5545 3.3.5): the time moves forward by the gap
and the block keeps its length, alike when expanded from the events written and when read back."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from boundaryd.core.ical import occurrences_of, parse_calendar, put_block_in
from boundaryd.core.ical_blocks import block_events, expand_blocks, new_calendar
from boundaryd.core.icalprops import existing, timed_span
from boundaryd.core.rules import load_rules_text

TORONTO = ZoneInfo("America/Toronto")  # 2026-03-08: 02:00 EST becomes 03:00 EDT


def _utc(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%H:%MZ")


@pytest.mark.parametrize(
    ("start", "length", "want"),
    [
        ("02:30", "60m", ("03:30", "04:30", "07:30Z", "08:30Z")),  # shifted by the gap, an hour long
        ("02:00", "60m", ("03:00", "04:00", "07:00Z", "08:00Z")),
        ("02:45", "15m", ("03:45", "04:00", "07:45Z", "08:00Z")),  # was 07:45Z-07:00Z: ended before it began
        ("01:30", "60m", ("01:30", "03:30", "06:30Z", "07:30Z")),  # the end in the gap moves forward
        ("01:00", "30m", ("01:00", "01:30", "06:00Z", "06:30Z")),  # before the gap: as written
        ("03:30", "60m", ("03:30", "04:30", "07:30Z", "08:30Z")),  # after it: as written
    ],
)
def test_a_block_in_the_gap_on_the_dst_night(start: str, length: str, want: tuple[str, str, str, str]) -> None:
    data = {
        "version": 1, "timezone": "America/Toronto", "owner": {"emails": ["alice@example.com"]},
        "blocks": [{"id": "night", "days": ["sunday"], "start": start, "duration": length}],
    }
    rules = load_rules_text(json.dumps(data), "rules.yaml")
    events = block_events(rules, rules.blocks[0], date(2026, 3, 1))
    window = datetime(2026, 3, 7, tzinfo=TORONTO), datetime(2026, 3, 10, tzinfo=TORONTO)
    cal = new_calendar()
    for e in events:
        put_block_in(cal, e, datetime(2026, 1, 1, tzinfo=TORONTO))
    read, _, unreadable = occurrences_of(parse_calendar(cal.to_ical(), "calendar.ics"), *window, TORONTO)
    expanded = expand_blocks(rules, events, *window)
    assert unreadable == [] and len(read) == len(expanded) == 1
    for got in (read[0], expanded[0]):
        assert (f"{got.start:%H:%M}", f"{got.end:%H:%M}", _utc(got.start), _utc(got.end)) == want
        assert got.start.tzinfo is TORONTO and got.end.tzinfo is TORONTO
    # the week after, the block is at its wall-clock time again
    later = expand_blocks(rules, events, datetime(2026, 3, 14, tzinfo=TORONTO), datetime(2026, 3, 17, tzinfo=TORONTO))
    assert f"{later[0].start:%H:%M}" == start


def test_existing_times_are_left_alone_and_an_ambiguous_one_keeps_its_fold() -> None:
    fall_back = datetime(2026, 11, 1, 1, 30, tzinfo=TORONTO, fold=1)  # the second 01:30 (EST)
    assert existing(fall_back).fold == 1 and existing(fall_back) == fall_back
    noon = datetime(2026, 3, 8, 12, tzinfo=TORONTO)
    assert timed_span(noon, noon + timedelta(hours=1)) == (noon, noon + timedelta(hours=1))
