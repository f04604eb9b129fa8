"""Properties of the edits boundaryd makes on the owner's copy of a calendar (core/ical.py).

Over random series (time zones with DST, UTC, floating and all-day times; moved instances), a
decline or a flag of one occurrence changes that occurrence only, survives being written and read
back, and doing it a second time changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boundaryd.core.ical import CONFLICT_CATEGORY, decline_in, flag_in, occurrences_of, parse_calendar
from boundaryd.core.model import Occurrence
from test_properties import CHANGE_DAYS, OWNER, ZONES

ORGANIZER = "bob@client.example"
READER_TZ = ZoneInfo("America/Toronto")
PROP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _stamp(t: datetime | date, zone: str | None) -> str:
    """A DTSTART/RECURRENCE-ID-style property value with its parameters: TZID, UTC, floating or DATE."""
    if not isinstance(t, datetime):
        return f";VALUE=DATE:{t:%Y%m%d}"
    if zone == "UTC":
        return f":{t:%Y%m%dT%H%M%S}Z"
    return f";TZID={zone}:{t:%Y%m%dT%H%M%S}" if zone else f":{t:%Y%m%dT%H%M%S}"


@st.composite
def series_calendars(draw: st.DrawFn) -> str:
    """One invitation series (and maybe a lone invitation), the owner invited, an instance perhaps moved."""
    zone = draw(st.sampled_from([*ZONES, None]))  # None: floating
    all_day = draw(st.integers(0, 4)) == 4
    day = draw(st.sampled_from(CHANGE_DAYS)) - timedelta(days=draw(st.integers(0, 6)))
    start: datetime | date = day if all_day else datetime.combine(day, time(draw(st.integers(0, 23)), 15 * draw(st.integers(0, 3))))
    freq = draw(st.sampled_from(["DAILY", "WEEKLY"]))
    count = draw(st.integers(2, 6))
    length = timedelta(days=1) if all_day else timedelta(minutes=30 * draw(st.integers(1, 4)))
    who = [f"ORGANIZER:mailto:{ORGANIZER}", f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{ORGANIZER}"]
    who.append(f"ATTENDEE;CN=Alice;PARTSTAT={draw(st.sampled_from(['NEEDS-ACTION', 'TENTATIVE', 'ACCEPTED']))};RSVP=TRUE:mailto:{OWNER.upper() if draw(st.booleans()) else OWNER}")
    master = ["UID:series", f"DTSTART{_stamp(start, zone)}", f"DTEND{_stamp(start + length, zone)}", f"RRULE:FREQ={freq};COUNT={count}", "SUMMARY:Weekly", *who]
    events = [master]
    if draw(st.booleans()):  # one instance moved by an hour (all-day: a day)
        step = timedelta(days=1 if freq == "DAILY" else 7) * draw(st.integers(1, count - 1))
        shift = timedelta(days=1) if all_day else timedelta(hours=1)
        rid = start + step
        events.append(["UID:series", f"RECURRENCE-ID{_stamp(rid, zone)}", f"DTSTART{_stamp(rid + shift, zone)}", f"DTEND{_stamp(rid + shift + length, zone)}", "SUMMARY:Moved", *who])
    if draw(st.booleans()):
        events.append(["UID:single", f"DTSTART{_stamp(start, zone)}", f"DTEND{_stamp(start + length, zone)}", "SUMMARY:Single", *who])
    body = "".join("BEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\n" + "".join(p + "\r\n" for p in e) + "END:VEVENT\r\n" for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\n{body}END:VCALENDAR\r\n"


def _read(text: str | bytes) -> dict[tuple[str, str], Occurrence]:
    cal = parse_calendar(text, "calendar.ics")
    lo = datetime(2026, 1, 1, tzinfo=READER_TZ)
    occs, _, skipped = occurrences_of(cal, lo, lo + timedelta(days=400), READER_TZ)
    assert skipped == []
    return {o.key: o for o in occs}


def _owner(o: Occurrence) -> str:
    (partstat,) = [a.partstat for a in o.attendees if a.email == OWNER]
    return partstat


@PROP
@given(series_calendars(), st.data())
def test_a_decline_changes_that_occurrence_only_and_once(text: str, data: st.DataObject) -> None:
    before = _read(text)
    key = data.draw(st.sampled_from(sorted(before)))
    cal = parse_calendar(text, "calendar.ics")
    assert decline_in(cal, before[key], [OWNER], "Not then, sorry.", READER_TZ)
    assert not decline_in(cal, before[key], [OWNER], "Not then, sorry.", READER_TZ)  # twice: nothing to do
    after = _read(cal.to_ical())
    assert after.keys() == before.keys()
    assert _owner(after[key]) == "DECLINED"
    assert (after[key].start, after[key].end, after[key].summary) == (before[key].start, before[key].end, before[key].summary)
    assert {k: o for k, o in after.items() if k != key} == {k: o for k, o in before.items() if k != key}
    assert not decline_in(parse_calendar(cal.to_ical(), "again.ics"), after[key], [OWNER], "Not then, sorry.", READER_TZ)


@PROP
@given(series_calendars(), st.data())
def test_a_flag_marks_that_occurrence_only_and_once(text: str, data: st.DataObject) -> None:
    before = _read(text)
    key = data.draw(st.sampled_from(sorted(before)))
    cal = parse_calendar(text, "calendar.ics")
    assert flag_in(cal, before[key], READER_TZ)
    assert not flag_in(cal, before[key], READER_TZ)
    after = _read(cal.to_ical())
    assert after.keys() == before.keys()
    assert CONFLICT_CATEGORY in after[key].categories
    assert (after[key].start, after[key].end, _owner(after[key])) == (before[key].start, before[key].end, _owner(before[key]))
    assert {k: o for k, o in after.items() if k != key} == {k: o for k, o in before.items() if k != key}
    assert not flag_in(parse_calendar(cal.to_ical(), "again.ics"), after[key], READER_TZ)


def test_an_instance_starting_in_a_daylight_saving_gap_keeps_its_length_when_flagged() -> None:
    """Found by the property above: 01:00 does not exist in London on 29 March 2026. The instance
    lasts what the expansion says (here nothing: its end, 02:00 BST, is its start); the override a
    flag writes must not stretch it to a wall-clock hour."""
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\n"
        "UID:series\r\nDTSTART;TZID=Europe/London:20260329T010000\r\nDTEND;TZID=Europe/London:20260329T020000\r\n"
        "RRULE:FREQ=DAILY;COUNT=2\r\nSUMMARY:Daily\r\nORGANIZER:mailto:bob@client.example\r\n"
        f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{OWNER}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    before = _read(text)
    assert len(before) == 2
    for key, occ in before.items():
        cal = parse_calendar(text, "calendar.ics")
        assert flag_in(cal, occ, READER_TZ)
        after = _read(cal.to_ical())[key]
        assert (after.start, after.end) == (occ.start, occ.end)
        assert CONFLICT_CATEGORY in after.categories
