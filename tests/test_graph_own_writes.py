"""What boundaryd wrote to a Microsoft calendar is not read back (calendars/graph_written.py).

The stand-in (tests/fake_graph.py) records every request: the cycle after boundaryd's own writes
(blocks, held offers, a decline) costs the delta alone, and reads exactly what a fresh process
reading the same calendar from scratch reads. When the reader cannot know (a write the cycle did not
finish, a later change), it reads as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from boundaryd.calendars.graph_auth import TokenSource
from boundaryd.calendars.graph_backend import GraphBackend
from boundaryd.calendars.graph_http import RetryPolicy
from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App
from clirun import OWNER, invite
from contract_graph import GraphWorld, signed_in
from contract_worlds import NOW, TZ, MemState, at, block_events, me, one, snap
from fake_graph import CLIENT_ID, FakeGraph, trusted


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGraph]:
    with trusted(tmp_path_factory.mktemp("graph-own-writes") / "ca.pem", OWNER) as f:
        yield f


@pytest.fixture
def world(fake: FakeGraph, tmp_path: Path) -> Iterator[GraphWorld]:
    w = signed_in(fake, tmp_path)
    yield w
    w.close()


def backend(w: GraphWorld, cache: str = "microsoft-cache.json", state: Any = None) -> GraphBackend:
    return GraphBackend("primary", TokenSource(w.token, None, "common", w.fake.authority), w.root / cache, TZ,
                        owner_emails=(OWNER,), sync_state=w.state if state is None else state,
                        api_endpoint=w.fake.api_endpoint, retry=RetryPolicy(base=0.01, cap=0.02, budget=0.3))


def fresh(w: GraphWorld) -> Any:
    """What a process reading the calendar from scratch sees (its own cache, its own journal)."""
    return snap(backend(w, "fresh-cache.json", MemState()))


def calls(w: GraphWorld, since: int) -> list[str]:
    return [f"{r.verb} {r.template.rsplit('/', 1)[-1]}" for r in w.fake.requests[since:]]


def test_the_sync_after_a_decline_with_held_offers_is_one_request(world: GraphWorld, tmp_path: Path) -> None:
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(f"""version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [{OWNER}]}}
working_hours: {{days: weekdays, start: "08:00", end: "18:00"}}
calendar:
  microsoft: {{calendar: primary, client_id: {CLIENT_ID}, token_file: {world.token}, authority: "{world.fake.authority}",
               api_endpoint: "{world.fake.api_endpoint}"}}
blocks:
  - {{id: prospecting, kind: prospecting, days: weekdays, start: "08:30", end: "11:00", policy: decline}}
""")
    rules, state = load_rules(rules_path), tmp_path / "state"
    state.mkdir()
    App(rules_path, state).sync(rules, NOW)  # the block's series
    world.put(invite("intrusion@own", "Intrusion on prospecting", at(2, 9)))
    n = len(world.fake.requests)
    App(rules_path, state).sync(rules, NOW + timedelta(minutes=1))
    wrote = calls(world, n)
    holds = [r for r in world.fake.requests[n:] if r.template.endswith("/events") and r.verb == "POST"]
    assert "POST decline" in wrote and holds, wrote  # the decline, and its offered slots held
    assert all("recurrence" not in r.body for r in holds)
    n = len(world.fake.requests)
    result = App(rules_path, state).sync(rules, NOW + timedelta(minutes=2))
    assert calls(world, n) == ["GET delta()"]  # Graph shows the answer and the holds: nothing read back
    assert not result.plan.calendar_changes and not result.plan.decline_actions
    assert len(fresh(world).owned) == 1 + len(holds)  # the block and the holds, as a fresh read sees them


def test_a_series_we_created_is_read_without_a_get_and_as_a_fresh_read_sees_it(world: GraphWorld) -> None:
    ev = block_events()["prospecting-0830@boundaryd"]
    b = backend(world)
    snap(b)
    b.put_block(ev)
    b.flush()  # the end of the cycle
    n = len(world.fake.requests)
    s = snap(backend(world))  # the next cycle, another process
    assert calls(world, n) == ["GET delta()"]  # no GET of the master, none per instance
    mine = [o for o in s.occurrences if o.uid == ev.uid]
    assert len(mine) >= 5 and all(o.owned_block == "prospecting" for o in mine)
    assert [(o.uid, o.fingerprint) for o in s.owned] == [(ev.uid, ev.fingerprint)]
    assert s == fresh(world)
    # used once: the owner moves one of its occurrences; that change reads the master as before
    store = world.fake.store
    with world.fake.lock:
        (mid,) = [k for k, e in store.events.items() if e.get("recurrence")]
        store.patch(store.instances(store.events[mid], None, None)[0]["id"], {"subject": "Prospecting, moved"})
    n = len(world.fake.requests)
    again = snap(backend(world))
    assert calls(world, n) == ["GET delta()", "GET {event-id}"]
    assert again == fresh(world)


def test_a_write_the_cycle_did_not_finish_is_read_back(world: GraphWorld) -> None:
    ev = block_events()["prospecting-0830@boundaryd"]
    b = backend(world)
    snap(b)
    b.put_block(ev)  # no flush: the cycle stopped before its end
    n = len(world.fake.requests)
    s = snap(backend(world))
    assert calls(world, n) == ["GET delta()", "GET {event-id}"]  # the master, read as before
    assert [(o.uid, o.fingerprint) for o in s.owned] == [(ev.uid, ev.fingerprint)]
    assert s == fresh(world)


def test_a_create_answered_with_another_type_is_read_back(world: GraphWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    ev = block_events()["prospecting-0830@boundaryd"]
    b = backend(world)
    snap(b)
    real = b._call

    def odd(what: str, method: str, path: str, *args: Any, **kw: Any) -> Any:
        out = real(what, method, path, *args, **kw)
        return {**out, "type": "singleInstance"} if method == "POST" and path.endswith("/events") else out

    monkeypatch.setattr(b, "_call", odd)
    b.put_block(ev)
    b.flush()
    n = len(world.fake.requests)
    s = snap(backend(world))
    assert calls(world, n) == ["GET delta()", "GET {event-id}"]  # in doubt: read
    assert s == fresh(world)


def test_declining_a_series_does_not_read_its_master_again(world: GraphWorld) -> None:
    world.put(invite("weekly@own", "Weekly standup", at(1, 9), 30, rrule={"FREQ": ["WEEKLY"], "COUNT": ["3"]}))
    b = backend(world)
    occ = one(snap(b), "weekly@own", at(1, 9))
    b.decline(occ, (OWNER,), "Mornings are for prospecting.")
    b.flush()
    n = len(world.fake.requests)
    s = snap(backend(world))
    assert calls(world, n) == ["GET delta()"]
    assert me(one(s, "weekly@own", at(1, 9))) == "DECLINED"  # the answer, under the series' uid
    assert s == fresh(world)


def test_flagging_an_occurrence_does_not_read_its_master_again(world: GraphWorld) -> None:
    world.put(invite("weekly@own", "Weekly standup", at(1, 9), 30, rrule={"FREQ": ["WEEKLY"], "COUNT": ["3"]}))
    b = backend(world)
    b.flag(one(snap(b), "weekly@own", at(1, 9)))
    b.flush()
    n = len(world.fake.requests)
    s = snap(backend(world))
    assert calls(world, n) == ["GET delta()"]
    assert one(s, "weekly@own", at(1, 9)).categories == ("Conflict",) and one(s, "weekly@own", at(8, 9)).uid == "weekly@own"
    assert s == fresh(world)
