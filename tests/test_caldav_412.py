"""The 412 rule on every CalDAV server: a 412 to our conditional PUT of an answer or a mark means
re-read and apply it again (bounded), as long as what the plan decided on is unchanged; a change
that matters, or 412s without end, stay a Conflict412 (not done, re-planned), never a success.
"""

from __future__ import annotations

from typing import Any

import icalendar
import pytest

from boundaryd.calendars.caldav_backend import EDIT_ATTEMPTS
from boundaryd.errors import Conflict412
from clirun import OWNER, invite
from contract_worlds import World, at, me, one, snap

DAV = ("radicale", "xandikos", "sabredav", "cyrus", "davical")


@pytest.fixture
def dav(world: World) -> Any:
    if world.name not in DAV:
        pytest.skip("the 412 rule is CalDAV's (conditional PUT)")
    return world


def _with_alarm(ev: icalendar.Event) -> icalendar.Event:
    """The same event with an alarm added by another client: nothing the plan decided on."""
    alarm = icalendar.Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("DESCRIPTION", "Soon")
    alarm.add("TRIGGER", at(1, 8, 45) - at(1, 9))
    ev.add_component(alarm)
    return ev


def test_a_412_for_a_change_that_does_not_matter_is_retried_and_the_decline_lands(dav: Any) -> None:
    dav.put(invite("race@contract", "Listing review", at(1, 9)))
    b = dav.backend()
    occ = one(snap(b), "race@contract")
    dav.put(_with_alarm(invite("race@contract", "Listing review", at(1, 9))))  # our ETag is stale now
    puts_before = sum(1 for m, _ in dav.bodies if m == "PUT")
    b.decline(occ, (OWNER,), "I am in a protected block.")
    b.flush()
    assert sum(1 for m, _ in dav.bodies if m == "PUT") - puts_before == 2  # the 412, then the retry
    after = one(snap(dav.backend()), "race@contract")
    assert me(after) == "DECLINED"
    raw = b"".join(body for m, body in dav.bodies if m == "PUT")
    assert b"BEGIN:VALARM" in raw[raw.rfind(b"BEGIN:VCALENDAR"):]  # their alarm went back with our answer


def test_a_412_for_a_change_that_matters_is_not_a_decline(dav: Any) -> None:
    dav.put(invite("moved@contract", "Listing review", at(1, 9)))
    b = dav.backend()
    occ = one(snap(b), "moved@contract")
    dav.put(invite("moved@contract", "Listing review", at(1, 14)))  # moved: the plan no longer holds
    with pytest.raises(Conflict412):
        b.decline(occ, (OWNER,), "No.")
    assert me(one(snap(dav.backend()), "moved@contract")) != "DECLINED"


def test_412s_without_end_stop_after_a_bounded_number_of_tries(dav: Any) -> None:
    dav.put(invite("busy@contract", "Listing review", at(1, 9)))
    b = dav.backend()
    occ = one(snap(b), "busy@contract")
    puts = []

    def rule(method: str, path: str, body: bytes) -> Any:
        dav.bodies.append((method, body))
        if method == "PUT":
            puts.append(path)
            return ("status", 412)
        return None

    dav.proxy.rule = rule
    with pytest.raises(Conflict412):
        b.decline(occ, (OWNER,), "No.")
    dav.proxy.rule = dav._rule
    assert len(puts) == EDIT_ATTEMPTS
    assert me(one(snap(dav.backend()), "busy@contract")) != "DECLINED"
