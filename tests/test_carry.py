"""Values a plan carries to the next (core/carry.py): a plan that reuses what the plan before made
decides exactly as a fresh process would, whatever changed in between: the calendar (the same
occurrence objects, some replaced), the clock, the rules, and what the journal remembers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boundaryd.core import carry, existing
from boundaryd.core.model import AllowEntry, Attendee, Memory, Occurrence, Snapshot
from boundaryd.core.planner import block_definitions, plan
from boundaryd.core.rules import Rules
from conftest import OWNER, local, make_rules, occurrence
from test_planner import BLOCKS, MON, NOW

LEADS = "leads: {people: ['*@zillow.com'], pass: [prospecting]}\n"
RULES = (make_rules(BLOCKS), make_rules(BLOCKS, extra=LEADS), make_rules(BLOCKS.replace("policy: flag", "policy: decline")))
ORGANIZERS = ("bob@client.example", "pat@bigclient.com", "dana@zillow.com", "new@stranger.example", OWNER)


def _pool() -> list[Occurrence]:
    """Invitations over two weeks, on and off the blocks, some recurring (the same objects all along)."""
    out = []
    for i in range(40):
        day, hour = MON + timedelta(days=i % 12), (8, 9, 10, 11, 16, 18, 19, 12)[i % 8]
        start = local(day, hour, 30 * (i % 2))
        rid = start if i % 5 == 0 else None
        out.append(occurrence(f"e{i % 30}", start, (30, 60, 90)[i % 3], organizer=ORGANIZERS[i % 5],
                              summary="Urgent: call" if i % 7 == 0 else f"Meeting {i}",
                              me=("NEEDS-ACTION", "ACCEPTED", "TENTATIVE")[i % 3], recurrence_id=rid))
    return out


POOL = _pool()

STEPS = st.lists(
    st.tuples(
        st.integers(0, 2),  # which rules
        st.integers(0, 60 * 24 * 3),  # minutes after NOW
        st.sets(st.integers(0, len(POOL) - 1), max_size=6),  # occurrences left out of this snapshot
        st.sets(st.integers(0, len(POOL) - 1), max_size=3),  # occurrences replaced by an edited copy
        st.sets(st.integers(0, 29), max_size=2),  # uids allowed
        st.sets(st.sampled_from(ORGANIZERS), max_size=3),  # contacts met
        st.booleans(),  # a journal: baselines (applied) and refs
    ),
    min_size=2,
    max_size=7,
)


def _edited(o: Occurrence, n: int) -> Occurrence:
    return (
        replace(o, summary=o.summary + " (moved)", start=o.start + timedelta(minutes=30), end=o.end + timedelta(minutes=30)),
        replace(o, attendees=tuple(Attendee(a.email, "ACCEPTED") if a.email == OWNER else a for a in o.attendees)),
        replace(o, organizer="dana@zillow.com"),
    )[n % 3]


def _memory(rules: Rules, allowed: set[int], contacts: set[str], journal: bool, snap: Snapshot, now: datetime) -> Memory:
    if not journal:
        return Memory(allowed=tuple(AllowEntry(f"e{u}") for u in sorted(allowed)), contacts=frozenset(contacts))
    keys = [o.key for o in snap.occurrences]
    blocks = existing.block_keys(rules, block_definitions(rules, now.astimezone(rules.tz).date()))
    # prospecting and family applied before, with a third of the meetings there then; the others apply now
    applied = {blocks["prospecting"]: keys[::3], blocks["family"]: keys[1::3]}
    refs = {k: f"r{i:05d}" for i, k in enumerate(keys[::2])}
    return Memory(allowed=tuple(AllowEntry(f"e{u}") for u in sorted(allowed)), contacts=frozenset(contacts),
                  applied=applied, refs=refs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_a_plan_that_carries_decisions_equals_a_fresh_one(steps: list[tuple[int, int, set[int], set[int], set[int], set[str], bool]]) -> None:
    with carry.aside():
        for which, minutes, out, edited, allowed, contacts, journal in steps:
            rules: Rules = RULES[which]
            occs = tuple(_edited(o, i) if i in edited else o for i, o in enumerate(POOL) if i not in out)
            snap = Snapshot(occs)
            now = NOW + timedelta(minutes=minutes)
            memory = _memory(rules, allowed, contacts, journal, snap, now)
            carried = plan(rules, snap, now, memory)
            with carry.aside():
                fresh = plan(rules, snap, now, memory)
            assert carried == fresh
            assert carried.conflicts  # the pool lands on blocks: the comparison means something


def test_a_value_is_reused_for_the_same_object_and_inputs_only() -> None:
    made: list[str] = []

    def make(x: str) -> str:
        made.append(x)
        return x.upper()

    memo: carry.Carried[str] = carry.Carried()
    a, b = Occurrence("a", None, "A", NOW, NOW), Occurrence("a", None, "A", NOW, NOW)  # equal, not the same
    with carry.aside():
        assert memo.get(a, 1, make, "a") == "A"
        carry.next_plan()
        assert memo.get(a, 1, make, "x") == "A"  # the same object, the same inputs: made before
        assert memo.get(b, 1, make, "b") == "B"  # an equal object is another object
        assert memo.get(a, 2, make, "c") == "C"  # other inputs
        carry.next_plan()
        carry.next_plan()  # a plan that did not use it: let go
        assert memo.get(a, 2, make, "d") == "D"
    assert made == ["a", "b", "c", "d"]


def test_a_plan_aside_sees_nothing_carried_and_leaves_the_carried_alone() -> None:
    rules = RULES[0]
    snap = Snapshot(tuple(POOL))
    with carry.aside():
        first = plan(rules, snap, NOW)
        with carry.aside():
            again = plan(rules, snap, NOW)
        assert [c.trace for c in again.conflicts] == [c.trace for c in first.conflicts]
        assert all(x is not y for x, y in zip(again.conflicts, first.conflicts, strict=True))
        known = Memory(refs={c.occurrence.key: c.ref for c in first.conflicts if not c.series})  # as the journal keeps them
        plan(rules, snap, NOW, known)
        reused = plan(rules, snap, NOW + timedelta(minutes=1), known)
        before = plan(rules, snap, NOW + timedelta(minutes=2), known)
        same = [c for c in before.conflicts if any(c is d for d in reused.conflicts)]
        assert same  # a minute later, the same objects: most decisions are the ones made before
