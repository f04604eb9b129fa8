"""The flag on a Microsoft calendar never clobbers the owner's categories: every PATCH carries
If-Match with the etag read this cycle; a 412 (the owner or the organizer changed the event
meanwhile) re-reads the event, keeps every category the owner has and retries once; a second 412
leaves it for the next cycle with a log line. Against the local Graph stand-in, which answers 412
on a stale etag and refuses a PATCH without one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from boundaryd.calendars.graph_auth import TokenSource
from boundaryd.calendars.graph_backend import GraphBackend
from boundaryd.calendars.graph_http import RetryPolicy
from boundaryd.core.model import Occurrence
from boundaryd.errors import Conflict412, RuntimeFailure
from clirun import OWNER, invite
from contract_graph import GraphWorld, signed_in
from contract_worlds import TZ, at, one, snap
from fake_graph import FakeGraph, check_no_rejections, trusted
from fake_graph_store import Store

SERIES = {"FREQ": ["WEEKLY"], "COUNT": ["2"]}


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGraph]:
    with trusted(tmp_path_factory.mktemp("graph-ifmatch") / "ca.pem", OWNER) as f:
        yield f


@pytest.fixture
def world(fake: FakeGraph, tmp_path: Path) -> Iterator[GraphWorld]:
    w = signed_in(fake, tmp_path)
    yield w
    w.close()  # no request the OpenAPI description (or the If-Match rule) refuses


def backend(w: GraphWorld) -> GraphBackend:
    tokens = TokenSource(w.token, None, "common", w.fake.authority)
    return GraphBackend("primary", tokens, w.root / "microsoft-cache.json", TZ, owner_emails=(OWNER,),
                        sync_state=w.state, api_endpoint=w.fake.api_endpoint,
                        retry=RetryPolicy(base=0.01, cap=0.02, budget=0.3))


def event_id(b: GraphBackend, occ: Occurrence) -> str:
    return str(b._index[occ.key]["id"])


def owner_sets(eid: str, categories: list[str]) -> Any:
    """The owner (in Outlook) sets the event's categories: a change of its changeKey."""
    def change(store: Store) -> None:
        store.patch(eid, {"categories": categories})
    return change


def categories(w: GraphWorld, eid: str) -> list[str]:
    return list(w.fake.store.get(eid).get("categories") or [])


def writes(w: GraphWorld, since: int) -> list[tuple[str, int]]:
    """The requests on one event after ``since`` (reads of it, and PATCHes), with Graph's answers."""
    return [(r.verb, r.status) for r in w.fake.requests[since:] if r.template.endswith("{event-id}")]


def test_the_flag_patch_carries_the_etag_read_this_cycle(world: GraphWorld) -> None:
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    b = backend(world)
    occ = one(snap(b), "single@contract")
    eid = event_id(b, occ)
    read = world.fake.store.etag(eid)
    b.flag(occ)
    (patch,) = world.fake.graph_requests("PATCH")
    assert (patch.if_match, patch.body, patch.status) == (read, {"categories": ["Conflict"]}, 200)
    assert read.startswith('W/"') and world.fake.store.etag(eid) != read  # the write changed it


@pytest.mark.parametrize("kind", ["single", "occurrence"])
def test_a_category_the_owner_set_meanwhile_survives_and_ours_is_added(world: GraphWorld, kind: str) -> None:
    world.put(invite("ev@contract", "Listing review", at(1, 9), rrule=SERIES if kind == "occurrence" else None))
    b = backend(world)
    occ = sorted((o for o in snap(b).occurrences if o.uid == "ev@contract"), key=lambda o: o.start)[-1]
    eid = event_id(b, occ)
    world.fake.store.patch(eid, {"categories": ["Client A"]})  # between our read and our PATCH
    n = len(world.fake.requests)
    b.flag(occ)
    assert categories(world, eid) == ["Client A", "Conflict"]
    assert writes(world, n) == [("PATCH", 412), ("GET", 200), ("PATCH", 200)]
    first, second = world.fake.graph_requests("PATCH")
    assert first.body == {"categories": ["Conflict"]} and second.body == {"categories": ["Client A", "Conflict"]}
    assert second.if_match != first.if_match
    after = sorted((o for o in snap(backend(world)).occurrences if o.uid == "ev@contract"), key=lambda o: o.start)
    assert ["Conflict" in o.categories for o in after] == ([True] if kind == "single" else [False, True])


def test_unflag_takes_off_only_ours_when_the_owner_changed_the_list_meanwhile(world: GraphWorld) -> None:
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    b = backend(world)
    occ = one(snap(b), "single@contract")
    eid = event_id(b, occ)
    world.fake.store.patch(eid, {"categories": ["Red", "Conflict"]})
    b2 = backend(world)
    occ = one(snap(b2), "single@contract")
    world.fake.before_patch.append(owner_sets(eid, ["Red", "Conflict", "Client A"]))
    n = len(world.fake.requests)
    b2.unflag(occ)
    assert categories(world, eid) == ["Red", "Client A"]
    assert writes(world, n) == [("PATCH", 412), ("GET", 200), ("PATCH", 200)]


def test_the_owner_did_it_meanwhile_then_nothing_more_is_written(world: GraphWorld) -> None:
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    b = backend(world)
    occ = one(snap(b), "single@contract")
    eid = event_id(b, occ)
    world.fake.store.patch(eid, {"categories": ["Conflict", "Blue"]})
    n = len(world.fake.requests)
    b.flag(occ)
    assert categories(world, eid) == ["Conflict", "Blue"]
    assert writes(world, n) == [("PATCH", 412), ("GET", 200)]


def test_a_second_412_leaves_it_for_the_next_cycle_with_a_log_line(world: GraphWorld,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    b = backend(world)
    occ = one(snap(b), "single@contract")
    eid = event_id(b, occ)
    world.fake.before_patch += [owner_sets(eid, ["Green"]), owner_sets(eid, ["Green", "Blue"])]
    n = len(world.fake.requests)
    with caplog.at_level(logging.INFO, logger="boundaryd.microsoft"):
        b.flag(occ)  # no exception: the rest of the sync goes on
    assert categories(world, eid) == ["Green", "Blue"]  # the owner's, untouched
    assert writes(world, n) == [("PATCH", 412), ("GET", 200), ("PATCH", 412)]
    (line,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "single@contract" in line.getMessage() and "left for the next cycle" in line.getMessage()
    b2 = backend(world)  # the next cycle: the mark is still missing, so it is planned and written
    b2.flag(one(snap(b2), "single@contract"))
    assert categories(world, eid) == ["Green", "Blue", "Conflict"]


def test_an_etag_missing_from_the_cache_is_read_before_the_patch(world: GraphWorld) -> None:
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    world.fake.store.patch(world._id_of("single@contract") or "", {"categories": ["Client A"]})
    b = backend(world)
    occ = one(snap(b), "single@contract")
    eid = event_id(b, occ)
    b._index[occ.key].pop("etag")  # a cache written before etags were kept
    now = world.fake.store.etag(eid)
    n = len(world.fake.requests)
    b.flag(occ)
    assert writes(world, n) == [("GET", 200), ("PATCH", 200)]
    assert world.fake.graph_requests("PATCH")[0].if_match == now
    assert categories(world, eid) == ["Client A", "Conflict"]


def test_the_stand_in_refuses_a_stale_etag_and_a_patch_without_one(world: GraphWorld) -> None:
    """What makes the tests above able to fail."""
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    b = backend(world)
    occ = one(snap(b), "single@contract")
    path = f"me/calendar/events/{event_id(b, occ)}"
    stale = world.fake.store.etag(event_id(b, occ))
    b._call("probe", "PATCH", path, body={"categories": ["Red"]}, if_match=stale)
    with pytest.raises(Conflict412):
        b._call("probe", "PATCH", path, body={"categories": []}, if_match=stale)
    with pytest.raises(RuntimeFailure, match="428"):
        b._call("probe", "PATCH", path, body={"categories": []})
    assert categories(world, event_id(b, occ)) == ["Red"]
    check_no_rejections(world.fake, expected=1)  # the PATCH without If-Match
    world.fake.rejections.clear()
