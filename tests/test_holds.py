"""Held offers (SPEC "Alternatives"): each slot offered in a decline is held until taken or expired."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from boundaryd.core.actions import RememberOwned, RemoveBlock, WriteBlock
from boundaryd.core.holds import hold_events
from boundaryd.core.ical_owned import role_of
from boundaryd.core.model import Hold, Memory, Occurrence, OwnedEvent, Plan, Snapshot
from boundaryd.core.planner import plan
from boundaryd.core.rules import Rules
from clirun import OWNER, Env, calendar_of, invite, make_env
from conftest import TORONTO, local, make_rules, occurrence

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TORONTO)  # Monday 07:00
TUE, WED = date(2026, 11, 24), date(2026, 11, 25)

BLOCKS = """
- id: prospecting
  title: Prospecting calls
  kind: prospecting
  days: weekdays
  start: "08:30"
  end: "11:00"
  policy: decline
"""


def rules_with(hold: str = "48h") -> Rules:
    return make_rules(BLOCKS, extra=f"defaults: {{hold_offers: {hold}}}\n")


def run(rules: Rules, *occs: Occurrence, now: datetime = NOW, memory: Memory | None = None, owned: tuple[OwnedEvent, ...] = ()) -> Plan:
    return plan(rules, Snapshot(tuple(occs), owned), now, memory or Memory())


def remembered(p: Plan) -> RememberOwned:
    (r,) = [a for a in p.actions if isinstance(a, RememberOwned)]
    return r


def held_writes(p: Plan) -> list[WriteBlock]:
    return [a for a in p.calendar_changes if isinstance(a, WriteBlock) and role_of(a.block)[0] == "hold"]


# --- the planner ----------------------------------------------------------------------------


def test_each_offered_slot_becomes_a_held_event_for_its_organizer() -> None:
    rules = rules_with()
    p = run(rules, occurrence("bob@t", local(TUE, 9), summary="Listing review", organizer_name="Bob Client"))
    (c,) = p.declines
    holds = remembered(p).holds
    assert [h.start for h in holds] == list(c.alternatives) and len(holds) == 2
    assert [h.key for h in holds] == [f"{c.ref}-1", f"{c.ref}-2"]
    assert all(h.expires == NOW + timedelta(hours=48) and h.occurrence == ("bob@t", "") for h in holds)
    writes = held_writes(p)
    assert sorted(w.block for w in writes) == [f"hold:{c.ref}-1", f"hold:{c.ref}-2"]
    ev = icalendar.Event.from_ical(writes[0].event.ical)
    assert str(ev["SUMMARY"]) == "Held for Bob Client: Listing review"
    assert (str(ev["CLASS"]), str(ev["TRANSP"])) == ("PRIVATE", "OPAQUE")
    assert str(ev["X-BOUNDARYD-HOLD"]) == writes[0].block.split(":", 1)[1]


@pytest.mark.parametrize("off", ["0", '"0"'])
def test_holds_off_with_zero(off: str) -> None:
    rules = rules_with(off)
    assert rules.defaults.hold_offers == timedelta(0) and rules_with().defaults.hold_offers == timedelta(hours=48)
    p = run(rules, occurrence("bob@t", local(TUE, 9)))
    assert p.declines and not held_writes(p)
    assert not [a.holds for a in p.actions if isinstance(a, RememberOwned) and a.holds]  # no holds journaled


def _standing(rules: Rules, now: datetime = NOW) -> tuple[Memory, tuple[OwnedEvent, ...], list[Hold]]:
    """The memory and calendar after a sync declined Bob's Tuesday meeting and held two slots."""
    first = run(rules, occurrence("bob@t", local(TUE, 9)), now=now)
    holds = list(remembered(first).holds)
    owned = tuple(OwnedEvent(e.uid, e.block, e.fingerprint) for e in hold_events(holds, TORONTO).values())
    return Memory(holds=tuple(holds)), owned, holds


def test_a_standing_hold_is_kept_and_offered_to_no_one_else() -> None:
    rules = rules_with()
    memory, owned, holds = _standing(rules)
    later = NOW + timedelta(hours=1)
    # Bob's meeting is declined now (the owner's answer), Carol asks for the same Tuesday 09:00
    bob = occurrence("bob@t", local(TUE, 9), me="DECLINED")
    carol = occurrence("carol@t", local(TUE, 9), organizer="carol@other.example")
    p = run(rules, bob, carol, now=later, memory=memory, owned=owned)
    # the holds stand as written: nothing to write for them (only Carol's new ones)
    assert not [a for a in p.calendar_changes if a.block in {f"hold:{h.key}" for h in holds}]
    (c,) = p.declines
    hour = timedelta(hours=1)
    assert c.alternatives and all(not (a < h.end and a + hour > h.start) for a in c.alternatives for h in holds)
    assert {h.occurrence for h in remembered(p).holds} == {("carol@t", "")}  # Carol's own, new ones


def test_an_expired_hold_is_deleted_and_forgotten() -> None:
    rules = rules_with("2h")
    memory, owned, holds = _standing(rules)
    p = run(rules, occurrence("bob@t", local(TUE, 9), me="DECLINED"), now=NOW + timedelta(hours=2), memory=memory, owned=owned)
    assert sorted(a.block for a in p.calendar_changes if isinstance(a, RemoveBlock)) == sorted(f"hold:{h.key}" for h in holds)
    assert sorted(remembered(p).released) == sorted(h.key for h in holds)


def test_a_meeting_moved_into_a_held_slot_takes_it_and_every_hold_goes() -> None:
    rules = rules_with()
    memory, owned, holds = _standing(rules)
    moved = occurrence("bob@t", holds[1].start, sequence=3)
    p = run(rules, moved, now=NOW + timedelta(hours=3), memory=memory, owned=owned)
    assert not p.conflicts  # the held slot was free of blocks: the meeting fills it
    assert len([a for a in p.calendar_changes if isinstance(a, RemoveBlock)]) == 2
    assert sorted(remembered(p).released) == sorted(h.key for h in holds)


def test_a_decline_planned_again_offers_exactly_its_held_slots() -> None:
    """After a crash between journal and calendar, the decline is planned again: same slots, no new holds."""
    rules = rules_with()
    memory, owned, holds = _standing(rules)
    blocker = occurrence("new@t", holds[0].start, organizer=OWNER, me=None)  # something now sits on the first slot
    p = run(rules, occurrence("bob@t", local(TUE, 9)), blocker, now=NOW, memory=memory, owned=owned)
    (c,) = p.declines
    assert list(c.alternatives) == [h.start for h in holds]
    assert not [a for a in p.actions if isinstance(a, RememberOwned) and (a.holds or a.released)]  # no new holds


# --- end to end, through the command, on an iCalendar file -------------------------------------

RULES = """\
version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [{owner}]}}
working_hours: {{days: weekdays, start: "08:00", end: "18:00"}}
calendar:
  ics: {{path: {calendar}}}
notify:
  email: {{to: {owner}, from: boundaryd@example.com}}
defaults: {{decline_existing: true, hold_offers: 48h}}
blocks:
  - {{id: prospecting, title: Prospecting calls, kind: prospecting, days: weekdays, start: "08:30", end: "11:00", policy: decline}}
"""
T0 = "2026-11-23T07:00:00-05:00"


@pytest.fixture
def env(tmp_path: Path) -> Env:
    e = make_env(tmp_path)
    e.write_rules(text=RULES.format(owner=OWNER, calendar=e.calendar))
    e.calendar.write_bytes(calendar_of(invite("bob@t", "Listing review", local(TUE, 9))))
    return e


def held_on_calendar(path: Path) -> dict[str, tuple[datetime, str]]:
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return {str(c["X-BOUNDARYD-HOLD"]): (c["DTSTART"].dt, str(c["SUMMARY"])) for c in cal.walk("VEVENT") if "X-BOUNDARYD-HOLD" in c}


def test_end_to_end_held_then_expired(env: Env) -> None:
    out = json.loads(env.run("sync", "--now", T0, "--json").stdout)
    (c,) = out["conflicts"]
    held = held_on_calendar(env.calendar)
    assert sorted(held) == [f"{c['ref']}-1", f"{c['ref']}-2"]
    assert sorted(s.isoformat() for s, _ in held.values()) == sorted(c["alternatives"])
    assert {"create"} == {x["op"] for x in out["calendar_changes"] if x["block"].startswith("hold:")}
    before = (env.calendar.read_bytes(), env.calendar.stat().st_mtime_ns)
    again = json.loads(env.run("sync", "--now", "2026-11-23T08:00:00-05:00", "--json").stdout)
    assert again["calendar_changes"] == [] and (env.calendar.read_bytes(), env.calendar.stat().st_mtime_ns) == before
    gone = json.loads(env.run("sync", "--now", "2026-11-25T07:30:00-05:00", "--json").stdout)  # 48 h 30 min later
    assert sorted(x["block"] for x in gone["calendar_changes"] if x["op"] == "delete") == sorted(f"hold:{k}" for k in held)
    assert held_on_calendar(env.calendar) == {}


def test_end_to_end_meeting_moved_into_a_held_slot(env: Env) -> None:
    env.run("sync", "--now", T0)
    held = held_on_calendar(env.calendar)
    first = min(s for s, _ in held.values())
    cal = icalendar.Calendar.from_ical(env.calendar.read_bytes())
    for ev in cal.walk("VEVENT"):
        if str(ev["UID"]) == "bob@t":  # the organizer moves it into the first held slot (a new invitation)
            ev["DTSTART"].dt = first
            ev["DTEND"].dt = first + timedelta(hours=1)
            ev["SEQUENCE"] = 3
            for a in ev["ATTENDEE"]:
                a.params["PARTSTAT"] = "ACCEPTED" if "bob@" in str(a) else "NEEDS-ACTION"
    env.calendar.write_bytes(cal.to_ical())
    out = json.loads(env.run("sync", "--now", "2026-11-23T09:00:00-05:00", "--json").stdout)
    assert out["conflicts"] == []
    assert held_on_calendar(env.calendar) == {}


def test_end_to_end_a_later_decline_never_gets_a_held_slot(env: Env) -> None:
    env.run("sync", "--now", T0)
    held = held_on_calendar(env.calendar)
    cal = icalendar.Calendar.from_ical(env.calendar.read_bytes())
    cal.add_component(invite("carol@t", "Showing", local(TUE, 9, 30), organizer="carol@other.example"))
    env.calendar.write_bytes(cal.to_ical())
    out = json.loads(env.run("sync", "--now", "2026-11-23T08:00:00-05:00", "--json").stdout)
    (c,) = out["conflicts"]
    taken = {s for s, _ in held.values()}
    offered = {datetime.fromisoformat(a) for a in c["alternatives"]}
    assert offered and not any(abs(o - t) < timedelta(hours=1) for o in offered for t in taken)
    assert len(held_on_calendar(env.calendar)) == 4


def test_a_held_slot_overlapping_the_declined_time_is_not_taken_by_the_meeting_still_there() -> None:
    """An offered slot may overlap the declined meeting's own time (9:00 offered for 8:30–9:30): the
    meeting still at its old time has not moved into it, so its holds stand; moved inside, it takes it."""
    from boundaryd.core.holds import standing

    held = Hold("abc123-1", ("m@x", ""), "Bob", "Review", local(TUE, 9), local(TUE, 10), expires=NOW + timedelta(hours=48))
    still_there = occurrence("m@x", local(TUE, 8, 30), 60, me="DECLINED")
    kept = standing([held], [still_there], NOW)
    assert kept.holds == (held,) and kept.released == () and kept.taken == ()
    moved = occurrence("m@x", local(TUE, 9), 60)
    taken = standing([held], [moved], NOW)
    assert taken.holds == () and taken.released == ("abc123-1",) and taken.taken == (("m@x", ""),)
