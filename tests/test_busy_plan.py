"""busy_from in the pure planner: source events arrive with the snapshot (``Snapshot.busy``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from boundaryd.core import busy
from boundaryd.core.model import AllowEntry, Attendee, BusyEvent, Decision, Memory, Occurrence, Snapshot
from boundaryd.core.planner import plan
from boundaryd.core.rules import load_rules

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
ME = "alice@example.com"

RULES = """\
version: 1
timezone: America/Toronto
owner: {{emails: [alice@example.com]}}
defaults: {{decline_existing: {existing}}}
blocks:
  - {{id: prospecting, days: weekdays, start: "08:30", end: "11:00", policy: {block_policy}}}
busy_from:
  - {{name: Family, ics: {{path: /tmp/family.ics}}, policy: {policy}, mirror: true}}
"""


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(date(2026, 11, 23) + timedelta(days=day), time(hh, mm), TZ)


def rules(tmp_path: Path, policy: str = "decline", block_policy: str = "flag", existing: bool = True) -> Any:
    p = tmp_path / "rules.yaml"
    p.write_text(RULES.format(policy=policy, block_policy=block_policy, existing=str(existing).lower()))
    return load_rules(p)


def meeting(uid: str, start: datetime, minutes: int = 60, all_day: bool = False) -> Occurrence:
    return Occurrence(uid, None, "Meeting", start, start + timedelta(minutes=minutes), all_day=all_day,
                      organizer="bob@client.example",
                      attendees=(Attendee("bob@client.example", "ACCEPTED"), Attendee(ME)))


def family(uid: str, start: datetime, minutes: int = 60, all_day: bool = False, summary: str = "Recital") -> BusyEvent:
    return BusyEvent("Family", uid, "", summary, start, start + timedelta(minutes=minutes), all_day)


def decided(r: Any, occs: list[Occurrence], events: list[BusyEvent], memory: Memory | None = None) -> dict[str, Any]:
    p = plan(r, Snapshot(tuple(occs), busy=tuple(events)), NOW, memory or Memory())
    return {c.occurrence.uid: c for c in p.conflicts}


@pytest.mark.parametrize(("policy", "decision"), [("decline", Decision.DECLINE), ("flag", Decision.FLAG), ("keep", Decision.KEEP)])
def test_the_source_policy_decides_like_a_block(tmp_path: Path, policy: str, decision: Decision) -> None:
    c = decided(rules(tmp_path, policy), [meeting("m", at(1, 18))], [family("r", at(1, 18, 30))])["m"]
    assert c.decision is decision and c.block == "busy_from:Family"
    assert "Family: Recital" in c.reason
    assert c.trace.verdicts[0].label == "Family: Recital"


def test_strictest_wins_across_blocks_and_sources(tmp_path: Path) -> None:
    r = rules(tmp_path, "decline", block_policy="flag")
    c = decided(r, [meeting("m", at(1, 10))], [family("r", at(1, 10))])["m"]
    assert (c.decision, c.block, c.blocks) == (Decision.DECLINE, "busy_from:Family", ("prospecting", "busy_from:Family"))
    r = rules(tmp_path, "flag", block_policy="decline")
    c = decided(r, [meeting("m", at(1, 10))], [family("r", at(1, 10))])["m"]
    assert (c.decision, c.block) == (Decision.DECLINE, "prospecting")


def test_all_day_source_events_are_like_all_day_blocks(tmp_path: Path) -> None:
    r = rules(tmp_path)
    day = datetime.combine(date(2026, 11, 25), time(0), TZ)
    got = decided(r, [meeting("timed", at(2, 15)), meeting("allday", day, 24 * 60, all_day=True)],
                  [family("away", day, 24 * 60, all_day=True)])
    assert got["timed"].decision is Decision.DECLINE and got["allday"].decision is Decision.DECLINE
    # a timed source event does not collide with an all-day meeting
    got = decided(r, [meeting("allday", day, 24 * 60, all_day=True)], [family("r", at(2, 15))])
    assert "allday" not in got


def test_the_same_event_on_both_calendars_is_no_collision(tmp_path: Path) -> None:
    assert not decided(rules(tmp_path), [meeting("same@x", at(1, 18))], [family("same@x", at(1, 18))])


def test_allow_and_the_owners_own_answer_still_count(tmp_path: Path) -> None:
    r = rules(tmp_path)
    allowed = Memory(allowed=(AllowEntry("m"),))
    assert decided(r, [meeting("m", at(1, 18))], [family("r", at(1, 18))], allowed)["m"].decision is Decision.ALLOW
    accepted = meeting("a", at(1, 18))
    accepted = replace(accepted, attendees=(Attendee(ME, "ACCEPTED"),))
    c = decided(r, [accepted], [family("r", at(1, 18))])["a"]
    assert c.decision is Decision.FLAG and "already accepted" in c.reason


def test_meetings_there_when_a_source_first_applies_are_flagged(tmp_path: Path) -> None:
    r = rules(tmp_path, existing=False)
    first = plan(r, Snapshot((meeting("m", at(1, 18)),), busy=(family("r", at(1, 18)),)), NOW, Memory(applied={}))
    (c,) = first.conflicts
    assert c.decision is Decision.FLAG and "Family" in c.reason


def test_the_decline_message_names_no_source_event(tmp_path: Path) -> None:
    p = tmp_path / "rules.yaml"
    p.write_text(RULES.format(policy="decline", block_policy="flag", existing="true").replace(
        "defaults: {decline_existing: true}", 'defaults: {decline_existing: true, message: "I have {block}; {alternatives}?"}'))
    c = decided(load_rules(p), [meeting("m", at(1, 18))], [family("r", at(1, 18), summary="Secret surgery")])["m"]
    assert "a prior commitment" in c.message and "Secret" not in c.message and "Family" not in c.message


def test_alternatives_avoid_source_events(tmp_path: Path) -> None:
    r = rules(tmp_path)
    # the whole working day Tuesday (after the meeting) and Wednesday is family time
    events = [family("r", at(1, 9), 8 * 60), family("s", at(2, 9), 8 * 60, summary="Trip")]
    c = decided(r, [meeting("m", at(1, 12))], events)["m"]
    assert c.alternatives and all(a.date() >= date(2026, 11, 26) for a in c.alternatives)


def test_mirrors_one_per_event_keyed_by_source_uid_and_occurrence(tmp_path: Path) -> None:
    r = rules(tmp_path)
    day = datetime.combine(date(2026, 11, 25), time(0), TZ)
    events = [family("r", at(1, 18)), family("away", day, 24 * 60, all_day=True),
              BusyEvent("Family", "x" * 300, at(3, 9).isoformat(), "Long", at(3, 9), at(3, 10))]
    made = busy.mirrors(r, [*events, family("over", at(0, 5), 60)], NOW)  # over by now: no mirror
    assert len(made) == 3 and {e.title for e in made.values()} == {"Busy"}
    assert all(len(e.block) < 200 for e in made.values())
    assert "DTSTART;VALUE=DATE:20261125" in next(e.ical for e in made.values() if "away" in e.block)
    p = plan(r, Snapshot((), busy=tuple(events)), NOW)
    assert sorted(ch.op for ch in p.calendar_changes if ch.block.startswith("mirror:")) == ["create"] * 3


def test_why_names_the_source_event_of_a_decline_already_made(tmp_path: Path) -> None:
    r = rules(tmp_path)
    declined = meeting("m", at(1, 18))
    declined = replace(declined, attendees=(Attendee("bob@client.example", "ACCEPTED"), Attendee(ME, "DECLINED")))
    (v,) = busy.verdicts(r, declined, [family("r", at(1, 18))], Memory())
    assert (v.label, v.decision) == ("Family: Recital", Decision.DECLINE)


def test_a_source_applies_from_its_first_plan_even_with_nothing_on_it(tmp_path: Path) -> None:
    r = rules(tmp_path, existing=False)
    empty = plan(r, Snapshot((meeting("m", at(1, 18)),)), NOW, Memory(applied={}))
    remembered = dict(next(a for a in empty.actions if type(a).__name__ == "Remember").applied)
    key = next(k for k in remembered if k.startswith("busy_from:Family:"))
    # later the family adds an event on a meeting that arrived after the source applied: declined
    later = plan(r, Snapshot((meeting("m2", at(2, 18)),), busy=(family("r", at(2, 18)),)), NOW,
                 Memory(applied={**remembered, key: ()}))
    assert later.conflicts[0].decision is Decision.DECLINE


def test_a_new_lead_on_a_source_event_is_flagged_never_declined(tmp_path: Path) -> None:
    p = tmp_path / "rules.yaml"
    p.write_text(RULES.format(policy="decline", block_policy="flag", existing="true")
                 + 'leads: {new_contacts: false, people: ["*@client.example"]}\n')
    c = decided(load_rules(p), [meeting("m", at(1, 18))], [family("r", at(1, 18))])["m"]
    assert c.decision is Decision.FLAG and "new lead" in c.reason and "Family: Recital" in c.reason
