"""Random lives of a calendar: rule edits, invitations moved and cancelled by others, syncs, and
syncs that die at any executor step — with the invariants checked after every step:

- after a sync that finished, the blocks on the calendar are exactly the rules' instances, and a
  second sync has nothing left to do;
- an event boundaryd does not own differs from what its organizer wrote only in the owner's
  answer (PARTSTAT) and the conflict mark;
- no reply and no notice is sent twice, whatever crashed where.

The calendar is the memory backend (calendars/memory.py, through tests/memcal.py); the journal, the outbox and the executor
are the real ones. ``make test`` runs a short profile, ``make test-slow`` a long one.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import icalendar
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from boundaryd.core import ical
from boundaryd.core.ical_owned import is_block
from boundaryd.core.model import Capabilities, Occurrence
from boundaryd.core.rules import Rules, load_rules_text
from boundaryd.engine.app import App
from boundaryd.engine.executor import Executor
from calendar_life import (
    HORIZON,
    SEEN,
    START,
    TZ,
    UNTOLD,
    BlockSpec,
    EventSpec,
    answerless,
    expected_blocks,
    outbox_messages,
    owner_partstat,
    reported,
    rules_text,
)
from memcal import MemoryCalendar


class Crash(Exception):
    """A sync dying at an executor step (raised by the step hook)."""


# --- the machine -------------------------------------------------------------------------------

times = st.builds(time, st.integers(8, 16), st.sampled_from([0, 30]))
block_specs = st.builds(
    BlockSpec,
    days=st.lists(st.integers(0, 6), min_size=2, max_size=6, unique=True).map(lambda d: tuple(sorted(d))),
    start=times,
    minutes=st.sampled_from([60, 120, 180, 240]),
    policy=st.sampled_from(["decline", "decline", "flag", "keep"]),
    all_day=st.sampled_from([False, False, False, True]),
)
organizers = st.sampled_from(["bob@client.example", "bob@client.example", "pat@bigclient.com", ""])
uids = st.sampled_from([f"e{i}" for i in range(6)])


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="bd-sm-"))
        self.state = self.root / "state"
        self.now = START
        self.blocks: dict[str, BlockSpec] = {}
        self.events: dict[str, EventSpec] = {}
        self.replies = "auto"
        self.calendar = MemoryCalendar()
        self.settled = False  # the last sync finished and nothing changed since
        self.syncs = 0

    def teardown(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    @initialize(
        first=block_specs,
        replies=st.sampled_from(["auto", "outbox", "off"]),
        tells=st.booleans(),
        invitations=st.lists(st.tuples(uids, st.integers(0, 7), st.integers(0, 3), organizers, st.booleans()), max_size=4),
    )
    def setup(
        self, first: BlockSpec, replies: str, tells: bool, invitations: Sequence[tuple[str, int, int, str, bool]] = ()
    ) -> None:
        self.blocks["a"] = first
        self.replies = replies
        self.calendar = MemoryCalendar(Capabilities(tells_organizer=tells))
        for uid, day, quarter, organizer, weekly in invitations:  # a calendar with meetings on block a
            self.invite(uid, day, time(8, 15 * quarter), 60, organizer, weekly, False, "a")

    # -- the world -----------------------------------------------------------------------------
    def current_rules(self) -> Rules:
        return load_rules_text(rules_text(self.blocks, self.replies), "rules.yaml")

    def _others_write(self, spec: EventSpec) -> None:
        self.events[spec.uid] = spec
        self.calendar.replace_event(spec.uid, spec.components())
        self.settled = False

    @rule(bid=st.sampled_from(["a", "b", "c"]), spec=block_specs)
    def edit_block(self, bid: str, spec: BlockSpec) -> None:
        self.blocks[bid] = spec
        self.settled = False

    @precondition(lambda self: len(self.blocks) > 1)
    @rule(bid=st.sampled_from(["a", "b", "c"]))
    def remove_block(self, bid: str) -> None:
        if bid in self.blocks and len(self.blocks) > 1:
            del self.blocks[bid]
            self.settled = False

    @rule(
        uid=uids,
        day=st.integers(0, 7),
        at=st.builds(time, st.integers(8, 19), st.sampled_from([0, 15, 30, 45])),
        minutes=st.sampled_from([30, 45, 60, 120]),
        organizer=organizers,
        weekly=st.booleans(),
        accepted=st.booleans(),
        on=st.sampled_from(["a", "b", "c"]) | st.none(),
    )
    def invite(
        self, uid: str, day: int, at: time, minutes: int, organizer: str, weekly: bool, accepted: bool, on: str | None
    ) -> None:
        """A new invitation (or a new version of one), at a time of its own or on a block (``on``)."""
        block = self.blocks.get(on or "")
        if block is not None:  # on that block's day and time, give or take
            first = START.date() + timedelta(days=day)
            d = next(first + timedelta(days=k) for k in range(7) if (first + timedelta(days=k)).weekday() in block.days)
            start = datetime.combine(d, block.start, TZ) + timedelta(minutes=15 * (at.minute // 15) - 15)
        else:
            start = datetime.combine(START.date() + timedelta(days=day), at, TZ)
        old = self.events.get(uid)
        seq = old.sequence + 1 if old else 0
        partstat = "ACCEPTED" if accepted else "NEEDS-ACTION"
        self._others_write(EventSpec(uid, start, minutes, organizer, weekly, partstat, sequence=seq))

    @precondition(lambda self: any(not e.weekly and not e.cancelled for e in self.events.values()))
    @rule(data=st.data(), hours=st.integers(-30, 30))
    def move(self, data: st.DataObject, hours: int) -> None:
        uid = data.draw(st.sampled_from(sorted(u for u, e in self.events.items() if not e.weekly and not e.cancelled)))
        e = self.events[uid]  # the organizer moves it: everyone's answer is asked again
        self._others_write(replace(e, start=e.start + timedelta(hours=hours), partstat="NEEDS-ACTION", sequence=e.sequence + 1))

    @precondition(lambda self: any(not e.cancelled for e in self.events.values()))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        uid = data.draw(st.sampled_from(sorted(u for u, e in self.events.items() if not e.cancelled)))
        e = self.events[uid]
        self._others_write(replace(e, cancelled=True, sequence=e.sequence + 1))

    @rule(minutes=st.integers(0, 300))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        self.settled = False

    # -- boundaryd -----------------------------------------------------------------------------
    def _sync(self, crash_at: int | None = None) -> bool:
        """One sync; ``crash_at``: die at that step (counted from 0). True when it finished."""
        seen: list[str] = []

        def hook(name: str) -> None:
            seen.append(name)
            if crash_at is not None and len(seen) - 1 == crash_at:
                raise Crash(name)

        rules = self.current_rules()
        app = App(self.root / "rules.yaml", self.state)
        try:
            ex = Executor(rules, self.calendar, app.journal, self.state, None, hook)
            app.sync(rules, self.now, ex)
            return True
        except Crash:
            return False
        finally:
            app.journal.close()
            self.syncs += 1

    @rule()
    def sync(self) -> None:
        self.settled = self._sync()
        assert self.settled
        before = (len(outbox_messages(self.state)), self.calendar.writes)
        app = App(self.root / "rules.yaml", self.state)
        try:  # a second sync right after has nothing left to do
            again = app.sync(self.current_rules(), self.now, Executor(self.current_rules(), self.calendar, app.journal, self.state))
        finally:
            app.journal.close()
        assert again.plan.calendar_changes == () and again.plan.decline_actions == () and again.plan.messages == ()
        assert (len(outbox_messages(self.state)), self.calendar.writes) == before

    @rule(at=st.integers(0, 1000))
    def crashing_sync(self, at: int) -> None:
        """A sync that dies at one of its steps (``at`` picks which, whatever their number)."""
        rules = self.current_rules()
        app = App(self.root / "rules.yaml", self.state)
        try:
            p, _ = app.plan(rules, self.now, Executor(rules, self.calendar, app.journal, self.state))
        finally:
            app.journal.close()
        steps = 3 + len(p.calendar_changes) + len(p.decline_actions) + len(p.flag_actions) + len(p.messages)
        self._sync(crash_at=at % steps)
        self.settled = False

    # -- invariants ----------------------------------------------------------------------------
    def _occurrences(self, cal: icalendar.Calendar) -> list[Occurrence]:
        return ical.occurrences_of(cal, SEEN[0], SEEN[1], TZ)[0]

    @invariant()
    def blocks_are_the_rules_instances(self) -> None:
        if not self.settled:
            return
        end = self.now + timedelta(days=HORIZON)
        have = {
            (o.owned_block, o.start, o.end)
            for o in ical.occurrences_of(self.calendar.cal, self.now, end, TZ)[0]
            if o.owned_block is not None and is_block(o.owned_block)  # held offers: tests/test_holds.py
        }
        assert have == expected_blocks(self.blocks, self.now)

    @invariant()
    def others_events_changed_only_in_the_owners_answer(self) -> None:
        truth = ical.new_calendar()
        for e in self.events.values():
            for c in e.components():
                truth.add_component(c)
        written = {o.key: o for o in self._occurrences(truth)}
        mine = {o.key: o for o in self._occurrences(self.calendar.cal) if o.owned_block is None}
        assert mine.keys() == written.keys()
        for k, o in mine.items():
            assert answerless(o) == answerless(written[k]), k
            if owner_partstat(o) != owner_partstat(written[k]):  # only on the occurrence boundaryd declined
                assert owner_partstat(o) == "DECLINED" and k in self.calendar.declined, k
            if ical.CONFLICT_CATEGORY in o.categories:
                assert k in self.calendar.flagged, k

    @invariant()
    def every_decline_is_told(self) -> None:
        """After a finished sync: each decline on the calendar is in a notice, and in a reply
        when boundaryd is the one telling the organizer."""
        if not self.settled:
            return
        replies, notices, untold = set(), set(), set()
        for data in outbox_messages(self.state):
            kind, items = reported(data)
            for item in items:
                if kind == "reply":
                    replies.add((item[0], item[2]))
                elif item[0] in ("DECLINED", UNTOLD):
                    notices.add(item[1])
                    untold |= {item[1]} if item[0] == UNTOLD else set()
        we_reply = self.replies == "outbox" or (self.replies == "auto" and not self.calendar.capabilities.tells_organizer)
        for o in self._occurrences(self.calendar.cal):
            if o.key not in self.calendar.declined or owner_partstat(o) != "DECLINED":
                continue
            assert f"ev-{o.uid}" in notices, o.key
            # "declined" only when the organizer was told: where the server is the one telling them
            # (it tells, and replies are auto or off), the decline never reads as untold; with replies
            # off and no server telling, nobody tells them, and it must read as untold
            server_tells = self.calendar.capabilities.tells_organizer and self.replies in ("auto", "off")
            if server_tells:
                assert f"ev-{o.uid}" not in untold, o.key
            elif not we_reply:
                assert f"ev-{o.uid}" in untold, o.key
            if we_reply:
                assert (o.uid, o.start.astimezone(timezone.utc).isoformat()) in replies, o.key

    @invariant()
    def nothing_sent_twice(self) -> None:
        seen: dict[tuple[str, ...], int] = {}
        for data in outbox_messages(self.state):
            kind, items = reported(data)
            for item in items:
                if kind == "notice" and item[0] not in ("DECLINED", UNTOLD, "FLAGGED"):
                    continue  # an allowed one rides along with the next notice, once
                key = (kind, *item)
                seen[key] = seen.get(key, 0) + 1
        twice = [k for k, n in seen.items() if n > 1]
        assert not twice, twice


FAST = settings(
    max_examples=40, stateful_step_count=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestSyncMachine = SyncMachine.TestCase
TestSyncMachine.settings = FAST


@pytest.mark.slow
class TestSyncMachineLong(SyncMachine.TestCase):  # type: ignore[misc, valid-type]
    settings = settings(
        max_examples=200, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


def test_the_machine_sees_what_it_checks(tmp_path: Path) -> None:
    """The oracles themselves: a block spec's instances, and a notice and a reply read back."""
    spec = BlockSpec(days=(0, 2), start=time(9), minutes=60, policy="decline")
    got = expected_blocks({"a": spec}, START)
    assert sorted(s.date() for _, s, _ in got) == [date(2026, 11, 23), date(2026, 11, 25)]
    machine = SyncMachine()
    try:
        machine.setup(spec, "auto", False)
        machine.invite("e1", 0, time(9, 30), 30, "bob@client.example", False, False, None)
        machine.sync()
        kinds = sorted(reported(m)[0] for m in outbox_messages(machine.state))
        assert kinds == ["notice", "reply"]
        notice = next(reported(m)[1] for m in outbox_messages(machine.state) if reported(m)[0] == "notice")
        # replies: auto without SMTP: the reply waits in the outbox, and the notice does not say "declined"
        assert notice and notice[0][:2] == (UNTOLD, "ev-e1")
        machine.blocks_are_the_rules_instances()
        machine.others_events_changed_only_in_the_owners_answer()
        machine.nothing_sent_twice()
    finally:
        machine.teardown()


def _crash_scenario() -> SyncMachine:
    machine = SyncMachine()
    machine.setup(BlockSpec(days=(0, 1, 2), start=time(9), minutes=120, policy="decline"), "auto", False)
    machine.edit_block("b", BlockSpec(days=(1, 3), start=time(14), minutes=60, policy="flag"))
    machine.invite("e1", 0, time(9, 30), 30, "bob@client.example", False, False, None)
    machine.invite("e2", 1, time(9, 15), 60, "bob@client.example", True, False, "a")
    machine.invite("e3", 1, time(14), 30, "bob@client.example", False, False, "b")
    return machine


def _steps_of_a_sync() -> int:
    machine = _crash_scenario()
    try:
        steps: list[str] = []
        rules = machine.current_rules()
        app = App(machine.root / "rules.yaml", machine.state, step=steps.append)
        app.sync(rules, machine.now, Executor(rules, machine.calendar, app.journal, machine.state, None, app.step))
        app.journal.close()
        return len(steps)
    finally:
        machine.teardown()


@pytest.mark.parametrize("at", range(_steps_of_a_sync()))
def test_a_sync_killed_at_any_step_converges(at: int) -> None:
    """Every step of one sync with block writes, declines (a series too), a flag and messages."""
    machine = _crash_scenario()
    try:
        assert not machine._sync(crash_at=at)
        for check in (machine.others_events_changed_only_in_the_owners_answer, machine.nothing_sent_twice):
            check()
        machine.sync()
        machine.blocks_are_the_rules_instances()
        machine.others_events_changed_only_in_the_owners_answer()
        machine.every_decline_is_told()
        machine.nothing_sent_twice()
        assert machine.calendar.declined and machine.calendar.flagged
    finally:
        machine.teardown()
