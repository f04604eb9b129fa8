"""CalDAV resources stay parsed between cycles (calendars/caldav_cache.py): an unchanged collection
parses nothing, a changed resource alone is parsed, and nothing stale is ever served (a reused
ETag, a sync token the server expired, a window moved past what was expanded)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaryd.calendars import caldav_cache
from boundaryd.calendars.caldav_backend import CaldavBackend
from boundaryd.calendars.caldav_xml import Resource
from boundaryd.calendars.ical_edits import combine
from boundaryd.core import ical
from caldav_servers import FaultProxy, radicale_server  # noqa: F401
from clirun import calendar_of, invite
from dav_servers import DavServer, put_event
from test_caldav_backend import MemoryState, backend_for

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
END = NOW + timedelta(days=14)
URL = "http://127.0.0.1:1/cal/"


def at(day: int, hh: int) -> datetime:
    return NOW.replace(hour=hh) + timedelta(days=day)


def text(uid: str, title: str, day: int = 1, hh: int = 9, **kw: object) -> str:
    return calendar_of(invite(uid, title, at(day, hh), 30, **kw)).decode()  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    caldav_cache.forget()
    yield
    caldav_cache.forget()


def collection(n: int = 20) -> dict[str, Resource]:
    items = {f"/cal/e{i}.ics": Resource(f'"{i}"', text(f"e{i}@t", f"Meeting {i}", i % 10, 8 + i % 9)) for i in range(n)}
    items["/cal/series.ics"] = Resource('"s"', text("series@t", "Daily", 1, 10, rrule={"FREQ": ["DAILY"], "COUNT": ["5"]}))
    items["/cal/broken.ics"] = Resource('"b"', "BEGIN:VCALENDAR\r\nUID:lost@t\r\nnot a calendar")
    return items


def fresh(items: dict[str, Resource], start: datetime = NOW, end: datetime = END) -> tuple[object, ...]:
    """What a process that never read the collection makes of it."""
    caldav_cache.forget()
    return tuple(caldav_cache.read(URL, items, start, end, TZ))


def test_an_unchanged_collection_parses_nothing() -> None:
    items = collection()
    first = caldav_cache.read(URL, items, NOW, END, TZ)
    parsed = caldav_cache.stats.parsed
    later = NOW + timedelta(hours=5)  # the window moves with the clock, inside what was expanded
    again = caldav_cache.read(URL, dict(items), later, later + timedelta(days=14), TZ)
    assert caldav_cache.stats.parsed == parsed
    assert tuple(again) == fresh(items, later, later + timedelta(days=14))
    assert tuple(first) == fresh(items)


def test_one_changed_resource_alone_is_parsed() -> None:
    items = collection()
    caldav_cache.read(URL, items, NOW, END, TZ)
    parsed = caldav_cache.stats.parsed
    items["/cal/e3.ics"] = Resource('"3b"', text("e3@t", "Moved meeting", 4, 15))
    del items["/cal/e4.ics"]
    occs, _, _, uid_href = caldav_cache.read(URL, items, NOW, END, TZ)
    assert caldav_cache.stats.parsed == parsed + 1
    assert "e4@t" not in uid_href and any(o.summary == "Moved meeting" for o in occs)
    assert tuple(caldav_cache.read(URL, items, NOW, END, TZ)) == fresh(items)


def test_a_server_that_reuses_an_etag_cannot_make_it_serve_stale_events() -> None:
    items = collection()
    caldav_cache.read(URL, items, NOW, END, TZ)
    items["/cal/e5.ics"] = Resource(items["/cal/e5.ics"].etag, text("e5@t", "Renamed", 5, 13))  # same ETag
    occs, _, _, _ = caldav_cache.read(URL, items, NOW, END, TZ)
    assert [o.summary for o in occs if o.uid == "e5@t"] == ["Renamed"]


def test_a_window_past_what_was_expanded_parses_again() -> None:
    items = collection()
    caldav_cache.read(URL, items, NOW, END, TZ)
    parsed = caldav_cache.stats.parsed
    later = NOW + timedelta(days=30)
    got = tuple(caldav_cache.read(URL, items, later, later + timedelta(days=14), TZ))
    assert caldav_cache.stats.parsed == parsed + len(items)
    assert got == fresh(items, later, later + timedelta(days=14))


def test_it_reads_as_one_combined_calendar_would() -> None:
    """The same occurrences, owned events and unreadable ones as all resources parsed as one
    calendar (the way before this cache), a UID held by two resources included."""
    items = collection()
    items["/cal/dup.ics"] = Resource('"d"', text("e2@t", "Moved instance", 2, 16).replace(
        "BEGIN:VEVENT", "BEGIN:VEVENT\r\nRECURRENCE-ID:20261125T140000Z", 1))
    occs, owned, skipped, uid_href = caldav_cache.read(URL, items, NOW, END, TZ)
    cal, bad, uids = combine((h, h, r.data) for h, r in sorted(items.items()))
    want, want_owned, want_bad = ical.occurrences_of(cal, NOW, END, TZ)
    assert sorted(occs, key=repr) == sorted(want, key=repr)
    assert (owned, sorted(skipped, key=repr), uid_href) == (want_owned, sorted(bad + want_bad, key=repr), uids)


def test_a_sync_token_the_server_expired_410_reads_everything_and_parses_only_what_changed(
    radicale_server: DavServer,  # noqa: F811
) -> None:
    server = radicale_server
    for i in range(5):
        put_event(server, f"e{i}.ics", calendar_of(invite(f"e{i}@t", f"Meeting {i}", at(1 + i, 9))))
    with FaultProxy(int(server.root.rsplit(":", 1)[1].strip("/"))) as proxy:
        url = proxy.url_for(server)
        state = MemoryState()
        CaldavBackend(url, server.username, server.password, state).snapshot(NOW, END, TZ)
        put_event(server, "e2.ics", calendar_of(invite("e2@t", "Meeting 2, new room", at(3, 9))))

        refused: list[str] = []

        def expired(method: str, path: str, body: bytes) -> tuple[str, float] | None:
            old_token = b"sync-collection" in body and b"<d:sync-token></d:sync-token>" not in body
            if method == "REPORT" and old_token:
                refused.append(path)
                return ("status", 410)
            return None

        proxy.rule = expired
        parsed = caldav_cache.stats.parsed
        snap = CaldavBackend(url, server.username, server.password, state).snapshot(NOW, END, TZ)
        assert len(refused) == 1  # the old token was refused: everything was read again
        assert caldav_cache.stats.parsed == parsed + 1  # and only e2, which changed, parsed
        assert [o.summary for o in snap.occurrences if o.uid == "e2@t"] == ["Meeting 2, new room"]
        proxy.rule = None
        caldav_cache.forget()
        assert CaldavBackend(url, server.username, server.password, state).snapshot(NOW, END, TZ) == snap


def test_an_expired_sync_token_reads_the_server_again_and_parses_only_what_changed(
    radicale_server: DavServer,  # noqa: F811
) -> None:
    server = radicale_server
    for i in range(5):
        put_event(server, f"e{i}.ics", calendar_of(invite(f"e{i}@t", f"Meeting {i}", at(1 + i, 9))))
    state = MemoryState()
    backend_for(server, state)[0].snapshot(NOW, END, TZ)
    (key,) = [k for k in state.data if ":" in k and not k.endswith((":flags", ":server"))]
    blob = json.loads(state.data[key])
    blob["token"] = blob["token"][:-6] + "ffffff"  # a token the server no longer honours
    state.data[key] = json.dumps(blob)
    put_event(server, "e2.ics", calendar_of(invite("e2@t", "Meeting 2, new room", at(3, 9))))
    parsed = caldav_cache.stats.parsed
    b, wire = backend_for(server, state)
    snap = b.snapshot(NOW, END, TZ)
    assert wire.methods()[:2] == ["REPORT", "REPORT"]  # refused, then everything from the start
    assert caldav_cache.stats.parsed == parsed + 1
    assert [o.summary for o in snap.occurrences if o.uid == "e2@t"] == ["Meeting 2, new room"]
    caldav_cache.forget()
    assert backend_for(server, state)[0].snapshot(NOW, END, TZ) == snap  # as a fresh process reads it


EDITS = st.lists(st.tuples(st.sampled_from(["add", "remove", "retitle", "same-etag", "break", "dup-uid"]),
                           st.integers(0, 24), st.integers(0, 40)), min_size=1, max_size=8)


@settings(max_examples=15, deadline=None)
@given(edits=EDITS)
def test_random_changes_read_as_a_fresh_process_reads_them(edits: list[tuple[str, int, int]]) -> None:
    caldav_cache.forget()
    items = collection()
    for kind, n, hours in edits:
        href = f"/cal/e{n}.ics"
        if kind == "add" or (href not in items and kind != "remove"):
            items[href] = Resource(f'"{n}-{hours}"', text(f"e{n}@t", f"Meeting {n}", n % 10, 8 + hours % 9))
        elif kind == "remove":
            items.pop(href, None)
        elif kind in ("retitle", "same-etag"):
            etag = items[href].etag if kind == "same-etag" else f'"{n}-{hours}x"'
            items[href] = Resource(etag, items[href].data.replace("SUMMARY:", "SUMMARY:x"))
        elif kind == "break":
            items[href] = Resource('"broken"', items[href].data.replace("BEGIN:VEVENT", "BEGIN:VEVENT\r\nDTSTART:x", 1))
        else:  # the same UID in a second resource
            items[f"/cal/copy{n}.ics"] = Resource('"c"', items[href].data)
        later = NOW + timedelta(hours=hours)
        got = tuple(caldav_cache.read(URL, items, later, later + timedelta(days=14), TZ))
        assert got == fresh(items, later, later + timedelta(days=14))
        caldav_cache.read(URL, items, later, later + timedelta(days=14), TZ)  # fresh() emptied the cache
    caldav_cache.forget()
