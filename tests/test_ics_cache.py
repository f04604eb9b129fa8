"""The `ics:` snapshot cache: an unchanged file is neither read nor parsed again, and the cache
never serves what the file no longer says (same-tick edits, files replaced by rename, our own writes).

Each test opens a new backend per cycle, as the daemon does, so only the process-wide cache carries over.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boundaryd.calendars import ics_chunks, ics_edit, snapcache
from boundaryd.calendars.ics import IcsBackend
from boundaryd.core import ical
from boundaryd.core.model import Memory, Snapshot
from boundaryd.core.planner import plan
from boundaryd.core.rules import load_rules

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
END = NOW + timedelta(days=14)
RULES = load_rules(Path(__file__).resolve().parent.parent / "rules" / "example.yaml")
HOUR_NS = 3600 * 1_000_000_000
_parse = ical.parse_calendar


def vevent(uid: str, day: int, hour: int, summary: str = "Call", extra: str = "") -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261101T000000Z\r\nSUMMARY:{summary}\r\n"
        f"DTSTART;TZID=America/Toronto:202611{day:02d}T{hour:02d}0000\r\n"
        f"DTEND;TZID=America/Toronto:202611{day:02d}T{hour:02d}3000\r\n"
        "ORGANIZER:mailto:bob@client.example\r\n"
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.com\r\n"
        f"{extra}END:VEVENT\r\n"
    )


def calendar(*events: str) -> bytes:
    body = "".join(events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n".encode()


WEEKLY = vevent("weekly", 23, 9, "Weekly sync", "RRULE:FREQ=WEEKLY;COUNT=20\r\n")
FLAGGED = vevent("flagged", 24, 9, "Already marked", "CATEGORIES:Conflict\r\n")


class Counts:
    def __init__(self) -> None:
        self.reads = 0
        self.parses = 0  # parses of events (a file's frame, parsed once per change of it, is not counted)
        self.events = 0  # VEVENTs parsed


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    """Count every read of a calendar file and every parse, and start from an empty cache.

    Files are read "an hour after" they were written (the cache's clock runs an hour ahead), past
    any timestamp doubt, unless a test says otherwise."""
    monkeypatch.setattr(snapcache, "clock", lambda: snapcache.fs_now_ns() + HOUR_NS)
    c = Counts()
    read, parse, whole = snapcache.read_file, ics_chunks.parse_events, ics_chunks._whole

    def counted_read(path: Path) -> snapcache.Read:
        c.reads += 1
        return read(path)

    def counted_parse(sp: ics_chunks.Split, keep: list[int], *args: Any) -> object:
        c.parses += 1
        c.events += len(keep)
        return parse(sp, keep, *args)

    def counted_whole(data: bytes, *args: Any) -> object:
        c.parses += 1
        c.events += data.upper().count(b"BEGIN:VEVENT")
        return whole(data, *args)

    monkeypatch.setattr(snapcache, "read_file", counted_read)
    monkeypatch.setattr(ics_chunks, "parse_events", counted_parse)
    monkeypatch.setattr(ics_edit, "parse_events", counted_parse)
    monkeypatch.setattr(ics_chunks, "_whole", counted_whole)
    snapcache.forget()
    yield c
    snapcache.forget()


def write(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def cycle(path: Path, now: datetime = NOW, days: int = 14) -> Snapshot:
    return IcsBackend(path).snapshot(now, now + timedelta(days=days), TZ)


def fresh(path: Path, now: datetime = NOW, days: int = 14) -> Snapshot:
    occs, owned, skipped = ical.occurrences_of(_parse(path.read_bytes(), str(path)), now, now + timedelta(days=days), TZ)
    return Snapshot(tuple(occs), tuple(owned), tuple(skipped), IcsBackend.capabilities)


def test_an_unchanged_file_is_neither_read_nor_parsed_again(tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "cal.ics"
    write(path, calendar(WEEKLY, vevent("one", 25, 10)))
    first = cycle(path)
    assert (counts.reads, counts.parses) == (1, 1)
    for hours in range(1, 5):  # the window moves with the clock, inside what was expanded
        later = cycle(path, NOW + timedelta(hours=hours))
        assert later == fresh(path, NOW + timedelta(hours=hours))
    assert cycle(path) == first
    assert (counts.reads, counts.parses) == (1, 1)


def test_a_file_read_in_its_own_timestamp_tick_is_hashed_once_not_parsed(
    tmp_path: Path, counts: Counts, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cal.ics"
    write(path, calendar(WEEKLY))
    monkeypatch.setattr(snapcache, "clock", snapcache.fs_now_ns)  # read at once: a same-tick edit could keep its stat
    cycle(path)
    monkeypatch.setattr(snapcache, "clock", lambda: snapcache.fs_now_ns() + HOUR_NS)
    cycle(path)
    assert (counts.reads, counts.parses) == (2, 1)  # read again to compare the hash, not parsed
    cycle(path)
    assert (counts.reads, counts.parses) == (2, 1)  # that read was well after the change: no doubt left


def test_an_edit_in_the_same_tick_with_the_same_stat_is_seen(
    tmp_path: Path, counts: Counts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a filesystem with one-second timestamps and no ctime change: only size and mtime tell
    monkeypatch.setattr(snapcache, "file_id", lambda st: snapcache.FileId(0, 0, st.st_size, st.st_mtime_ns, 0))
    monkeypatch.setattr(snapcache, "clock", snapcache.fs_now_ns)  # read in the tick it was written
    path = tmp_path / "cal.ics"
    write(path, calendar(vevent("one", 25, 10, "Alpha")))
    st = os.stat(path)
    assert [o.summary for o in cycle(path).occurrences] == ["Alpha"]
    path.write_bytes(calendar(vevent("one", 25, 10, "Omega")))  # same size, same second
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_size == st.st_size
    assert [o.summary for o in cycle(path).occurrences] == ["Omega"]
    assert counts.parses == 2


def test_a_file_replaced_by_rename_is_read_again(tmp_path: Path, counts: Counts) -> None:
    path, other = tmp_path / "cal.ics", tmp_path / "new.ics"
    write(path, calendar(vevent("one", 25, 10, "Alpha")))
    st = os.stat(path)
    assert [o.summary for o in cycle(path).occurrences] == ["Alpha"]
    other.write_bytes(calendar(vevent("one", 25, 10, "Omega")))  # same size, dated as the old one
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, path)
    assert [o.summary for o in cycle(path).occurrences] == ["Omega"]
    assert counts.parses == 2


def test_our_own_write_updates_the_cache(tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "cal.ics"
    write(path, calendar(WEEKLY))
    b = IcsBackend(path)
    b.snapshot(NOW, END, TZ)
    block = ical.block_events(RULES, RULES.blocks[0], NOW.date())[0]
    b.put_block(block)
    b.flush()
    parses = counts.parses
    after = cycle(path)
    assert counts.parses == parses  # the cache holds what we wrote: nothing parsed
    assert after == fresh(path)
    assert [o.uid for o in after.owned] == [block.uid]


def test_a_flag_already_on_the_event_reads_and_writes_nothing(tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "cal.ics"
    write(path, calendar(WEEKLY, FLAGGED))
    cycle(path)
    before = os.stat(path).st_mtime_ns
    b = IcsBackend(path)
    snap = b.snapshot(NOW, END, TZ)
    for occ in snap.occurrences:
        if occ.uid == "flagged":
            b.flag(occ)
            b.unflag(next(o for o in snap.occurrences if o.uid == "weekly"))  # no mark: nothing to take off
    b.flush()
    assert (counts.reads, counts.parses) == (1, 1)
    assert os.stat(path).st_mtime_ns == before


def test_a_new_flag_is_written_and_then_served_from_the_cache(tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "cal.ics"
    write(path, calendar(WEEKLY, vevent("one", 25, 10)))
    cycle(path)
    b = IcsBackend(path)
    snap = b.snapshot(NOW, END, TZ)
    instance = next(o for o in snap.occurrences if o.uid == "weekly")
    b.flag(instance)  # an instance of a series: an override of its own
    b.flush()
    again = cycle(path)
    assert again == fresh(path)
    assert ical.CONFLICT_CATEGORY in next(o for o in again.occurrences if o.key == instance.key).categories
    parses = counts.parses
    b = IcsBackend(path)
    marked = next(o for o in b.snapshot(NOW, END, TZ).occurrences if o.key == instance.key)
    b.flag(marked)
    b.flush()
    assert counts.parses == parses  # the override now carries the mark: nothing to do


def test_a_window_past_what_was_expanded_reads_the_file_again(tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "cal.ics"
    write(path, calendar(WEEKLY))
    cycle(path)
    later = NOW + snapcache.MARGIN + timedelta(days=1)
    assert cycle(path, later) == fresh(path, later)
    assert counts.parses == 2
    assert cycle(path, NOW - timedelta(days=1)) == fresh(path, NOW - timedelta(days=1))
    assert counts.parses == 3


def test_another_time_zone_is_not_served_from_the_cache(tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "cal.ics"
    write(path, calendar(WEEKLY))
    cycle(path)
    utc = ZoneInfo("UTC")
    assert IcsBackend(path).snapshot(NOW, END, utc).occurrences[0].start.tzinfo == utc
    assert counts.parses == 2


# --- a cycle after a change decides as a fresh process would ---------------------------------

EDITS = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove", "move", "rename", "override", "flag", "same", "break", "dup", "nouid"]),
        st.integers(0, 9),  # which event
        st.integers(1, 29),  # a day of November
        st.integers(0, 23),  # an hour
    ),
    min_size=1,
    max_size=8,
)


def _apply(events: dict[str, str], edit: tuple[str, int, int, int]) -> None:
    kind, n, day, hour = edit
    uid = f"e{n}"
    if kind == "add" or (uid not in events and kind != "remove"):
        rrule = "RRULE:FREQ=DAILY;COUNT=5\r\n" if n % 3 == 0 else ""
        events[uid] = vevent(uid, day, hour, f"Event {n}", rrule)
    elif kind == "remove":
        events.pop(uid, None)
    elif kind == "move":
        events[uid] = vevent(uid, day, hour, f"Event {n}")
    elif kind == "rename":
        events[uid] = events[uid].replace("SUMMARY:", "SUMMARY:x")
    elif kind == "override":
        events[uid + "-o"] = vevent(uid, day, hour, "Moved", "RECURRENCE-ID;TZID=America/Toronto:20261123T090000\r\n")
    elif kind == "flag":
        events[uid] = events[uid].replace("END:VEVENT", "CATEGORIES:Conflict\r\nEND:VEVENT")
    elif kind == "dup":  # the same text twice, as a careless merge of two exports leaves it
        events[uid + "-d"] = events[uid]
    elif kind == "nouid":
        events[uid + "-n"] = vevent("", day, hour, f"Lost {n}").replace("UID:\r\n", "")
    elif kind == "break":
        events[uid] = events[uid].replace("DTSTART;TZID=America/Toronto:", "DTSTART;TZID=America/Toronto:x")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edits=EDITS, hours=st.lists(st.integers(0, 24 * 8), min_size=1, max_size=8))
def test_cycles_after_random_edits_decide_as_a_fresh_process(tmp_path: Path, edits: list[tuple[str, int, int, int]], hours: list[int]) -> None:
    snapcache.forget()
    path = tmp_path / "random.ics"
    events: dict[str, str] = {"w": WEEKLY}
    path.write_bytes(calendar(*events.values()))
    for edit, h in zip(edits, hours * len(edits), strict=False):
        _apply(events, edit)
        path.write_bytes(calendar(*events.values()))  # often the same second as the last read
        now = NOW + timedelta(hours=h)
        cached, new = cycle(path, now), fresh(path, now)
        assert cached == new
        assert plan(RULES, cached, now, Memory()) == plan(RULES, new, now, Memory())
    snapcache.forget()


def test_an_unchanged_sync_reads_parses_and_writes_nothing(tmp_path: Path, counts: Counts) -> None:
    """Through the whole sync, as the daemon runs it: the conflict flagged in the first cycle is
    seen as flagged afterwards and neither re-applied nor journaled again."""
    from boundaryd.engine.app import App
    from boundaryd.engine.journal import Journal

    path = tmp_path / "cal.ics"
    write(path, calendar(WEEKLY, vevent("clash", 23, 11, "Client call")))  # 11:00 on a Monday: a block
    app = App(Path(__file__).resolve().parent.parent / "rules" / "example.yaml", tmp_path / "state", f"ics:{path}")
    first = app.sync(RULES, NOW)
    assert first.flagged >= 1
    app.sync(RULES, NOW + timedelta(minutes=1))  # reads what the first sync wrote (from the cache)
    reads, parses, mtime = counts.reads, counts.parses, os.stat(path).st_mtime_ns
    journal = Journal(tmp_path / "state" / "journal.sqlite3")
    flags = "SELECT COUNT(*) FROM actions WHERE kind = 'flag'"
    rows = journal.db.execute(flags).fetchone()[0]
    third = app.sync(RULES, NOW + timedelta(minutes=2))
    assert third.flagged == first.flagged  # the plan still says flag
    assert (counts.reads, counts.parses) == (reads, parses)
    assert os.stat(path).st_mtime_ns == mtime
    assert journal.db.execute(flags).fetchone()[0] == rows  # no flag journaled again


# --- in proportion to the change: only the UIDs whose VEVENT text changed are parsed ---------

ZONE = (
    "BEGIN:VTIMEZONE\r\nTZID:Custom/Office\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
    "TZOFFSETFROM:{o}\r\nTZOFFSETTO:{o}\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
)


def office(uid: str, day: int, hour: int) -> str:
    return vevent(uid, day, hour).replace("TZID=America/Toronto", "TZID=Custom/Office")


def many(n: int = 30) -> list[str]:
    return [WEEKLY, vevent("weekly", 30, 15, "Moved", "RECURRENCE-ID;TZID=America/Toronto:20261130T090000\r\n")] + [
        vevent(f"m{i}", 23 + i % 7, 8 + i % 9, f"Meeting {i}") for i in range(n)
    ]


def test_one_changed_event_parses_only_that_event(tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "cal.ics"
    events = many()
    write(path, calendar(*events))
    cycle(path)
    assert counts.events == len(events)
    events[7] = events[7].replace("Meeting 5", "Meeting 5 (moved room)")
    write(path, calendar(*events))
    assert cycle(path) == fresh(path)
    assert counts.events == len(events) + 1


def test_a_changed_override_parses_its_series_again_and_nothing_else(tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "cal.ics"
    events = many()
    write(path, calendar(*events))
    cycle(path)
    events[1] = events[1].replace("T15", "T16")  # the override of "weekly" moves
    write(path, calendar(*events))
    after = cycle(path)
    assert after == fresh(path)
    assert counts.events == len(events) + 2  # the series' master and its override
    assert any(o.summary == "Moved" and o.start.hour == 16 for o in after.occurrences)


def test_a_removed_and_an_added_event_are_seen(tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "cal.ics"
    events = many()
    write(path, calendar(*events))
    cycle(path)
    del events[5]
    events.append(vevent("new", 25, 13, "New client"))
    write(path, calendar(*events))
    after = cycle(path)
    assert after == fresh(path)
    assert "m3" not in {o.uid for o in after.occurrences} and "new" in {o.uid for o in after.occurrences}
    assert counts.events == len(events) + 1  # only the new one (the removed one had nothing left to parse)


def test_a_changed_vtimezone_reads_every_event_again(tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "cal.ics"
    events = [office("o1", 24, 10), *many(5)]
    write(path, calendar(ZONE.format(o="-0500"), *events))
    assert next(o for o in cycle(path).occurrences if o.uid == "o1").start.hour == 10
    write(path, calendar(ZONE.format(o="-0600"), *events))
    after = cycle(path)
    assert after == fresh(path)
    assert counts.events == 2 * len(events)


def test_a_duplicated_event_and_one_without_uid_read_as_a_fresh_process_reads_them(tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "cal.ics"
    events = many(4)
    write(path, calendar(*events))
    cycle(path)
    events += [events[3], vevent("", 25, 9, "No UID").replace("UID:\r\n", "")]
    write(path, calendar(*events))
    assert cycle(path) == fresh(path)
    del events[-2]
    write(path, calendar(*events))
    assert cycle(path) == fresh(path)


def test_text_that_does_not_split_cleanly_is_read_whole(tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "cal.ics"
    folded = WEEKLY.replace("BEGIN:VEVENT", "BEGIN:VEV\r\n ENT", 1)  # a folded BEGIN line
    write(path, calendar(folded, vevent("one", 25, 10)))
    assert ics_chunks.split(path.read_bytes()) is None
    assert cycle(path) == fresh(path)


def test_a_flag_rewrites_only_its_own_event(tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "cal.ics"
    events = many()
    write(path, calendar(*events))
    b = IcsBackend(path)
    target = next(o for o in b.snapshot(NOW, END, TZ).occurrences if o.uid == "m4")
    parsed = counts.events
    b.flag(target)
    b.flush()
    assert counts.events - parsed == 2  # m4 to change it, then m4 again as the file now says
    data = path.read_bytes()
    for i, ev in enumerate(events):
        assert (ev.encode() in data) == (i != 6)  # every other event byte for byte as it was
    after = cycle(path)
    assert after == fresh(path)
    assert ical.CONFLICT_CATEGORY in next(o for o in after.occurrences if o.uid == "m4").categories
    assert counts.events - parsed == 2  # that cycle parsed nothing


def test_a_block_in_a_new_zone_rewrites_the_whole_file_correctly(tmp_path: Path, counts: Counts) -> None:
    path = tmp_path / "cal.ics"
    write(path, calendar(*many(5)))
    b = IcsBackend(path)
    b.snapshot(NOW, END, TZ)
    block = ical.block_events(RULES, RULES.blocks[0], NOW.date())[0]
    b.put_block(block)  # needs a VTIMEZONE the file does not have: made on the whole calendar
    b.flush()
    assert b"BEGIN:VTIMEZONE" in path.read_bytes()
    assert cycle(path) == fresh(path)
    assert block.uid in {o.uid for o in cycle(path).owned}


# --- random edits, ours and others', against a fresh process ---------------------------------

OURS = st.lists(st.tuples(st.sampled_from(["flag", "unflag", "decline", "block", "unblock", "theirs"]),
                          st.integers(0, 40)), min_size=1, max_size=10)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=OURS)
def test_our_own_changes_and_theirs_read_as_a_fresh_process_reads_them(tmp_path: Path, steps: list[tuple[str, int]]) -> None:
    snapcache.forget()
    path = tmp_path / "ours.ics"
    events = many(12)
    path.write_bytes(calendar(ZONE.format(o="-0500"), office("o1", 24, 10), *events))
    block = ical.block_events(RULES, RULES.blocks[0], NOW.date())[0]
    for kind, n in steps:
        if kind == "theirs":
            data = path.read_bytes().replace(f"Meeting {n % 12}".encode(), f"Meeting {n % 12}!".encode(), 1)
            path.write_bytes(data)
        else:
            b = IcsBackend(path)
            occs = b.snapshot(NOW, END, TZ).occurrences
            occ = occs[n % len(occs)]
            if kind == "flag":
                b.flag(occ)
            elif kind == "unflag":
                b.unflag(occ)
            elif kind == "decline":
                b.decline(occ, (RULES.owner.emails[0],), "Busy")
            elif kind == "block":
                b.put_block(block)
            else:
                b.delete_block(block.uid)
            b.flush()
        now = NOW + timedelta(hours=n)
        cached, new = cycle(path, now), fresh(path, now)
        assert cached == new
        assert plan(RULES, cached, now, Memory()) == plan(RULES, new, now, Memory())
    snapcache.forget()
