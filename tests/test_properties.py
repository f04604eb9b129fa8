"""Properties of the pure core, over random inputs: blocks survive the round trip through the calendar
reader, rules that load survive the round trip through the schema, and every problem is located.

Random blocks use zones whose daylight-saving changes differ (southern hemisphere, half-hour and
negative shifts) and windows around those changes. The planner's properties are in
``test_properties_plan.py``, which draws its blocks from here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from boundaryd.core.ical import (
    block_events,
    expand_blocks,
    new_calendar,
    occurrences_of,
    parse_calendar,
    put_block_in,
)
from boundaryd.core.rules import WEEKDAYS, Rules, json_schema, load_rules_text
from boundaryd.errors import BadInput
from test_rules import LOCATED
from test_rules_schema import Invalid, validate

T = TypeVar("T")
OWNER = "alice@example.com"
ZONES = [
    "America/Toronto",
    "Europe/London",
    "Australia/Sydney",  # summer time from October to April
    "Europe/Dublin",  # tzdata's negative DST: winter is the "saving" time
    "Australia/Lord_Howe",  # a 30-minute shift
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Santiago",
    "Asia/Kolkata",  # no DST
    "UTC",
]
# days on or next to which some zone above changes its clocks (2026)
CHANGE_DAYS = [date(2026, m, d) for m, d in [(3, 8), (3, 29), (4, 5), (9, 6), (9, 27), (10, 4), (10, 25), (11, 1)]]
PROP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- random blocks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockSpec:
    """A block as drawn: its rules-file entry and what its instances must be, computed independently."""

    entry: dict[str, object]
    weekdays: frozenset[int]
    interval: int  # weeks between active weeks (1 unless an INTERVAL rrule)
    since: date | None
    spans: tuple[tuple[time, timedelta], ...]  # empty: all day

    @property
    def id(self) -> str:
        return str(self.entry["id"])


QUARTERS = st.integers(0, 95).map(lambda q: time(q // 4, 15 * (q % 4)))
# early-morning times, where clocks change, are drawn as often as all others
CLOCKS = st.one_of(st.integers(0, 16).map(lambda q: time(q // 4, 15 * (q % 4))), QUARTERS)
LENGTHS = st.integers(1, 14 * 4).map(lambda q: timedelta(minutes=15 * q))


def _hhmm(t: time) -> str:
    return f"{t:%H:%M}"


def _minutes(d: timedelta) -> str:
    return f"{int(d.total_seconds()) // 60}m"


@st.composite
def block_specs(draw: st.DrawFn, bid: str) -> BlockSpec:
    entry: dict[str, object] = {"id": bid}
    weekdays = draw(st.frozensets(st.integers(0, 6), min_size=1))
    interval = draw(st.sampled_from([1, 1, 1, 2, 3]))
    since = draw(st.one_of(st.none(), st.none(), st.dates(date(2025, 12, 1), date(2026, 9, 30))))
    if interval > 1:
        byday = ",".join(WEEKDAYS[d][:2].upper() for d in sorted(weekdays))
        entry["rrule"] = f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={byday}"
    elif weekdays == frozenset(range(5)) and draw(st.booleans()):
        entry["days"] = "weekdays"
    else:
        entry["days"] = [WEEKDAYS[d] for d in sorted(weekdays)]
    if since is not None:
        entry["since"] = since.isoformat()
    form = draw(st.sampled_from(["start+end", "start+duration", "times+duration", "all_day"]))
    spans: tuple[tuple[time, timedelta], ...] = ()
    if form == "all_day":
        entry["all_day"] = True
    elif form == "times+duration":
        starts = sorted(draw(st.sets(CLOCKS, min_size=1, max_size=3)))
        length = draw(LENGTHS)
        entry["times"] = [_hhmm(t) for t in starts]
        entry["duration"] = _minutes(length)
        spans = tuple((t, length) for t in starts)
    else:
        start = draw(CLOCKS)
        if form == "start+end":
            q = draw(st.integers(start.hour * 4 + start.minute // 15 + 1, 96))
            end = time(q // 4, 15 * (q % 4)) if q < 96 else time(23, 59)
            entry["start"], entry["end"] = _hhmm(start), _hhmm(end)
            spans = ((start, datetime.combine(date.min, end) - datetime.combine(date.min, start)),)
        else:
            length = draw(LENGTHS)
            entry["start"], entry["duration"] = _hhmm(start), _minutes(length)
            spans = ((start, length),)
    return BlockSpec(entry, weekdays, interval, since, spans)


@st.composite
def block_sets(draw: st.DrawFn, max_blocks: int = 3) -> list[BlockSpec]:
    n = draw(st.integers(1, max_blocks))
    return [draw(block_specs(f"b{i}")) for i in range(n)]


def rules_data(tz: str, specs: list[BlockSpec], skips: list[tuple[date, str | None]], **extra: object) -> dict[str, object]:
    data: dict[str, object] = {"version": 1, "timezone": tz, "owner": {"emails": [OWNER]}, **extra}
    data["blocks"] = [s.entry for s in specs]
    data["skip"] = [{"date": d.isoformat(), **({"blocks": [b]} if b else {})} for d, b in skips]
    return data


def load(data: dict[str, object]) -> Rules:
    return load_rules_text(json.dumps(data), "rules.yaml")  # JSON is YAML


# --- the instances a block must have, computed without iCalendar ---------------------------------

RRULE_EPOCH = date(2024, 1, 1)  # where a rrule block without since: counts its weeks from (SPEC)


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _first_day(spec: BlockSpec, anchor: date) -> date:
    """The block's first instance: on or after since (else the anchor; a rrule: a fixed epoch)."""
    d = spec.since or (RRULE_EPOCH if spec.interval > 1 else anchor)
    start_week = _monday(d)
    while not (d.weekday() in spec.weekdays and (_monday(d) - start_week).days // 7 % spec.interval == 0):
        d += timedelta(days=1)
    return d


Instance = tuple[str, datetime, datetime, bool]  # block, local wall-clock start and end (naive), all day


def _past_gap(wall: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in a spring-forward gap moved forward by the gap (RFC 5545 3.3.5); any
    other as it is. The gap is where the offset after the change (fold 1) exceeds the one before."""
    shift = wall.replace(tzinfo=zone, fold=1).utcoffset() - wall.replace(tzinfo=zone, fold=0).utcoffset()  # type: ignore[operator]
    return wall + shift if shift > timedelta(0) else wall


def expected_instances(
    spec: BlockSpec, anchor: date, skipped: set[date], first: date, last: date, zone: ZoneInfo
) -> list[Instance]:
    """Instances starting on the days ``first``..``last``, as wall-clock times (SPEC: 08:30 stays
    08:30); a start in a spring-forward gap moves forward by the gap keeping the block's length,
    and an end in a gap moves forward by the gap."""
    begin = _first_day(spec, anchor)
    out: list[Instance] = []
    d = first
    while d <= last:
        week = (_monday(d) - _monday(begin)).days // 7
        if d >= begin and d.weekday() in spec.weekdays and week % spec.interval == 0 and d not in skipped:
            if not spec.spans:
                out.append((spec.id, datetime.combine(d, time(0)), datetime.combine(d + timedelta(days=1), time(0)), True))
            for t, length in spec.spans:
                start = _past_gap(datetime.combine(d, t), zone)
                out.append((spec.id, start, _past_gap(start + length, zone), False))
        d += timedelta(days=1)
    return sorted(out)


def _wall(t: datetime) -> datetime:
    return t.replace(tzinfo=None)


@st.composite
def windows(draw: st.DrawFn) -> tuple[date, int, date]:
    """(first day, number of days, anchor): often around a change of clocks."""
    near = draw(st.sampled_from(CHANGE_DAYS)) + timedelta(days=draw(st.integers(-3, 2)))
    day0 = draw(st.one_of(st.just(near), st.dates(date(2026, 1, 1), date(2027, 6, 30))))
    ndays = draw(st.integers(1, 9))
    anchor = day0 - timedelta(days=draw(st.integers(0, 10)))
    return day0, ndays, anchor


@PROP
@given(
    tz=st.sampled_from(ZONES),
    specs=block_sets(),
    window=windows(),
    skip_offsets=st.lists(st.tuples(st.integers(-2, 9), st.sampled_from([None, "b0", "b1"])), max_size=3),
)
def test_blocks_read_back_are_the_block_instances(
    tz: str, specs: list[BlockSpec], window: tuple[date, int, date], skip_offsets: list[tuple[int, str | None]]
) -> None:
    day0, ndays, anchor = window
    ids = {s.id for s in specs}
    skips = [(day0 + timedelta(days=k), b) for k, b in skip_offsets if b is None or b in ids]
    rules = load(rules_data(tz, specs, skips))
    zone = ZoneInfo(tz)
    start, end = datetime.combine(day0, time(0), zone), datetime.combine(day0 + timedelta(days=ndays), time(0), zone)

    events = [e for b in rules.blocks for e in block_events(rules, b, anchor)]
    cal = new_calendar()
    for e in events:
        put_block_in(cal, e, datetime(2026, 1, 1, tzinfo=zone))
    occs, owned, unreadable = occurrences_of(parse_calendar(cal.to_ical(), "calendar.ics"), start, end, zone)

    assert unreadable == []
    assert sorted((o.uid, o.block, o.fingerprint) for o in owned) == sorted((e.uid, e.block, e.fingerprint) for e in events)
    read_back = sorted((str(o.owned_block), _wall(o.start), _wall(o.end), o.all_day) for o in occs)
    expanded = sorted(
        (b.block, _wall(b.start), _wall(b.end), b.all_day)
        for b in expand_blocks(rules, events, start, end)
        if _wall(start) <= _wall(b.start) < _wall(end)
    )
    expected = sorted(
        i
        for s in specs
        for i in expected_instances(
            s, anchor, {d for d, b in skips if b in (None, s.id)}, day0, day0 + timedelta(days=ndays - 1), zone
        )
    )
    assert read_back == expanded == expected
    event(f"instances: {min(len(expected), 10)}{'+' if len(expected) >= 10 else ''}")
    for o in occs:  # and every instance is an instant in the rules' zone, on the wall clock it names
        assert o.start.tzinfo is zone and o.end.tzinfo is zone


# --- rules: what loads round-trips through the schema; what does not is located -----------------

def mostly(good: st.SearchStrategy[T], bad: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """``good`` nineteen times in twenty: most documents then load, and the rest have a mistake or two."""
    return st.sampled_from(range(20)).flatmap(lambda i: bad if i == 7 else good)  # 7: not a boundary hypothesis favours


TIMEZONES = mostly(st.sampled_from(ZONES), st.sampled_from(["Mars/Olympus", "america/toronto", "Europe/Lodnon"]))
TIMES = mostly(QUARTERS.map(_hhmm), st.sampled_from(["24:00", "8:30", "noon", "07:60"]))
DURATIONS = mostly(
    st.one_of(LENGTHS.map(_minutes), st.sampled_from(["1h30m", "2h", "45m"])), st.sampled_from(["0m", "8d", "90", "200h"])
)
DAYS = mostly(
    st.one_of(
        st.sampled_from(["daily", "weekdays", "weekends"]),
        st.lists(st.sampled_from([*WEEKDAYS, "Tuesday", "THU", "monday", "thurs", " Sun "]), min_size=1, max_size=4),
    ),
    st.sampled_from(["fortnightly", [], ["funday"], "mon"]),
)
POLICIES = mostly(st.sampled_from(["decline", "flag", "keep"]), st.just("ignore"))
EMAILS = mostly(st.sampled_from(["bob@client.example", "*@bigclient.com", "Boss@Example.com"]), st.just("not an address"))
RRULES = mostly(
    st.sampled_from(["FREQ=WEEKLY;BYDAY=SA", "RRULE:FREQ=DAILY;INTERVAL=2", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH"]),
    st.sampled_from(["BYDAY=MO", "FREQ=SOMETIMES", "FREQ=DAILY;DTSTART=20260101"]),
)


def _later_than(start: object) -> st.SearchStrategy[object]:
    """A wall-clock time after ``start`` (when that is one)."""
    m = re.fullmatch(r"(\d\d):(\d\d)", str(start))
    first = int(m[1]) * 4 + int(m[2]) // 15 + 1 if m else 0
    return st.integers(min(first, 95), 95).map(lambda q: _hhmm(time(q // 4, 15 * (q % 4))))


@st.composite
def block_entries(draw: st.DrawFn, bid: str) -> dict[str, object]:
    """A block entry as a person might write it, now and then wrong."""
    b: dict[str, object] = {"id": bid}
    if draw(st.integers(0, 5)) == 0:
        b["rrule"] = draw(RRULES)
    else:
        b["days"] = draw(DAYS)
    shape = draw(mostly(st.sampled_from(["start+end", "start+duration", "times+duration", "all_day"]), st.just("start")))
    if shape == "all_day":
        b["all_day"] = True
    if "start" in shape:
        b["start"] = draw(TIMES)
    if "end" in shape:
        b["end"] = draw(mostly(_later_than(b["start"]), TIMES))  # now and then not after the start
    if "duration" in shape:
        b["duration"] = draw(DURATIONS)
    if "times" in shape:
        b["times"] = draw(st.lists(TIMES, min_size=1, max_size=3))
    for key, values in [
        ("policy", POLICIES),
        ("title", st.text(max_size=20)),
        ("kind", mostly(st.sampled_from(["family", "workout", "buffer", "day-off"]), st.just("nap"))),
        ("private", st.booleans()),
        ("since", st.dates(date(2025, 1, 1), date(2027, 12, 31)).map(date.isoformat)),
        ("message", st.just("Sorry: {alternatives}")),
        ("allow", st.fixed_dictionaries({"people": st.lists(EMAILS, max_size=2), "keywords": st.lists(st.text(max_size=8), max_size=2)})),
    ]:
        if draw(st.integers(0, 3)) == 0:
            b[key] = draw(values)
    if draw(st.integers(0, 29)) == 29:
        b["polcy"] = draw(POLICIES)
    return b


@st.composite
def rules_documents(draw: st.DrawFn) -> dict[str, object]:
    ids = draw(mostly(st.lists(st.sampled_from(["focus", "family", "gym"]), min_size=1, max_size=3, unique=True), st.sampled_from([["focus", "focus"], ["Bad Id"]])))
    assert isinstance(ids, list)
    data: dict[str, object] = {
        "version": 1,
        "timezone": draw(TIMEZONES),
        "owner": {"name": "Alice", "emails": draw(st.lists(EMAILS, min_size=1, max_size=2))},
        "blocks": [draw(block_entries(str(i))) for i in ids],
    }
    if draw(st.booleans()):
        start = draw(st.integers(0, 90))
        wh_start = _hhmm(time(start // 4, 15 * (start % 4)))
        data["working_hours"] = {"days": draw(DAYS), "start": wh_start, "end": draw(mostly(_later_than(wh_start), TIMES))}
    if draw(st.booleans()):
        data["horizon_days"] = draw(mostly(st.integers(1, 366), st.sampled_from([0, 400])))
    if draw(st.booleans()):
        data["defaults"] = {"policy": draw(POLICIES), "decline_accepted": draw(st.booleans())}
    if draw(st.booleans()):
        data["notify"] = {
            "replies": draw(mostly(st.sampled_from(["auto", "outbox", "off"]), st.just("never"))),
            "digest": draw(mostly(st.sampled_from(["immediate", "hourly", "daily 07:30"]), st.sampled_from(["daily 7:30", "weekly"]))),
            "weekly_preview": draw(mostly(st.sampled_from(["sun 18:00", "off", "Friday 16:00", False]), st.just("sun"))),
        }
    if draw(st.booleans()):
        refs = mostly(st.lists(st.sampled_from(ids), max_size=2, unique=True), st.just(["nope"]))
        data["skip"] = [{"date": draw(st.dates(date(2026, 1, 1), date(2026, 12, 31))).isoformat(), "blocks": draw(refs)}]
    return data


def _as_json(data: object) -> object:
    """What an editor's YAML language server validates: dates as strings."""
    return json.loads(json.dumps(data, default=str))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules_documents())
def test_rules_that_load_round_trip_and_the_rest_are_located(data: dict[str, object]) -> None:
    text = yaml.safe_dump(data, sort_keys=False)
    schema = json_schema()
    try:
        rules = load_rules_text(text, "rules.yaml")
    except BadInput as e:
        event("rejected: " + re.sub(r"'[^']*'|\d+", "_", e.problems[0].split(": ", 1)[1])[:50])
        assert e.problems
        n_lines = len(text.splitlines())
        for p in e.problems:
            m = LOCATED.match(p)
            assert m and m["file"] == "rules.yaml" and "\n" not in p, p
            assert 1 <= int(m["line"]) <= n_lines, (p, text)
        lines = text.splitlines()
        for i, line in enumerate(lines, 1):  # an unknown key is reported on its own line
            if re.match(r"^\s*(- )?polcy:", line):
                assert any(re.match(rf"rules\.yaml:{i}:\d+: unknown key 'polcy'", p) for p in e.problems), (e.problems, text)
        return
    event("loaded")
    validate(_as_json(data), schema)  # the schema takes whatever the loader takes
    dumped = rules.model_dump(mode="json", by_alias=True)
    validate(dumped, schema)
    again = load_rules_text(yaml.safe_dump(dumped, sort_keys=False), "again.yaml")
    assert again.model_dump() == rules.model_dump()


def test_the_schema_check_used_here_can_fail() -> None:
    with pytest.raises(Invalid):
        validate({"version": 1, "timezone": "UTC", "owner": {"emails": ["a@b.c"]}, "blocks": [], "polcy": 1}, json_schema())
