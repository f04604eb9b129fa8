"""The calendar contract, the past (``leads``): ``history(start, end, tz)`` reads what happened,
once per calendar, without disturbing what ``snapshot`` keeps (its change token, its cache).

Every scenario runs unchanged against every backend (``contract_worlds.BACKENDS``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from boundaryd.calendars.base import read_history
from clirun import invite
from contract_worlds import NOW, TZ, World, at, block_events, snap

MONTH_AGO = NOW - timedelta(days=30)


def _past(world: World) -> None:
    world.put(invite("met@history", "Met Dana", at(-10, 9), organizer="dana@lead.example", partstat="ACCEPTED"))
    weekly = invite("weekly@history", "Weekly", at(-21, 14), 30, organizer="carl@client.example",
                    rrule={"FREQ": ["WEEKLY"], "COUNT": ["5"]})
    world.put(weekly)
    world.put(invite("old@history", "Long ago", at(-60, 9), organizer="old@client.example"))
    world.put(invite("soon@history", "Soon", at(1, 9), organizer="erin@new.example"))


def test_history_reads_the_past_expanded_without_our_own_events(world: World) -> None:
    _past(world)
    b = world.backend()
    snap(b)
    for ev in block_events(anchor=(NOW - timedelta(days=20)).date()).values():
        b.put_block(ev)
    b.flush()
    past = read_history(world.backend(), MONTH_AGO, NOW, TZ)
    if past is None:
        pytest.skip(f"{world.name}: no history read (new contacts are not judged)")
    got = sorted((o.start, o.uid) for o in past)
    assert got == [
        (at(-21, 14), "weekly@history"),
        (at(-14, 14), "weekly@history"),
        (at(-10, 9), "met@history"),
        (at(-7, 14), "weekly@history"),
    ]
    met = next(o for o in past if o.uid == "met@history")
    assert met.organizer == "dana@lead.example" and met.start.tzinfo == TZ
    assert {(a.email, a.partstat) for a in met.attendees} >= {("alice@example.com", "ACCEPTED")}


def test_history_leaves_the_snapshot_token_and_cache_alone(world: World) -> None:
    _past(world)
    first = snap(world.backend())
    b = world.backend()
    snap(b)
    past = b.history(MONTH_AGO, NOW, TZ)
    assert {o.uid for o in past} == {"met@history", "weekly@history"}
    reads, requests = world.full_reads(), world.requests()
    again = snap(world.backend())  # a new process with the same journal
    assert again == first
    if world.has_tokens:
        assert world.full_reads() == reads  # the token the snapshot keeps still holds
        assert world.requests() - requests == 1
