"""The calendar contract, reading: what others put on the calendar, as the planner sees it.

Every scenario runs unchanged against every backend (``contract_worlds.BACKENDS``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from clirun import OWNER, invite
from contract_worlds import TZ, World, at, me, one, snap


def test_an_invitation_reads_as_one_occurrence(world: World) -> None:
    world.put(invite("single@contract", "Listing review", at(1, 9), 45))
    o = one(snap(world.backend()), "single@contract")
    assert (o.summary, o.start, o.end, o.all_day, o.recurrence_id) == ("Listing review", at(1, 9), at(1, 9, 45), False, None)
    assert o.start.tzinfo == TZ
    assert o.organizer == "bob@client.example" and me(o) == "NEEDS-ACTION"
    assert {(a.email, a.partstat) for a in o.attendees} == {("bob@client.example", "ACCEPTED"), (OWNER, "NEEDS-ACTION")}
    assert o.status == "CONFIRMED" and not o.transparent and o.owned_block is None and o.categories == ()


def test_an_event_in_another_zone_is_read_in_the_rules_zone(world: World) -> None:
    berlin = datetime(2026, 11, 24, 15, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    world.put(invite("berlin@contract", "From Berlin", berlin))
    o = one(snap(world.backend()), "berlin@contract")
    assert o.start == at(1, 9) and o.start.tzinfo == TZ and o.end - o.start == timedelta(hours=1)


def test_a_series_in_another_zone_moves_in_local_time_across_daylight_saving(world: World) -> None:
    """A weekly 15:00 UTC meeting is 11:00 in Toronto before 2026-11-01 and 10:00 after."""
    utc = datetime(2026, 10, 27, 15, 0, tzinfo=ZoneInfo("UTC"))
    local = invite("utc@contract", "Global sync", utc, 30, rrule={"FREQ": ["WEEKLY"], "COUNT": ["3"]})
    here = invite("here@contract", "Local sync", datetime(2026, 10, 27, 10, tzinfo=TZ), 30,
                  rrule={"FREQ": ["WEEKLY"], "COUNT": ["3"]})
    world.put(local)
    world.put(here)
    start = datetime(2026, 10, 26, tzinfo=TZ)
    s = snap(world.backend(), start, start + timedelta(days=21))
    glob = sorted(o.start for o in s.occurrences if o.uid == "utc@contract")
    assert [t.time() for t in glob] == [time(11), time(10), time(10)]
    loc = sorted((o.start, o.recurrence_id) for o in s.occurrences if o.uid == "here@contract")
    assert [t.time() for t, _ in loc] == [time(10)] * 3 and all(t == rid for t, rid in loc)


def test_an_all_day_invitation_is_a_whole_local_day(world: World) -> None:
    ev = invite("allday@contract", "Offsite", at(2, 0))
    ev.pop("DTSTART")
    ev.pop("DTEND")
    ev.add("DTSTART", date(2026, 11, 25))
    ev.add("DTEND", date(2026, 11, 26))
    world.put(ev)
    o = one(snap(world.backend()), "allday@contract")
    assert o.all_day and o.start == datetime(2026, 11, 25, tzinfo=TZ) and o.end == datetime(2026, 11, 26, tzinfo=TZ)


def moved_series() -> list[icalendar.Event]:
    """A daily 10:00 standup, five days; the second moved to 14:00 by the organizer."""
    master = invite("standup@contract", "Standup", at(1, 10), 15, rrule={"FREQ": ["DAILY"], "COUNT": ["5"]})
    moved = invite("standup@contract", "Standup (moved)", at(2, 14), 15)
    moved.add("RECURRENCE-ID", at(2, 10))
    return [master, moved]


def test_a_moved_occurrence_is_read_at_its_new_time_with_its_original_id(world: World) -> None:
    world.put(*moved_series())
    s = snap(world.backend())
    got = sorted((o.start, o.summary, o.recurrence_id) for o in s.occurrences if o.uid == "standup@contract")
    assert got == [
        (at(1, 10), "Standup", at(1, 10)),
        (at(2, 14), "Standup (moved)", at(2, 10)),
        (at(3, 10), "Standup", at(3, 10)),
        (at(4, 10), "Standup", at(4, 10)),
        (at(5, 10), "Standup", at(5, 10)),
    ]


def test_an_instance_the_organizer_removed_is_not_read(world: World) -> None:
    ev = invite("daily@contract", "Daily", at(1, 10), 15, rrule={"FREQ": ["DAILY"], "COUNT": ["4"]})
    ev.add("EXDATE", at(2, 10))
    world.put(ev)
    starts = sorted(o.start for o in snap(world.backend()).occurrences)
    assert starts == [at(1, 10), at(3, 10), at(4, 10)]


def test_text_beyond_ascii_reads_back_as_written(world: World) -> None:
    summary = "Réunion d'équipe — 会議 🎉"
    world.put(invite("intl@contract", summary, at(1, 9), DESCRIPTION="Ordre du jour : « budget »"))
    o = one(snap(world.backend()), "intl@contract")
    assert o.summary == summary and o.description == "Ordre du jour : « budget »"


def test_an_unreadable_event_is_skipped_and_the_rest_is_read(world: World) -> None:
    world.put(invite("fine@contract", "Fine", at(1, 9)))
    world.put_unreadable("broken@contract")
    s = snap(world.backend())
    assert [o.uid for o in s.occurrences] == ["fine@contract"]
    assert [k.uid for k in s.skipped] == ["broken@contract"] and s.skipped[0].reason


def test_free_and_cancelled_events_say_so(world: World) -> None:
    world.put(invite("free@contract", "Lunch", at(1, 12), TRANSP="TRANSPARENT"))
    world.put(invite("off@contract", "Called off", at(1, 14), STATUS="CANCELLED"))
    s = snap(world.backend())
    assert one(s, "free@contract").transparent
    cancelled = [o for o in s.occurrences if o.uid == "off@contract"]  # Google lists a cancelled event as gone
    assert all(o.status == "CANCELLED" for o in cancelled)


def test_the_window_is_half_open(world: World) -> None:
    world.put(invite("edge@contract", "At the end", at(14, 7)))
    world.put(invite("inside@contract", "Just inside", at(13, 6, 59)))
    world.put(invite("before@contract", "Earlier", at(0, 6), 30))
    assert [o.uid for o in snap(world.backend()).occurrences] == ["inside@contract"]


# --- change tokens -----------------------------------------------------------------------------------


def test_an_unchanged_calendar_is_not_read_again_in_full(world: World) -> None:
    if not world.has_tokens:
        pytest.skip(f"{world.name}: no change token; the calendar is read whole each cycle")
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    first = snap(world.backend())
    reads, requests = world.full_reads(), world.requests()
    again = snap(world.backend())  # a new process with the same journal
    assert again == first and world.full_reads() == reads
    assert world.requests() - requests == 1  # one request: "what changed since this token?"


def test_one_change_is_read_as_a_change(world: World) -> None:
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    b = world.backend()
    snap(b)
    reads = world.full_reads()
    world.put(invite("new@contract", "New one", at(2, 9)))
    world.put(invite("single@contract", "Listing review (moved)", at(1, 10)))
    s = snap(world.backend())
    assert sorted((o.start, o.uid) for o in s.occurrences) == [(at(1, 10), "single@contract"), (at(2, 9), "new@contract")]
    if world.has_tokens:
        assert world.full_reads() == reads


def test_an_expired_change_token_reads_everything_again(world: World) -> None:
    if world.no_http:
        pytest.skip(world.no_http)
    world.put(invite("one@contract", "One", at(1, 9)))
    snap(world.backend())
    world.put(invite("two@contract", "Two", at(2, 9)))
    reads = world.full_reads()
    world.fail(410, times=1)  # the server no longer knows our token
    s = snap(world.backend())
    assert sorted(o.uid for o in s.occurrences) == ["one@contract", "two@contract"]
    assert world.full_reads() == reads + 1
