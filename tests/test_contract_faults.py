"""The calendar contract, faults: what a server's refusal means, the same on every backend.

- 401 (login refused) and 403 (permission refused): RuntimeFailure, with different words;
- 404 on the calendar: BadInput (the configuration names no calendar); on a delete: already gone;
- 410 on a change token: read everything again (``test_contract_reading``); on a delete: gone;
- 429 and 5xx: RuntimeFailure (retry later), after the backend's own bounded retries;
- 409/412 (someone else's change): Conflict412 (``test_contract_answers``, ``test_contract_blocks``).
Faults come from each world's own seam: the FaultProxy for CalDAV, the fake Google's
``fail_next``, the memory calendar's fault hook. A local file answers no status: skipped there.
"""

from __future__ import annotations

import pytest

from boundaryd.errors import BadInput, Conflict412, RuntimeFailure
from clirun import OWNER, invite
from contract_worlds import World, at, block_events, one, snap

PROSPECTING = "prospecting-0830@boundaryd"


@pytest.fixture
def http_world(world: World) -> World:
    if world.no_http:
        pytest.skip(world.no_http)
    return world


def refusal_words(world: World, status: int) -> str:
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    world.fail(status)
    with pytest.raises(RuntimeFailure) as info:
        snap(world.backend())
    world.heal()
    assert not isinstance(info.value, BadInput)
    return str(info.value)


def test_a_refused_login_and_a_refused_permission_are_told_apart(http_world: World) -> None:
    login = refusal_words(http_world, 401)
    permission = refusal_words(http_world, 403)
    assert login != permission
    assert any(w in login for w in ("credentials", "token"))


def test_no_calendar_at_the_address_is_bad_input(http_world: World) -> None:
    http_world.fail(404)
    with pytest.raises(BadInput):
        snap(http_world.backend())


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_a_busy_or_broken_server_is_a_runtime_failure(http_world: World, status: int) -> None:
    http_world.put(invite("single@contract", "Listing review", at(1, 9)))
    http_world.fail(status)
    with pytest.raises(RuntimeFailure) as info:
        snap(http_world.backend())
    assert not isinstance(info.value, (BadInput, Conflict412))
    http_world.heal()
    assert one(snap(http_world.backend()), "single@contract").summary == "Listing review"


def test_a_passing_server_error_costs_at_most_the_cycle(http_world: World) -> None:
    """One 503: the backend retries it away (Google) or fails the cycle (the next one reads)."""
    http_world.put(invite("single@contract", "Listing review", at(1, 9)))
    http_world.fail(503, times=1)
    try:
        s = snap(http_world.backend())
    except RuntimeFailure:
        s = snap(http_world.backend())
    assert [o.uid for o in s.occurrences] == ["single@contract"]


@pytest.mark.parametrize("status", [401, 403, 429, 500, 503])
def test_a_refused_write_is_a_runtime_failure_and_the_next_cycle_completes_it(http_world: World, status: int) -> None:
    ev = block_events()[PROSPECTING]
    b = http_world.backend()
    snap(b)
    http_world.fail(status)
    with pytest.raises(RuntimeFailure) as info:
        b.put_block(ev)
        b.flush()
    assert not isinstance(info.value, (BadInput, Conflict412))
    http_world.heal()
    again = http_world.backend()
    snap(again)
    again.put_block(ev)
    again.flush()
    assert [o.uid for o in snap(http_world.backend()).owned] == [PROSPECTING]


@pytest.mark.parametrize("status", [401, 403, 503])
def test_a_refused_answer_is_a_runtime_failure(http_world: World, status: int) -> None:
    http_world.put(invite("single@contract", "Listing review", at(1, 9)))
    b = http_world.backend()
    occ = one(snap(b), "single@contract")
    http_world.fail(status)
    with pytest.raises(RuntimeFailure) as info:
        b.decline(occ, (OWNER,), "No.")
        b.flush()
    assert not isinstance(info.value, (BadInput, Conflict412))
    http_world.heal()
    assert one(snap(http_world.backend()), "single@contract").attendees[-1].partstat == "NEEDS-ACTION"


@pytest.mark.parametrize("status", [404, 410])
def test_deleting_what_the_server_says_is_gone_is_done(http_world: World, status: int) -> None:
    ev = block_events()[PROSPECTING]
    b = http_world.backend()
    snap(b)
    b.put_block(ev)
    b.flush()
    b2 = http_world.backend()
    snap(b2)
    http_world.fail(status, times=1)
    b2.delete_block(PROSPECTING)  # the delete is answered "not there": nothing left to do
    b2.flush()
