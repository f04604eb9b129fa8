"""The calendar contract, answers: declines and flags on the owner's copy, and races with others.

Every scenario runs unchanged against every backend (``contract_worlds.BACKENDS``). Where a
server refuses an edit for good (Xandikos lets an attendee change only PARTSTAT, RFC 6638 3.1),
the scenario checks that the refusal is a ChangeRefused (or no mark) and that nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from boundaryd.errors import ChangeRefused, Conflict412
from clirun import OWNER, invite
from contract_worlds import World, at, me, one, snap
from test_contract_reading import moved_series

SERIES = {"FREQ": ["WEEKLY"], "COUNT": ["4"]}


def partstats(s: Any, uid: str) -> list[str]:
    return [me(o) for o in sorted(s.occurrences, key=lambda o: o.start) if o.uid == uid]


def test_decline_sets_the_owners_answer_only(world: World) -> None:
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    world.put(invite("other@contract", "Other", at(2, 9)))
    b = world.backend()
    s = snap(b)
    b.decline(one(s, "single@contract"), (OWNER,), "I'm not available then; could we meet Tuesday?")
    b.flush()
    after = snap(world.backend())
    o = one(after, "single@contract")
    assert me(o) == "DECLINED"
    assert {a.email: a.partstat for a in o.attendees}["bob@client.example"] == "ACCEPTED"
    assert (o.summary, o.start, o.sequence) == ("Listing review", at(1, 9), one(s, "single@contract").sequence)
    assert me(one(after, "other@contract")) == "NEEDS-ACTION"


def test_decline_one_instance_leaves_the_series_alone(world: World) -> None:
    world.put(invite("series@contract", "Weekly sync", at(1, 10), 30, rrule=SERIES))
    b = world.backend()
    s = snap(b)
    second = sorted((o for o in s.occurrences if o.uid == "series@contract"), key=lambda o: o.start)[1]
    assert second.recurrence_id == at(8, 10)
    try:
        b.decline(second, (OWNER,), "Not that week, sorry.")
        b.flush()
    except ChangeRefused:
        assert not world.declines_instances
    after = snap(world.backend())
    expected = "DECLINED" if world.declines_instances else "NEEDS-ACTION"
    assert partstats(after, "series@contract") == ["NEEDS-ACTION", expected]
    assert {o.sequence for o in after.occurrences} == {o.sequence for o in s.occurrences}
    assert [o.start for o in after.occurrences] == [o.start for o in s.occurrences]


def test_decline_one_day_of_an_all_day_series(world: World) -> None:
    ev = invite("offsite@contract", "Offsite", at(1, 0), rrule={"FREQ": ["DAILY"], "COUNT": ["3"]})
    ev.pop("DTSTART")
    ev.pop("DTEND")
    ev.add("DTSTART", date(2026, 11, 24))
    ev.add("DTEND", date(2026, 11, 25))
    world.put(ev)
    b = world.backend()
    days = sorted((o for o in snap(b).occurrences if o.uid == "offsite@contract"), key=lambda o: o.start)
    assert [o.recurrence_id for o in days] == [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)]
    try:
        b.decline(days[1], (OWNER,), "Not that day.")
        b.flush()
    except ChangeRefused:
        assert not world.declines_instances
    after = snap(world.backend())
    expected = "DECLINED" if world.declines_instances else "NEEDS-ACTION"
    assert partstats(after, "offsite@contract") == ["NEEDS-ACTION", expected, "NEEDS-ACTION"]
    assert all(o.all_day for o in after.occurrences)


def test_declining_twice_writes_once(world: World) -> None:
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    b = world.backend()
    occ = one(snap(b), "single@contract")
    b.decline(occ, (OWNER,), "No, thanks.")
    b.flush()
    b2 = world.backend()
    again = one(snap(b2), "single@contract")
    mark = world.write_mark()
    b2.decline(again, (OWNER,), "No, thanks.")
    b2.flush()
    assert world.write_mark() == mark
    assert me(one(snap(world.backend()), "single@contract")) == "DECLINED"


def test_decline_a_moved_occurrence_at_its_new_time(world: World) -> None:
    world.put(*moved_series())
    b = world.backend()
    moved = one(snap(b), "standup@contract", at(2, 14))
    b.decline(moved, (OWNER,), "Not at 14:00.")
    b.flush()
    after = snap(world.backend())
    assert me(one(after, "standup@contract", at(2, 14))) == "DECLINED"
    assert partstats(after, "standup@contract").count("DECLINED") == 1
    assert one(after, "standup@contract", at(2, 14)).recurrence_id == at(2, 10)


def test_flag_marks_the_owners_copy_and_unflag_takes_the_mark_off(world: World) -> None:
    world.put(invite("clash@contract", "Clash", at(1, 11, 30), 30))
    b = world.backend()
    b.flag(one(snap(b), "clash@contract"))
    b.flush()
    flagged = one(snap(world.backend()), "clash@contract")
    assert ("Conflict" in flagged.categories) is world.marks_flags
    assert me(flagged) == "NEEDS-ACTION"  # a flag answers nothing

    b2 = world.backend()
    b2.unflag(one(snap(b2), "clash@contract"))
    b2.flush()
    cleared = one(snap(world.backend()), "clash@contract")
    assert "Conflict" not in cleared.categories
    assert (cleared.summary, cleared.start, me(cleared)) == ("Clash", at(1, 11, 30), "NEEDS-ACTION")


@pytest.mark.parametrize("call", ["flag", "unflag"])
def test_flag_and_unflag_twice_write_once(world: World, call: str) -> None:
    world.put(invite("clash@contract", "Clash", at(1, 11, 30), 30))
    if call == "unflag":
        b = world.backend()
        b.flag(one(snap(b), "clash@contract"))
        b.flush()
    b = world.backend()
    getattr(b, call)(one(snap(b), "clash@contract"))
    b.flush()
    b2 = world.backend()
    occ = one(snap(b2), "clash@contract")
    mark = world.write_mark()
    getattr(b2, call)(occ)
    b2.flush()
    assert world.write_mark() == mark
    assert ("Conflict" in one(snap(world.backend()), "clash@contract").categories) is (call == "flag" and world.marks_flags)


def test_flag_one_instance_marks_that_instance_only(world: World) -> None:
    world.put(invite("series@contract", "Weekly sync", at(1, 11, 30), 30, rrule=SERIES))
    b = world.backend()
    second = sorted((o for o in snap(b).occurrences if o.uid == "series@contract"), key=lambda o: o.start)[1]
    b.flag(second)
    b.flush()
    marks = ["Conflict" in o.categories for o in sorted(snap(world.backend()).occurrences, key=lambda o: o.start)]
    assert marks == [False, world.marks_flags]  # two weeks: two of the four
    b2 = world.backend()
    b2.unflag(sorted(snap(b2).occurrences, key=lambda o: o.start)[1])
    b2.flush()
    assert not any("Conflict" in o.categories for o in snap(world.backend()).occurrences)


def test_an_answer_on_an_unflagged_or_vanished_event_changes_nothing(world: World) -> None:
    world.put(invite("quiet@contract", "Quiet", at(1, 13)))
    b = world.backend()
    occ = one(snap(b), "quiet@contract")
    mark = world.write_mark()
    b.unflag(occ)
    b.flush()
    assert world.write_mark() == mark
    assert one(snap(world.backend()), "quiet@contract").categories == ()


Edit = Callable[[Any, Any], None]
EDITS: dict[str, Edit] = {
    "decline": lambda b, o: b.decline(o, (OWNER,), "No."),
    "flag": lambda b, o: b.flag(o),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edit_by_someone_else_meanwhile_is_never_lost(world: World, edit: str) -> None:
    """The organizer moves the meeting between our read and our write: we get a 412-style
    Conflict412 (and the next cycle re-reads), or our write merges with theirs; theirs stays."""
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    b = world.backend()
    occ = one(snap(b), "single@contract")
    world.put(invite("single@contract", "Listing review (moved)", at(1, 10)))
    try:
        EDITS[edit](b, occ)
        b.flush()
        raced = False
    except Conflict412:
        raced = True
    after = one(snap(world.backend()), "single@contract")
    assert (after.summary, after.start) == ("Listing review (moved)", at(1, 10))
    if raced:  # the next cycle re-reads and applies the answer to what is there now
        b2 = world.backend()
        EDITS[edit](b2, one(snap(b2), "single@contract"))
        b2.flush()
        after = one(snap(world.backend()), "single@contract")
    assert (after.summary, after.start) == ("Listing review (moved)", at(1, 10))
    if edit == "decline":
        assert me(after) == "DECLINED"
    else:
        assert ("Conflict" in after.categories) is world.marks_flags


def test_an_event_deleted_meanwhile_is_no_crash(world: World) -> None:
    """The organizer cancels (deletes) the meeting between our read and our decline."""
    world.put(invite("gone@contract", "Soon gone", at(1, 9)))
    world.put(invite("stays@contract", "Stays", at(2, 9)))
    b = world.backend()
    s = snap(b)
    world.put(invite("stays@contract", "Stays", at(2, 9)))  # a change that is not ours to lose
    world.remove("gone@contract")
    try:
        b.decline(one(s, "gone@contract"), (OWNER,), "No.")
        b.flush()
    except (Conflict412, ChangeRefused):
        pass
    except Exception as e:  # noqa: BLE001 - anything else must be a RuntimeFailure naming the event
        from boundaryd.errors import RuntimeFailure

        assert isinstance(e, RuntimeFailure) and "gone@contract" in str(e)
    after = snap(world.backend())
    assert [o.uid for o in after.occurrences] == ["stays@contract"]



def test_answer_undoes_a_decline_and_nothing_else(world: World) -> None:
    """``allow`` on boundaryd's own decline: the owner's answer goes back to what it was."""
    world.put(invite("maybe@contract", "Listing review", at(1, 9), partstat="TENTATIVE"))
    world.put(invite("other@contract", "Other", at(2, 9)))
    b = world.backend()
    s = snap(b)
    b.decline(one(s, "maybe@contract"), (OWNER,), "I'm not available then.")
    b.flush()
    b = world.backend()
    declined = one(snap(b), "maybe@contract")
    assert me(declined) == "DECLINED"
    b.answer(declined, (OWNER,), "TENTATIVE")
    b.flush()
    after = snap(world.backend())
    o = one(after, "maybe@contract")
    assert me(o) == "TENTATIVE"
    assert (o.summary, o.start, o.sequence) == ("Listing review", at(1, 9), declined.sequence)
    assert me(one(after, "other@contract")) == "NEEDS-ACTION"
    b = world.backend()
    b.answer(one(snap(b), "maybe@contract"), (OWNER,), "ACCEPTED")  # not declined: left alone
    b.flush()
    assert me(one(snap(world.backend()), "maybe@contract")) == "TENTATIVE"


def test_decline_and_answer_a_whole_series(world: World) -> None:
    """A standing conflict declined at once: the series' own answer (no RECURRENCE-ID), then undone."""
    world.put(invite("weekly@contract", "Weekly sync", at(1, 10), 30, rrule=SERIES))
    b = world.backend()
    first = min((o for o in snap(b).occurrences if o.uid == "weekly@contract"), key=lambda o: o.start)
    whole = replace(first, recurrence_id=None)
    b.decline(whole, (OWNER,), "This hour is taken every week, sorry.")
    b.flush()
    b = world.backend()
    s = snap(b)
    assert set(partstats(s, "weekly@contract")) == {"DECLINED"}
    first = min((o for o in s.occurrences if o.uid == "weekly@contract"), key=lambda o: o.start)
    b.answer(replace(first, recurrence_id=None), (OWNER,), "NEEDS-ACTION")
    b.flush()
    assert set(partstats(snap(world.backend()), "weekly@contract")) == {"NEEDS-ACTION" if world.withdraws_answers else "TENTATIVE"}
