"""One contract for every calendar backend, through whole syncs: the same scenarios, the same
calendar afterwards. The backend-level scenarios are in ``test_contract_*.py``; the worlds (memory,
ics, Radicale, Xandikos, the Google stand-in) are ``contract_worlds``'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

import contract_worlds
from boundaryd.core.model import Occurrence, Snapshot
from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App
from clirun import BLOCKS, OWNER, invite

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)

RULES = """\
version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [{owner}]}}
working_hours: {{days: weekdays, start: "08:00", end: "18:00"}}
calendar:
{calendar}
notify:
  replies: auto
defaults: {{decline_existing: true}}
blocks:
{blocks}"""



def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 23, hh, mm, tzinfo=TZ) + timedelta(days=day)


@dataclass
class AppWorld:
    """A contract world (``contract_worlds``) driven through whole syncs: App -> planner -> executor."""

    calendar: contract_worlds.World
    root: Path

    @property
    def name(self) -> str:
        return self.calendar.name

    @property
    def tells_organizer(self) -> bool:
        return self.calendar.tells_organizer

    @property
    def marks_flags(self) -> bool:
        return self.calendar.marks_flags

    @property
    def declines_instances(self) -> bool:
        return self.calendar.declines_instances

    @property
    def keeps_comment(self) -> bool:
        return self.calendar.keeps_comment

    def seed(self, events: list[icalendar.Event]) -> None:
        for ev in events:
            self.calendar.put(ev)

    def rules(self, blocks: str = BLOCKS) -> Any:
        path = self.root / "rules.yaml"
        path.write_text(RULES.format(owner=OWNER, calendar=self.calendar.calendar_yaml(), blocks=blocks))
        return load_rules(path)

    def app(self) -> App:
        return App(self.root / "rules.yaml", self.root / "state", self.calendar.calendar_uri())

    def sync(self, rules: Any, minutes: int = 0) -> Any:
        return self.app().sync(rules, NOW + timedelta(minutes=minutes))

    def read(self, rules: Any) -> Snapshot:
        return self.app().executor(rules).snapshot(NOW)


@pytest.fixture
def world(world: contract_worlds.World, tmp_path: Path) -> AppWorld:
    """The conftest's world (one per backend), driven through App."""
    return AppWorld(world, tmp_path)


# --- scenarios --------------------------------------------------------------------------------


def occ(snap: Snapshot, uid: str, start: datetime) -> Occurrence:
    found = [o for o in snap.occurrences if o.uid == uid and o.start == start]
    assert len(found) == 1, f"{uid} at {start}: {[(o.uid, o.start) for o in snap.occurrences]}"
    return found[0]


def me(o: Occurrence) -> str:
    return next(a.partstat for a in o.attendees if a.email == OWNER)


def seed_week(world: AppWorld) -> None:
    world.seed(
        [
            invite("single@contract", "Listing review", at(1, 9)),
            # Wednesdays on prospecting, Saturdays free: not a standing conflict, declined one by one
            invite("series@contract", "Weekly sync", at(2, 10), 30, rrule={"FREQ": ["WEEKLY"], "BYDAY": ["WE", "SA"], "COUNT": ["8"]}),
            invite("vip@contract", "VIP review", at(3, 9), organizer="ceo@bigclient.com"),
            invite("call@contract", "Quick call", at(0, 11, 30), 30),
            invite("lunch@contract", "Lunch", at(0, 12, 15), 45),
        ]
    )


def test_blocks_are_written_as_recurring_busy_events(world: AppWorld) -> None:
    rules = world.rules()
    first = world.sync(rules)
    assert sorted((c.op, c.block) for c in first.plan.calendar_changes) == [
        ("create", "call-return"),
        ("create", "call-return"),
        ("create", "prospecting"),
    ]
    snap = world.read(rules)
    assert sorted(o.block for o in snap.owned) == ["call-return", "call-return", "prospecting"]
    blocks = sorted((o.start, o.end) for o in snap.occurrences if o.owned_block == "prospecting")
    assert blocks[0] == (at(0, 8, 30), at(0, 11))
    assert len(blocks) == 10  # two working weeks
    assert all(not o.transparent for o in snap.occurrences if o.owned_block)
    again = world.sync(rules, 1)
    assert again.plan.calendar_changes == ()


def test_declines_one_occurrence_flags_and_allows(world: AppWorld) -> None:
    seed_week(world)
    rules = world.rules()
    result = world.sync(rules)
    decisions = {(c.occurrence.uid, c.occurrence.start): c.decision.value for c in result.plan.conflicts}
    assert decisions == {
        ("call@contract", at(0, 11, 30)): "flag",
        ("single@contract", at(1, 9)): "decline",
        ("series@contract", at(2, 10)): "decline",
        ("vip@contract", at(3, 9)): "allow",
        ("series@contract", at(9, 10)): "decline",
    }
    snap = world.read(rules)
    assert me(occ(snap, "single@contract", at(1, 9))) == "DECLINED"
    if world.declines_instances:
        assert result.refused == []
        assert me(occ(snap, "series@contract", at(2, 10))) == "DECLINED"
        assert me(occ(snap, "series@contract", at(9, 10))) == "DECLINED"
    else:  # the server refuses an attendee's override: said once per occurrence, the rest enforced
        assert len(result.refused) == 2 and all("series@contract" in r for r in result.refused)
        assert me(occ(snap, "series@contract", at(2, 10))) == "NEEDS-ACTION"
    assert me(occ(snap, "vip@contract", at(3, 9))) == "NEEDS-ACTION"
    assert ("Conflict" in occ(snap, "call@contract", at(0, 11, 30)).categories) == world.marks_flags
    assert "Conflict" not in occ(snap, "lunch@contract", at(0, 12, 15)).categories
    # replies: ours unless the server tells the organizer itself, with the message
    replies = [s for s in result.queued if s.startswith("Declined")]
    assert len(replies) == (0 if world.tells_organizer and world.keeps_comment else 3)

    second = world.sync(rules, 1)
    assert second.refused == []  # a refused decline is reported once, not tried every cycle
    assert second.plan.calendar_changes == ()
    assert second.declined == (0 if world.declines_instances else 2)
    assert second.plan.notices == () and second.queued == []


def test_changed_and_removed_blocks(world: AppWorld) -> None:
    rules = world.rules()
    world.sync(rules)
    changed = world.rules(BLOCKS.replace("title: Prospecting calls", "title: Prospecting").split("  - id: call-return")[0])
    result = world.sync(changed, 1)
    assert sorted((c.op, c.block) for c in result.plan.calendar_changes) == [
        ("delete", "call-return"),
        ("delete", "call-return"),
        ("update", "prospecting"),
    ]
    snap = world.read(changed)
    assert [o.block for o in snap.owned] == ["prospecting"]
    titles = {o.summary for o in snap.occurrences if o.owned_block}
    assert titles == {"Prospecting"}
    assert world.sync(changed, 2).plan.calendar_changes == ()
