"""A state machine over whole syncs on the memory backend: rule edits, other people's edits to the
calendar, syncs, and syncs killed at every calendar step, in random order.

The kill is the memory calendar's fault hook raising :class:`Killed` (a BaseException, so no
``except Exception`` in the engine catches it) at the Nth backend call of a sync: the journal and
the calendar are left as a SIGKILL at that point would leave them. After every step:
- nothing boundaryd does not own is changed beyond the owner's answer (and its mark);
- the calendar never holds a block event twice;
- no reply and no notice is in the outbox twice;
and after every sync that completed, the blocks on the calendar are exactly the rules' events.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import icalendar
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from boundaryd.calendars import memory
from boundaryd.calendars.memory import MemoryBackend, MemoryCalendar
from boundaryd.core import ical
from boundaryd.core.ical_owned import is_block
from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App
from clirun import OWNER, calendar_of, invite
from contract_worlds import END, NOW, TZ, at, me
from test_contract import RULES

VARIANTS = [
    """\
  - {id: prospecting, title: Prospecting calls, kind: prospecting, days: weekdays, start: "08:30", end: "11:00", policy: decline}
""",
    """\
  - {id: prospecting, title: Prospecting calls, kind: prospecting, days: weekdays, start: "08:30", end: "11:00", policy: decline}
  - {id: call-return, title: Return calls, kind: call-return, days: weekdays, times: ["11:30", "16:30"], duration: 30m, policy: flag}
""",
    """\
  - {id: prospecting, title: Prospecting, kind: prospecting, days: [mon, wed, fri], start: "09:00", end: "12:00", policy: decline}
  - {id: sunday, title: Day off, kind: day-off, days: [sun], all_day: true, policy: flag}
""",
]
#: the invitations others may send: (day, hour, minute, minutes, weekly)
SLOTS = [(1, 9, 0, 60, False), (2, 11, 30, 30, False), (3, 10, 0, 30, True), (4, 16, 30, 30, False), (6, 13, 0, 60, False)]


class Killed(BaseException):
    """The process died here."""


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="bd-machine-"))
        self.name = self.root.name
        self.store: MemoryCalendar = memory.calendar(self.name)
        self.variant = 0
        self.others: dict[str, icalendar.Event] = {}  # what each other person last put
        self.minutes = 0
        self.clean = False  # the last sync completed
        self.write_rules(1)  # with a flag block: declines and flags from the start

    def teardown(self) -> None:
        memory.forget(self.name)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- steps --------------------------------------------------------------------------------------
    def write_rules(self, variant: int) -> None:
        self.variant = variant
        calendar = "  ics: {path: /nonexistent/overridden-by-the-uri.ics}"
        (self.root / "rules.yaml").write_text(RULES.format(owner=OWNER, calendar=calendar, blocks=VARIANTS[variant]))

    @rule(variant=st.integers(0, len(VARIANTS) - 1))
    def edit_rules(self, variant: int) -> None:
        self.write_rules(variant)
        self.clean = False

    @rule(slot=st.integers(0, len(SLOTS) - 1), shift=st.sampled_from([0, 0, 30, -60]))
    def someone_sends_or_moves(self, slot: int, shift: int) -> None:
        day, hh, mm, minutes, weekly = SLOTS[slot]
        start = at(day, hh, mm) + timedelta(minutes=shift)
        uid = f"slot{slot}@others"
        ev = invite(uid, f"Meeting {slot}", start, minutes, rrule={"FREQ": ["WEEKLY"], "COUNT": ["3"]} if weekly else None)
        self.store.put(uid, calendar_of(ev))
        self.others[uid] = ev
        self.clean = False

    @rule(slot=st.integers(0, len(SLOTS) - 1))
    def someone_cancels(self, slot: int) -> None:
        uid = f"slot{slot}@others"
        self.store.remove(uid)
        self.others.pop(uid, None)
        self.clean = False

    def app(self) -> App:
        return App(self.root / "rules.yaml", self.root / "state", f"memory:{self.name}")

    @rule()
    def sync(self) -> None:
        self.minutes += 1
        self.store.fault = None
        self.app().sync(load_rules(self.root / "rules.yaml"), NOW + timedelta(minutes=self.minutes))
        self.clean = True
        self.check_blocks_match_rules()

    @rule(after=st.integers(0, 12))
    def sync_killed(self, after: int) -> None:
        """A sync killed at its ``after``-th calendar call (connect and snapshot included)."""
        self.minutes += 1
        calls = [0]

        def hook(op: str) -> Any:
            calls[0] += 1
            return Killed() if calls[0] > after else None

        self.store.fault = hook
        try:
            self.app().sync(load_rules(self.root / "rules.yaml"), NOW + timedelta(minutes=self.minutes))
            self.clean = True
        except Killed:
            self.clean = False
        finally:
            self.store.fault = None
        if self.clean:
            self.check_blocks_match_rules()

    # -- what must hold ----------------------------------------------------------------------------
    def read(self) -> Any:
        return MemoryBackend(self.store).snapshot(NOW, END, TZ)  # as a fresh reader: no token, no cache

    def check_blocks_match_rules(self) -> None:
        rules = load_rules(self.root / "rules.yaml")
        anchor = (NOW + timedelta(minutes=self.minutes)).astimezone(TZ).date()
        wanted = {e.uid: e.fingerprint for b in rules.blocks for e in ical.block_events(rules, b, anchor)}
        blocks = {o.uid: o.fingerprint for o in self.read().owned if is_block(o.block)}  # held offers: test_holds.py
        assert blocks == wanted

    @invariant()
    def no_block_event_twice(self) -> None:
        owned = [o.uid for o in self.read().owned]
        assert len(owned) == len(set(owned))

    @invariant()
    def nothing_not_owned_changed_beyond_the_answer(self) -> None:
        snap = self.read()
        theirs = [o for o in snap.occurrences if o.owned_block is None]
        assert {o.uid for o in theirs} <= set(self.others)
        for o in theirs:
            ev = self.others[o.uid]
            start = ev.decoded("DTSTART")
            length = ev.decoded("DTEND") - start
            assert o.summary == str(ev["SUMMARY"]) and o.end - o.start == length
            assert o.organizer == "bob@client.example" and o.sequence == 2
            if o.recurrence_id is None:
                assert o.start == start
            assert {a.email: a.partstat for a in o.attendees}["bob@client.example"] == "ACCEPTED"
            assert me(o) in ("NEEDS-ACTION", "DECLINED")
            assert set(o.categories) <= {"Conflict"}

    @invariant()
    def no_reply_or_notice_twice(self) -> None:
        seen: Counter[tuple[str, ...]] = Counter()
        outbox = self.root / "state" / "outbox"
        for f in sorted(outbox.rglob("*")) if outbox.exists() else []:
            if not f.is_file() or f.parent.name not in ("new", "cur"):
                continue
            msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            cal = next((p for p in msg.walk() if p.get_content_type() == "text/calendar"), None)
            if cal is not None:  # a reply: one per occurrence and time
                ev = next(c for c in icalendar.Calendar.from_ical(cal.get_content()).walk("VEVENT"))
                key = (str(ev["UID"]), str(ev.get("RECURRENCE-ID", "")), str(ev["DTSTART"].to_ical()))
                seen[("reply",) + key] += 1
            else:  # a notice: never the same one again
                body = msg.get_body(("plain",))
                seen[("notice", body.get_content() if body is not None else "")] += 1
        assert [k for k, n in seen.items() if n > 1] == []


SyncMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=12, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_sync_machine = SyncMachine.TestCase
