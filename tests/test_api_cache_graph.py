"""What a Microsoft reader keeps between cycles (calendars/jsoncache.py), against the Graph
stand-in: a quiet delta rewrites nothing, and on random edits (series, single events, boundaryd's
own block) the kept snapshot is a fresh process's."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from boundaryd.calendars import jsoncache
from boundaryd.calendars.graph_auth import TokenSource
from boundaryd.calendars.graph_backend import GraphBackend
from boundaryd.calendars.graph_http import RetryPolicy
from boundaryd.core.model import Snapshot
from clirun import OWNER, invite
from contract_graph import GraphWorld, signed_in
from contract_worlds import END, NOW, TZ, MemState, at, block_events
from fake_graph import FakeGraph, trusted


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGraph]:
    with trusted(tmp_path_factory.mktemp("graph-api-cache") / "ca.pem", OWNER) as f:
        yield f


@pytest.fixture
def world(fake: FakeGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphWorld]:
    jsoncache.forget()
    monkeypatch.setattr(jsoncache, "clock", lambda: 1_800_000_000.0)
    w = signed_in(fake, tmp_path)
    yield w
    w.close()
    jsoncache.forget()


def backend(w: GraphWorld, cache: str = "microsoft-cache.json", state: Any = None) -> GraphBackend:
    return GraphBackend("primary", TokenSource(w.token, None, "common", w.fake.authority), w.root / cache, TZ,
                        owner_emails=(OWNER,), sync_state=w.state if state is None else state,
                        api_endpoint=w.fake.api_endpoint, retry=RetryPolicy(base=0.01, cap=0.02, budget=0.3))


def cycle(w: GraphWorld, hours: float, cache: str = "microsoft-cache.json", state: Any = None) -> Snapshot:
    shift = timedelta(hours=hours)
    return backend(w, cache, state).snapshot(NOW + shift, END + shift, TZ)


def fresh(w: GraphWorld, hours: float) -> Snapshot:
    """What a process reading the calendar from scratch sees (its own cache, journal and memory)."""
    snap = cycle(w, hours, "fresh-cache.json", MemState())
    jsoncache.forget(w.root / "fresh-cache.json")
    (w.root / "fresh-cache.json").unlink()
    return snap


def test_a_quiet_delta_rewrites_nothing(world: GraphWorld) -> None:
    world.put(invite("lunch@x", "Lunch", at(1, 12)))
    first = cycle(world, 0)
    path = world.root / "microsoft-cache.json"
    st, saves = path.stat(), jsoncache.stats.saves
    mark = len(world.fake.requests)
    assert cycle(world, 0.5) == first
    assert len(world.fake.requests) == mark + 1 and jsoncache.stats.saves == saves
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (st.st_ino, st.st_mtime_ns)


def edit(w: GraphWorld, rng: random.Random, uids: list[str]) -> None:
    kind = rng.choice(["add", "add-series", "retitle", "move", "remove"])
    start = at(rng.randrange(0, 16), rng.randrange(7, 19))
    if kind.startswith("add") or not uids:
        uid = f"u{len(uids)}-{rng.randrange(10**6)}@x"
        rrule = {"FREQ": ["DAILY"], "COUNT": ["4"]} if kind == "add-series" else None
        w.put(invite(uid, f"Meeting {uid}", start, rrule=rrule))
        uids.append(uid)
    elif kind == "remove":
        uid = rng.choice(uids)
        w.remove(uid)
        uids.remove(uid)
    else:
        uid = rng.choice(uids)
        w.put(invite(uid, f"Retitled {rng.randrange(1000)}" if kind == "retitle" else f"Meeting {uid}", start))


@pytest.mark.parametrize("seed", [1, 2])
def test_random_changes_read_as_a_fresh_process_reads_them(world: GraphWorld, seed: int) -> None:
    rng = random.Random(seed)
    uids: list[str] = []
    b = backend(world)
    b.snapshot(NOW, END, TZ)
    b.put_block(next(iter(block_events().values())))  # boundaryd's own series: its properties from the write
    b.flush()
    hours = 0.0
    assert cycle(world, hours) == fresh(world, hours)
    for _ in range(8):
        for _ in range(rng.randrange(0, 3)):
            edit(world, rng, uids)
        hours += rng.choice([0.0, 1 / 60, 6.0, 30.0])
        assert cycle(world, hours) == fresh(world, hours)
