"""Reading calendars: icalendar parses, recurring-ical-events expands, in the rules' zone; bad events are skipped."""

from __future__ import annotations

import importlib.util
import json
import os
import random
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from boundaryd.core.ical import occurrences_of, parse_calendar
from boundaryd.core.model import Occurrence, Skipped
from boundaryd.errors import BadInput
from clirun import make_env

TORONTO = ZoneInfo("America/Toronto")
SYDNEY = ZoneInfo("Australia/Sydney")
UTC = timezone.utc
LO = datetime(2026, 11, 1, tzinfo=TORONTO)
HI = datetime(2026, 12, 31, tzinfo=TORONTO)


def vcal(*events: str, head: str = "") -> str:
    body = "".join(events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\n{head}{body}END:VCALENDAR\r\n"


def vevent(uid: str | None, *lines: str) -> str:
    props = ([f"UID:{uid}"] if uid is not None else []) + ["DTSTAMP:20261101T000000Z", *lines]
    return "BEGIN:VEVENT\r\n" + "".join(p + "\r\n" for p in props) + "END:VEVENT\r\n"


def read(
    text: str | bytes, lo: datetime = LO, hi: datetime = HI, tz: ZoneInfo = TORONTO
) -> tuple[list[Occurrence], list[Skipped]]:
    cal = parse_calendar(text, "cal.ics")
    occs, _owned, skipped = occurrences_of(cal, lo, hi, tz)
    return sorted(occs, key=lambda o: (o.start, o.uid)), skipped


def at(d: date, hh: int, mm: int = 0, tz: ZoneInfo = TORONTO) -> datetime:
    return datetime.combine(d, time(hh, mm), tz)


# --- series --------------------------------------------------------------------------------


def test_series_with_exdate_and_rdate() -> None:
    text = vcal(
        vevent(
            "weekly",
            "SUMMARY:Weekly sync",
            "DTSTART;TZID=America/Toronto:20261102T100000",
            "DTEND;TZID=America/Toronto:20261102T103000",
            "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6",
            "EXDATE;TZID=America/Toronto:20261116T100000",
            "RDATE;TZID=America/Toronto:20261118T150000",
        )
    )
    occs, skipped = read(text)
    assert skipped == []
    starts = [o.start for o in occs]
    assert starts == [
        at(date(2026, 11, 2), 10),
        at(date(2026, 11, 9), 10),
        at(date(2026, 11, 18), 15),  # the RDATE
        at(date(2026, 11, 23), 10),
        at(date(2026, 11, 30), 10),
        at(date(2026, 12, 7), 10),
    ]
    assert all(o.end - o.start == timedelta(minutes=30) for o in occs)
    assert all(o.recurrence_id == o.start for o in occs)  # the original start of each instance
    assert {o.summary for o in occs} == {"Weekly sync"}
    assert len({o.key for o in occs}) == len(occs)


def test_moved_instance_override() -> None:
    text = vcal(
        vevent(
            "standup",
            "SUMMARY:Standup",
            "DTSTART;TZID=America/Toronto:20261123T090000",
            "DURATION:PT15M",
            "RRULE:FREQ=DAILY;COUNT=5",
        ),
        vevent(
            "standup",
            "SUMMARY:Standup (moved)",
            "RECURRENCE-ID;TZID=America/Toronto:20261125T090000",
            "DTSTART;TZID=America/Toronto:20261126T150000",
            "DTEND;TZID=America/Toronto:20261126T160000",
        ),
    )
    occs, skipped = read(text)
    assert skipped == []
    got = [(o.start, o.end - o.start, o.recurrence_id, o.summary) for o in occs]
    assert got == [
        (at(date(2026, 11, 23), 9), timedelta(minutes=15), at(date(2026, 11, 23), 9), "Standup"),
        (at(date(2026, 11, 24), 9), timedelta(minutes=15), at(date(2026, 11, 24), 9), "Standup"),
        (at(date(2026, 11, 26), 9), timedelta(minutes=15), at(date(2026, 11, 26), 9), "Standup"),
        (at(date(2026, 11, 26), 15), timedelta(hours=1), at(date(2026, 11, 25), 9), "Standup (moved)"),
        (at(date(2026, 11, 27), 9), timedelta(minutes=15), at(date(2026, 11, 27), 9), "Standup"),
    ]


def test_cancelled_instance_override_is_read_as_cancelled() -> None:
    text = vcal(
        vevent("s", "DTSTART:20261123T140000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3"),
        vevent("s", "RECURRENCE-ID:20261124T140000Z", "DTSTART:20261124T140000Z", "DURATION:PT1H", "STATUS:CANCELLED"),
    )
    occs, _ = read(text)
    assert [o.status for o in occs] == ["CONFIRMED", "CANCELLED", "CONFIRMED"]


def test_single_event_has_no_recurrence_id_and_window_is_by_start() -> None:
    text = vcal(
        vevent("one", "DTSTART:20261124T150000Z", "DTEND:20261124T160000Z", "SUMMARY:One"),
        vevent("before", "DTSTART:20261031T230000Z", "DTEND:20261101T060000Z"),  # starts before, runs into it
        vevent("at-end", "DTSTART;TZID=America/Toronto:20261231T000000", "DURATION:PT1H"),
    )
    occs, _ = read(text)
    assert [(o.uid, o.recurrence_id) for o in occs] == [("one", None)]
    assert occs[0].start == at(date(2026, 11, 24), 10) and occs[0].start.tzinfo is not None


# --- all-day, floating, zones -----------------------------------------------------------------


def test_all_day_events() -> None:
    text = vcal(
        vevent("one-day", "DTSTART;VALUE=DATE:20261129", "SUMMARY:Birthday"),
        vevent("three-days", "DTSTART;VALUE=DATE:20261127", "DTEND;VALUE=DATE:20261130"),
        vevent("dst-day", "DTSTART;VALUE=DATE:20261101", "DTEND;VALUE=DATE:20261102"),
        vevent("weekly", "DTSTART;VALUE=DATE:20261203", "RRULE:FREQ=WEEKLY;COUNT=2"),
    )
    occs, _ = read(text)
    by = {o.uid + (o.recurrence_id.isoformat() if o.recurrence_id else ""): o for o in occs}
    one = by["one-day"]
    assert one.all_day and (one.start, one.end) == (at(date(2026, 11, 29), 0), at(date(2026, 11, 30), 0))
    three = by["three-days"]
    assert (three.start, three.end) == (at(date(2026, 11, 27), 0), at(date(2026, 11, 30), 0))
    dst = by["dst-day"]  # 25 real hours, one local day
    assert (dst.start.time(), dst.end.time()) == (time(0), time(0))
    assert dst.end.astimezone(UTC) - dst.start.astimezone(UTC) == timedelta(hours=25)
    weekly = sorted(o.start.date() for o in occs if o.uid == "weekly")
    assert weekly == [date(2026, 12, 3), date(2026, 12, 10)]
    assert all(o.all_day for o in occs)
    assert by["weekly2026-12-03"].recurrence_id == date(2026, 12, 3)


@pytest.mark.parametrize("tz", [TORONTO, SYDNEY], ids=["toronto", "sydney"])
def test_floating_events_are_the_owners_wall_clock(tz: ZoneInfo) -> None:
    text = vcal(
        vevent("float", "DTSTART:20261124T100000", "DTEND:20261124T113000"),
        vevent("float-series", "DTSTART:20261130T080000", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=2"),
    )
    occs, _ = read(text, datetime(2026, 11, 1, tzinfo=tz), datetime(2026, 12, 31, tzinfo=tz), tz)
    assert [(o.start, o.end) for o in occs] == [
        (at(date(2026, 11, 24), 10, tz=tz), at(date(2026, 11, 24), 11, 30, tz=tz)),
        (at(date(2026, 11, 30), 8, tz=tz), at(date(2026, 11, 30), 9, tz=tz)),
        (at(date(2026, 12, 1), 8, tz=tz), at(date(2026, 12, 1), 9, tz=tz)),
    ]


def test_x_wr_timezone_feed() -> None:
    """A Google export: UTC times plus X-WR-TIMEZONE; the series follows that zone's DST."""
    text = vcal(
        vevent(
            "g-weekly",
            "SUMMARY:Weekly 10:00 Toronto",
            "DTSTART:20261026T140000Z",  # 10:00 EDT
            "DTEND:20261026T150000Z",
            "RRULE:FREQ=WEEKLY;COUNT=3",
        ),
        vevent("g-float", "DTSTART:20261104T100000", "DTEND:20261104T110000"),
        head="X-WR-CALNAME:Work\r\nX-WR-TIMEZONE:America/Toronto\r\n",
    )
    occs, skipped = read(text, datetime(2026, 10, 20, tzinfo=TORONTO), HI)
    assert skipped == []
    weekly = [o.start for o in occs if o.uid == "g-weekly"]
    assert weekly == [at(date(2026, 10, 26), 10), at(date(2026, 11, 2), 10), at(date(2026, 11, 9), 10)]
    assert [o.start.utcoffset() for o in occs if o.uid == "g-weekly"] == [timedelta(hours=-4), timedelta(hours=-5), timedelta(hours=-5)]
    (fl,) = [o for o in occs if o.uid == "g-float"]
    assert fl.start == at(date(2026, 11, 4), 10)


def test_x_wr_timezone_other_zone() -> None:
    text = vcal(
        vevent("berlin-float", "DTSTART:20261104T100000", "DTEND:20261104T110000"),
        head="X-WR-TIMEZONE:Europe/Berlin\r\n",
    )
    (o,), _ = read(text)
    assert o.start == datetime(2026, 11, 4, 10, tzinfo=ZoneInfo("Europe/Berlin"))
    assert o.start.tzinfo == TORONTO  # reported in the rules' zone


def test_events_in_other_zones() -> None:
    custom = (
        "BEGIN:VTIMEZONE\r\nTZID:Custom Paris\r\n"
        "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n"
        "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
    )
    text = vcal(
        vevent("paris", "DTSTART;TZID=Europe/Paris:20261124T160000", "DURATION:PT1H"),
        vevent("tokyo", "DTSTART;TZID=Asia/Tokyo:20261125T000000", "DTEND;TZID=Asia/Tokyo:20261125T010000"),
        vevent("custom", "DTSTART;TZID=Custom Paris:20261126T160000", "DTEND;TZID=Custom Paris:20261126T170000"),
        vevent("kolkata-series", "DTSTART;TZID=Asia/Kolkata:20261127T203000", "DURATION:PT30M", "RRULE:FREQ=DAILY;COUNT=2"),
        head=custom,
    )
    occs, skipped = read(text)
    assert skipped == []
    assert [(o.uid, o.start) for o in occs] == [
        ("paris", at(date(2026, 11, 24), 10)),
        ("tokyo", at(date(2026, 11, 24), 10)),
        ("custom", at(date(2026, 11, 26), 10)),
        ("kolkata-series", at(date(2026, 11, 27), 10)),
        ("kolkata-series", at(date(2026, 11, 28), 10)),
    ]
    assert all(o.start.tzinfo == TORONTO for o in occs)


def test_people_and_flags_are_read() -> None:
    text = vcal(
        vevent(
            "inv",
            "SUMMARY:Quarterly review",
            "DESCRIPTION:Bring numbers",
            "DTSTART:20261124T150000Z",
            "DURATION:PT1H",
            "ORGANIZER;CN=Bob Client:MAILTO:Bob@Client.Example",
            "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@client.example",
            "ATTENDEE;PARTSTAT=TENTATIVE;CN=Alice:mailto:ALICE@example.com",
            "STATUS:TENTATIVE",
            "TRANSP:TRANSPARENT",
            "CATEGORIES:Work,Conflict",
            "SEQUENCE:3",
        )
    )
    (o,), _ = read(text)
    assert (o.organizer, o.organizer_name) == ("bob@client.example", "Bob Client")
    assert [(a.email, a.partstat) for a in o.attendees] == [("bob@client.example", "ACCEPTED"), ("alice@example.com", "TENTATIVE")]
    assert (o.status, o.transparent, o.sequence) == ("TENTATIVE", True, 3)
    assert set(o.categories) == {"Work", "Conflict"}
    assert o.description == "Bring numbers"


def test_several_vcalendars_and_a_bom() -> None:
    one = vcal(vevent("a", "DTSTART:20261124T150000Z", "DURATION:PT1H"))
    two = vcal(vevent("b", "DTSTART:20261125T150000Z", "DURATION:PT1H"))
    occs, _ = read(one + two)
    assert [o.uid for o in occs] == ["a", "b"]
    occs, _ = read(b"\xef\xbb\xbf" + one.encode())  # a UTF-8 byte order mark, as some exports write
    assert [o.uid for o in occs] == ["a"]
    occs, _ = read("\ufeff" + one)
    assert [o.uid for o in occs] == ["a"]


# --- broken events and bad files ------------------------------------------------------------

BROKEN = vcal(
    vevent("bad-start", "SUMMARY:Bad start", "DTSTART:notadate", "DURATION:PT1H"),
    vevent("bad-rrule", "SUMMARY:Bad rule", "DTSTART:20261124T150000Z", "DURATION:PT1H", "RRULE:FREQ=SOMETIMES"),
    vevent(None, "SUMMARY:No UID here", "DTSTART:20261124T150000Z", "DURATION:PT1H"),
    vevent("no-start", "SUMMARY:Nothing"),
    vevent("good", "SUMMARY:Good one", "DTSTART:20261124T160000Z", "DURATION:PT1H"),
    vevent("good-series", "DTSTART:20261125T160000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=2"),
)


def test_broken_events_are_skipped_with_their_uid() -> None:
    occs, skipped = read(BROKEN)
    assert [o.uid for o in occs] == ["good", "good-series", "good-series"]
    reasons = {s.uid: s.reason for s in skipped}
    assert set(reasons) == {"bad-start", "bad-rrule", "(no UID)", "no-start"}
    assert "DTSTART" in reasons["bad-start"]
    assert "RRULE" in reasons["bad-rrule"] or "SOMETIMES" in reasons["bad-rrule"]
    assert "No UID here" in reasons["(no UID)"]
    assert all(r and "\n" not in r for r in reasons.values())


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is a text file\n",
        b'{"calendar": []}',
        b"BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20261124T150000Z\r\nEND:VEVENT\r\n",
        bytes(range(256)) * 4,
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n",  # cut short
        b"BEGIN:VCALENDAR\r\nthis is not a content line\r\nEND:VCALENDAR\r\n",
    ],
    ids=["empty", "text", "json", "bare-vevent", "binary", "truncated", "garbage-line"],
)
def test_not_a_calendar_is_bad_input(data: bytes) -> None:
    with pytest.raises(BadInput) as info:
        parse_calendar(data, "/some/where/cal.ics")
    (problem,) = info.value.problems
    assert problem.startswith("/some/where/cal.ics: ") and "\n" not in problem
    assert info.value.exit_code == 2


def test_cli_broken_event_is_reported_and_the_rest_enforced(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    env.calendar.write_text(
        vcal(
            vevent("broken-1@x", "SUMMARY:Bad", "DTSTART:20261124T99", "DURATION:PT1H"),
            vevent(
                "clash@x",
                "SUMMARY:Sales pitch",
                "DTSTART;TZID=America/Toronto:20261124T090000",
                "DURATION:PT1H",
                "ORGANIZER:mailto:bob@client.example",
                "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:alice@example.com",
            ),
        ),
        encoding="utf-8",
    )
    p = env.run("plan", "--calendar", f"ics:{env.calendar}", "--now", "2026-11-23T07:00:00-05:00", "--json")
    assert "broken-1@x" in p.stderr
    (line,) = [ln for ln in p.stderr.splitlines() if "broken-1@x" in ln]
    assert line.startswith("boundaryd: ")
    out = json.loads(p.stdout)
    assert [c["event"] for c in out["conflicts"]] == ["clash@x"]
    assert out["conflicts"][0]["decision"] == "decline"
    assert [s["event"] for s in out["skipped"]] == ["broken-1@x"]


@pytest.mark.parametrize("command", ["plan", "sync"])
def test_cli_non_calendar_exit_2_and_file_untouched(tmp_path: Path, command: str) -> None:
    env = make_env(tmp_path)
    env.calendar.write_bytes(b"this is my shopping list\nmilk\neggs\n")
    os.utime(env.calendar, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    before = (env.calendar.read_bytes(), env.calendar.stat().st_mtime_ns)
    p = env.run(command, "--calendar", f"ics:{env.calendar}", "--now", "2026-11-23T07:00:00-05:00", check=2)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("boundaryd: error: ") and str(env.calendar) in lines[0]
    assert "Traceback" not in p.stderr
    assert (env.calendar.read_bytes(), env.calendar.stat().st_mtime_ns) == before
    assert sorted(x.name for x in env.calendar.parent.iterdir() if x.name.startswith(".calendar")) == []


# --- real-world calendars: every .ics shipped in the installed libraries ------------------------


def _shipped_ics() -> list[tuple[str, Path]]:
    out = []
    for pkg in ("recurring_ical_events", "icalendar"):
        spec = importlib.util.find_spec(pkg)
        assert spec is not None and spec.origin is not None
        root = Path(spec.origin).parent
        out += [(f"{pkg}/{p.relative_to(root)}", p) for p in sorted(root.rglob("*.ics"))]
    return out


SHIPPED = _shipped_ics()


def test_there_are_shipped_calendars() -> None:
    assert len(SHIPPED) > 100


@pytest.mark.filterwarnings("ignore:.*globally unique TZID")
@pytest.mark.parametrize("path", [p for _, p in SHIPPED], ids=[i for i, _ in SHIPPED])
@pytest.mark.parametrize("tz", [TORONTO], ids=["toronto"])
def test_shipped_calendar_loads_or_is_bad_input(path: Path, tz: ZoneInfo) -> None:
    data = path.read_bytes()
    try:
        cal = parse_calendar(data, str(path))
    except BadInput as e:
        assert all(p.startswith(f"{path}: ") and "\n" not in p for p in e.problems)
        return
    occs, _owned, skipped = occurrences_of(cal, datetime(1970, 1, 1, tzinfo=tz), datetime(2040, 1, 1, tzinfo=tz), tz)
    for o in occs:
        assert o.start.tzinfo is not None and o.end >= o.start
        assert datetime(1970, 1, 1, tzinfo=tz) <= o.start < datetime(2040, 1, 1, tzinfo=tz)
    assert all(isinstance(s.uid, str) and s.reason for s in skipped)


def test_shipped_calendars_in_another_zone_sample() -> None:
    """The same files read in Sydney (a sample, to keep the suite quick)."""
    rng = random.Random(7)
    for _, path in rng.sample(SHIPPED, 40):
        try:
            cal = parse_calendar(path.read_bytes(), str(path))
        except BadInput:
            continue
        occurrences_of(cal, datetime(2000, 1, 1, tzinfo=SYDNEY), datetime(2030, 1, 1, tzinfo=SYDNEY), SYDNEY)
