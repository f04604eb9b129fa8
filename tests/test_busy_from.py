"""busy_from in whole syncs (App -> sources -> planner -> executor) on an iCalendar main calendar:
collisions decided by the source's policy, alternatives around source events, mirrors that follow
their events, and a failing source that neither stops enforcement nor removes mirrors in a panic."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from boundaryd.core.model import Decision
from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App
from clirun import calendar_of, invite
from feed_server import FeedServer, Route

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)  # a Monday morning
SECRETS = ("Field trip", "School pickup", "Grandma visiting", "Recital")

RULES = """\
version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [alice@example.com]}}
working_hours: {{days: weekdays, start: "08:00", end: "18:00"}}
calendar:
  ics: {{path: {calendar}}}
notify:
  email: {{to: alice@example.com, from: boundaryd@example.com}}
defaults: {{decline_existing: true, message: "I have {{block}} then; could we meet {{alternatives}}?"}}
blocks:
  - {{id: prospecting, title: Prospecting calls, days: weekdays, start: "08:30", end: "11:00", policy: decline}}
busy_from:
{sources}"""


def at(day: int, hh: int, mm: int = 0) -> datetime:
    """Day 0 is Monday 2026-11-23."""
    return datetime.combine(date(2026, 11, 23) + timedelta(days=day), time(hh, mm), TZ)


def family_event(uid: str, summary: str, start: datetime | date, minutes: int = 60) -> icalendar.Event:
    if isinstance(start, datetime):
        return invite(uid, summary, start, minutes, organizer=None)
    ev = icalendar.Event()
    ev.add("UID", uid)
    ev.add("DTSTAMP", datetime(2026, 11, 1, 12, 0, tzinfo=TZ))
    ev.add("SUMMARY", summary)
    ev.add("DTSTART", start)
    ev.add("DTEND", start + timedelta(days=1))
    return ev


FAMILY = [
    family_event("trip@family", "Field trip", at(1, 13), 300),  # Tue 13:00-18:00
    family_event("pickup@family", "School pickup", at(2, 13), 180),  # Wed 13:00-16:00
    family_event("grandma@family", "Grandma visiting", date(2026, 11, 26)),  # Thu, all day
]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with FeedServer() as feed:
        feed.routes["/family.ics"] = Route(calendar_of(*FAMILY))
        cal = tmp_path / "calendar.ics"
        cal.write_bytes(calendar_of(
            invite("call@t", "Client call", at(1, 14)),  # Tue 14:00, on the field trip: declined
            invite("thu@t", "Thursday review", at(3, 15)),  # Thu 15:00, on grandma's all-day visit
            invite("free@t", "Lunch", at(0, 12)),  # Mon 12:00: nothing there
        ))
        rules_path = tmp_path / "rules.yaml"
        sources = f'  - {{name: Family, ics_url: "{feed.url("/family.ics")}", policy: decline, mirror: true}}\n'
        rules_path.write_text(RULES.format(calendar=cal, sources=sources))
        yield {"feed": feed, "cal": cal, "state": tmp_path / "state", "rules_path": rules_path,
               "rules": load_rules(rules_path)}


def sync(world: dict[str, Any], hours: float = 0) -> Any:
    return App(world["rules_path"], world["state"]).sync(world["rules"], NOW + timedelta(hours=hours))


def mirrors(cal: Path) -> dict[str, icalendar.Event]:
    parsed = icalendar.Calendar.from_ical(cal.read_bytes())
    return {str(e["X-BOUNDARYD-MIRROR"]): e for e in parsed.walk("VEVENT") if "X-BOUNDARYD-MIRROR" in e}


def outbox(state: Path) -> list[email.message.EmailMessage]:
    files = sorted(p for p in (state / "outbox").rglob("bd.*") if p.is_file() and p.parent.name != "tmp")
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files]  # type: ignore[misc]


def test_a_meeting_on_a_family_event_is_declined_as_a_prior_commitment(world: dict[str, Any]) -> None:
    plan = sync(world).plan
    by_uid = {c.occurrence.uid: c for c in plan.conflicts}
    call = by_uid["call@t"]
    assert call.decision is Decision.DECLINE
    assert call.block == "busy_from:Family"
    assert "Family: Field trip" in call.reason  # the owner reads the source and the title
    assert "a prior commitment" in call.message
    assert not any(s in call.message for s in SECRETS)
    # the alternatives avoid the family's events too (Tue afternoon, Wed 13:00-16:00, all of Thursday)
    family = [(e.decoded("DTSTART"), e.decoded("DTEND")) for e in FAMILY if isinstance(e.decoded("DTSTART"), datetime)]
    assert call.alternatives
    for a in call.alternatives:
        assert a.date() != date(2026, 11, 26)
        assert not any(s < a + timedelta(hours=1) and e > a for s, e in family), a
    # an all-day source event is like an all-day block: the timed meeting that day collides
    assert by_uid["thu@t"].decision is Decision.DECLINE and "Grandma visiting" in by_uid["thu@t"].reason
    assert "free@t" not in by_uid
    # nothing an organizer reads names a family event: not the replies, not the owner's calendar
    for msg in outbox(world["state"]):
        if "bob@client.example" in str(msg["To"]):
            assert not any(s in msg.as_string() for s in SECRETS)
    main = world["cal"].read_text()
    assert not any(s in main for s in SECRETS)


def test_mirrors_are_written_moved_and_removed_with_their_events(world: dict[str, Any]) -> None:
    first = sync(world)
    made = mirrors(world["cal"])
    assert len(made) == 3
    assert {str(e["SUMMARY"]) for e in made.values()} == {"Busy"}
    assert {str(e["CLASS"]) for e in made.values()} == {"PRIVATE"}
    assert [c.op for c in first.plan.calendar_changes if c.block.startswith("mirror:")] == ["create"] * 3
    trip = next(e for k, e in made.items() if "trip@family" in k)
    assert trip.decoded("DTSTART") == at(1, 13)
    # nothing new: one conditional request (a 304), nothing written
    before = world["cal"].read_bytes()
    assert not sync(world).plan.calendar_changes
    assert world["feed"].hits["/family.ics"] == [200, 304]
    assert world["cal"].read_bytes() == before
    # the trip moves to Friday, the pickup is cancelled from the feed
    world["feed"].routes["/family.ics"] = Route(calendar_of(
        family_event("trip@family", "Field trip", at(4, 9), 120), FAMILY[2]))
    changes = {(c.op, c.block.split("|")[1]) for c in sync(world, 1).plan.calendar_changes}
    assert changes == {("update", "trip@family"), ("delete", "pickup@family")}
    now = mirrors(world["cal"])
    assert len(now) == 2
    assert next(e for k, e in now.items() if "trip@family" in k).decoded("DTSTART") == at(4, 9)


def test_a_failing_source_keeps_its_mirrors_and_enforcement_going_and_tells_the_owner_once(world: dict[str, Any]) -> None:
    sync(world)
    assert len(mirrors(world["cal"])) == 3
    world["feed"].routes["/family.ics"] = Route(status=500)
    # a new invitation on a block arrives while the family feed is down: still declined
    cal = icalendar.Calendar.from_ical(world["cal"].read_bytes())
    cal.add_component(invite("new@t", "Pipeline review", at(2, 9)))
    cal.add_component(invite("pick@t", "Vendor demo", at(2, 14)))  # on the school pickup
    world["cal"].write_bytes(cal.to_ical())
    down = sync(world, 1)
    assert {c.occurrence.uid: c.decision for c in down.plan.conflicts}["new@t"] is Decision.DECLINE
    assert not [c for c in down.plan.calendar_changes if c.block.startswith("mirror:")]  # no panic
    # its last good copy still counts: the meeting on the field trip is still a conflict
    pick = next(c for c in down.plan.conflicts if c.occurrence.uid == "pick@t")
    assert pick.decision is Decision.DECLINE and "School pickup" in pick.reason
    sync(world, 2)
    alerts = [m for m in outbox(world["state"]) if "cannot read your Family calendar" in str(m["Subject"])]
    assert len(alerts) == 1
    assert "HTTP 500" in alerts[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # a day later the copy no longer stands: its events stop counting, their mirrors go
    late = sync(world, 26)
    assert sorted(c.op for c in late.plan.calendar_changes if c.block.startswith("mirror:")) == ["delete"] * 3
    assert not mirrors(world["cal"])
    assert "thu@t" not in {c.occurrence.uid for c in late.plan.conflicts}
    # the feed is back: mirrors again, and a later failure is told again
    world["feed"].routes["/family.ics"] = Route(calendar_of(*FAMILY))
    sync(world, 27)
    assert len(mirrors(world["cal"])) == 3
    world["feed"].routes["/family.ics"] = Route(status=401)
    sync(world, 28)
    sync(world, 29)
    alerts = [m for m in outbox(world["state"]) if "cannot read your Family calendar" in str(m["Subject"])]
    assert len(alerts) == 2


def test_a_local_file_source_with_titles_and_a_flag_policy(tmp_path: Path) -> None:
    kids = tmp_path / "kids.ics"
    kids.write_bytes(calendar_of(family_event("game@kids", "Hockey game", at(1, 9), 90)))
    cal = tmp_path / "calendar.ics"
    cal.write_bytes(calendar_of(invite("m@t", "Standup", at(1, 12)), invite("g@t", "Board", at(1, 9, 30))))
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(RULES.format(calendar=cal, sources=f"  - {{name: Kids, ics: {{path: {kids}}}, mirror: true, mirror_titles: true}}\n"))
    rules = load_rules(rules_path)
    plan = App(rules_path, tmp_path / "state").sync(rules, NOW).plan
    board = next(c for c in plan.conflicts if c.occurrence.uid == "g@t")
    # on the prospecting block (decline) and the hockey game (flag): the strictest wins
    assert board.decision is Decision.DECLINE and board.block == "prospecting"
    assert board.blocks == ("prospecting", "busy_from:Kids")
    assert [str(e["SUMMARY"]) for e in mirrors(cal).values()] == ["Hockey game"]
    # the file goes away: the last good copy stands, nothing breaks
    kids.unlink()
    again = App(rules_path, tmp_path / "state").sync(rules, NOW + timedelta(hours=1)).plan
    assert [str(e["SUMMARY"]) for e in mirrors(cal).values()] == ["Hockey game"]
    assert not again.calendar_changes


def test_doctor_checks_every_source(world: dict[str, Any], tmp_path: Path) -> None:
    from boundaryd.cli.doctor import exit_code, findings
    from boundaryd.presentation.doctor import line

    world["feed"].routes["/down.ics"] = Route(status=401)
    extra = (f'  - {{name: School, ics_url: "{world["feed"].url("/down.ics")}"}}\n'
             f'  - {{name: Kids, ics: {{path: {tmp_path / "nope.ics"}}}}}\n')
    world["rules_path"].write_text(world["rules_path"].read_text() + extra)
    found = [f for f in findings(world["rules_path"], world["state"]) if f.part.startswith("busy")]
    lines = [line(f) for f in found]
    assert [f.status for f in found] == ["ok", "unreachable", "misconfigured"], lines
    assert "Family (http://127.0.0.1:" in lines[0] and "reachable" in lines[0]
    assert "HTTP 401" in lines[1] and "/down.ics" not in lines[1]  # a feed's path may hold its key
    assert "nope.ics" in lines[2]
    assert exit_code(found) == 2


def test_a_mirror_stays_while_its_event_runs_and_goes_when_it_is_over(world: dict[str, Any]) -> None:
    world["feed"].routes["/family.ics"] = Route(calendar_of(family_event("run@family", "Run", at(0, 7, 30), 90)))
    assert [c.op for c in sync(world).plan.calendar_changes if c.block.startswith("mirror:")] == ["create"]
    assert not [c for c in sync(world, 1).plan.calendar_changes if c.block.startswith("mirror:")]  # 08:00, running
    over = sync(world, 2.5).plan  # 09:30
    assert [c.op for c in over.calendar_changes if c.block.startswith("mirror:")] == ["delete"]
    assert not sync(world, 3).plan.calendar_changes
