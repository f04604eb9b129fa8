"""The calendar contract, blocks: boundaryd's own events, written, rewritten and removed.

Every scenario runs unchanged against every backend (``contract_worlds.BACKENDS``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from boundaryd.errors import Conflict412
from clirun import invite
from contract_worlds import TZ, World, at, block_events, one, snap

PROSPECTING = "prospecting-0830@boundaryd"


def test_a_block_is_one_recurring_busy_event_owned_by_boundaryd(world: World) -> None:
    ev = block_events()[PROSPECTING]
    b = world.backend()
    snap(b)
    b.put_block(ev)
    b.flush()
    s = snap(world.backend())
    assert [(o.uid, o.block, o.fingerprint) for o in s.owned] == [(PROSPECTING, "prospecting", ev.fingerprint)]
    mine = sorted((o.start, o.end) for o in s.occurrences if o.owned_block == "prospecting")
    assert len(mine) == 10 and mine[0] == (at(0, 8, 30), at(0, 11))  # two working weeks
    assert all(o.start.time() == time(8, 30) and o.end.time() == time(11) for o in s.occurrences)
    assert all(not o.transparent and o.uid == PROSPECTING for o in s.occurrences)


def test_putting_a_block_twice_leaves_one_event(world: World) -> None:
    ev = block_events()[PROSPECTING]
    b = world.backend()
    snap(b)
    b.put_block(ev)
    b.put_block(ev)
    b.flush()
    again = world.backend()  # a sync cut short and run again: the event is there already
    snap(again)
    again.put_block(ev)
    again.flush()
    s = snap(world.backend())
    assert [o.uid for o in s.owned] == [PROSPECTING]
    assert len(s.occurrences) == 10


def test_a_changed_block_replaces_its_event(world: World) -> None:
    before = block_events()[PROSPECTING]
    after = block_events(
        """
        - {id: prospecting, title: Prospecting, kind: prospecting, days: weekdays, start: "08:30", end: "10:00"}
        """
    )[PROSPECTING]
    assert after.fingerprint != before.fingerprint
    b = world.backend()
    snap(b)
    b.put_block(before)
    b.flush()
    b2 = world.backend()
    snap(b2)
    b2.put_block(after)
    b2.flush()
    s = snap(world.backend())
    assert [(o.uid, o.fingerprint) for o in s.owned] == [(PROSPECTING, after.fingerprint)]
    assert {(o.summary, o.end.time()) for o in s.occurrences} == {("Prospecting", time(10))}
    assert len(s.occurrences) == 10


def test_a_removed_block_is_deleted_and_deleting_again_is_no_error(world: World) -> None:
    events = block_events()
    b = world.backend()
    snap(b)
    for ev in events.values():
        b.put_block(ev)
    b.flush()
    b2 = world.backend()
    snap(b2)
    b2.delete_block(PROSPECTING)
    b2.delete_block(PROSPECTING)
    b2.flush()
    s = snap(world.backend())
    assert sorted(o.uid for o in s.owned) == sorted(u for u in events if u != PROSPECTING)
    assert not any(o.owned_block == "prospecting" for o in s.occurrences)
    b3 = world.backend()
    snap(b3)
    b3.delete_block(PROSPECTING)  # already gone
    b3.delete_block("never-written@boundaryd")
    b3.flush()


def test_an_event_boundaryd_does_not_own_is_never_deleted(world: World) -> None:
    world.put(invite("theirs@contract", "Their meeting", at(1, 9)))
    b = world.backend()
    snap(b)
    b.delete_block("theirs@contract")
    b.flush()
    assert one(snap(world.backend()), "theirs@contract").summary == "Their meeting"


def test_an_all_day_block_covers_whole_local_days(world: World) -> None:
    ev = block_events()["sunday-allday@boundaryd"]
    b = world.backend()
    snap(b)
    b.put_block(ev)
    b.flush()
    s = snap(world.backend())
    days = [(o.start, o.end, o.all_day) for o in s.occurrences]
    assert days == [
        (datetime(2026, 11, 29, tzinfo=TZ), datetime(2026, 11, 30, tzinfo=TZ), True),
        (datetime(2026, 12, 6, tzinfo=TZ), datetime(2026, 12, 7, tzinfo=TZ), True),
    ]


def test_a_block_keeps_its_wall_clock_time_across_a_daylight_saving_change(world: World) -> None:
    """Toronto leaves daylight-saving time on 2026-11-01: 08:30 stays 08:30 on both sides."""
    anchor = date(2026, 10, 26)
    ev = block_events(anchor=anchor)[PROSPECTING]
    start = datetime.combine(anchor, time(0), TZ)
    b = world.backend()
    snap(b, start, start + timedelta(days=14))
    b.put_block(ev)
    b.flush()
    s = snap(world.backend(), start, start + timedelta(days=14))
    assert len(s.occurrences) == 10
    assert {(o.start.time(), o.end.time()) for o in s.occurrences} == {(time(8, 30), time(11))}
    offsets = {o.start.utcoffset() for o in s.occurrences}
    assert offsets == {timedelta(hours=-4), timedelta(hours=-5)}


def test_skipped_dates_are_left_out_of_the_block(world: World) -> None:
    from boundaryd.core import ical
    from conftest import make_rules

    rules = make_rules(
        '- {id: prospecting, kind: prospecting, days: weekdays, start: "08:30", end: "11:00"}\n'
        '- {id: sunday, kind: day-off, days: [sun], all_day: true}',
        extra="skip:\n  - {date: 2026-11-25, blocks: [prospecting]}\n  - {date: 2026-11-29}\n",
    )
    events = [e for b_ in rules.blocks for e in ical.block_events(rules, b_, at(0, 0).date())]
    b = world.backend()
    snap(b)
    for ev in events:
        b.put_block(ev)
    b.flush()
    s = snap(world.backend())
    days = sorted({o.start.date() for o in s.occurrences})
    assert date(2026, 11, 25) not in days and date(2026, 11, 29) not in days
    assert date(2026, 11, 24) in days and date(2026, 12, 6) in days
    assert len(s.occurrences) == 9 + 1  # ten weekdays less one, two Sundays less one


def test_a_block_created_meanwhile_by_another_run_is_never_duplicated(world: World) -> None:
    """Two runs race to create the same block: the loser gets a 412-style conflict or writes the
    same event; either way the calendar holds it once."""
    ev = block_events()[PROSPECTING]
    slow = world.backend()
    snap(slow)
    fast = world.backend()
    snap(fast)
    fast.put_block(ev)
    fast.flush()
    try:
        slow.put_block(ev)
        slow.flush()
    except Conflict412:
        retry = world.backend()
        snap(retry)
        retry.put_block(ev)
        retry.flush()
    s = snap(world.backend())
    assert [o.uid for o in s.owned] == [PROSPECTING] and len(s.occurrences) == 10


def test_capabilities_are_data_resolved_once(world: World) -> None:
    b = world.backend()
    caps = b.connect()
    assert b.capabilities == caps and b.connect() is caps
    assert caps.tells_organizer is world.tells_organizer
    assert caps.flag_mark in ("categories", "colour") or (caps.flag_mark == "" and not world.marks_flags)
    assert snap(b).capabilities == caps
    assert not hasattr(b, "tells_organizer")  # one way to know it: the capabilities


@pytest.mark.parametrize("blocks", [1, 3])
def test_several_blocks_are_independent_events(world: World, blocks: int) -> None:
    events = list(block_events().values())[:blocks]
    b = world.backend()
    snap(b)
    for ev in events:
        b.put_block(ev)
    b.flush()
    s = snap(world.backend())
    assert sorted(o.uid for o in s.owned) == sorted(e.uid for e in events)
    assert {o.owned_block for o in s.occurrences} == {e.block for e in events}


def test_owned_events_besides_blocks_are_written_tagged_and_removed(world: World) -> None:
    """A held offer (and likewise make-up time, a moved flexible instance, a mirror) is an owned
    event tagged ``role:key``: every backend writes it, reads it back as boundaryd's, and deletes it."""
    from boundaryd.core.ical_owned import owned_event, role_of

    hold = owned_event("hold", "k3f9q2", "Held: Bob's meeting", at(1, 14), at(1, 15, 30), description="offered to bob")
    b = world.backend()
    snap(b)
    b.put_block(hold)
    b.flush()
    s = snap(world.backend())
    assert [(o.uid, role_of(o.block), o.fingerprint) for o in s.owned] == [(hold.uid, ("hold", "k3f9q2"), hold.fingerprint)]
    (occ,) = [o for o in s.occurrences if o.uid == hold.uid]
    assert (occ.start, occ.end, occ.owned_block, occ.transparent) == (at(1, 14), at(1, 15, 30), "hold:k3f9q2", False)
    again = world.backend()
    snap(again)
    again.delete_block(hold.uid)
    again.flush()
    assert snap(world.backend()).owned == ()
