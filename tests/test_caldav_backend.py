"""CaldavBackend on its own, against real Radicale (no auth, sha512 htpasswd) and Xandikos.

Every HTTP request is seen on the wire: through ``FaultProxy`` (which also injects the faults) or
by wrapping the client's session, so the counts and headers asserted here are what servers get.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from boundaryd.calendars import caldav_backend
from boundaryd.calendars.caldav_backend import CaldavBackend
from boundaryd.core import ical
from boundaryd.core.model import Occurrence
from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App
from boundaryd.errors import BadInput, Conflict412, RuntimeFailure
from caldav_servers import FaultProxy, radicale_htpasswd_server, radicale_server, xandikos_server  # noqa: F401
from clirun import BLOCKS, OWNER, calendar_of, invite, make_env
from conftest import make_rules
from dav_servers import DavServer, free_port, put_event
from test_contract import RULES

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
END = NOW + timedelta(days=14)


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 23, hh, mm, tzinfo=TZ) + timedelta(days=day)


class MemoryState:
    """SyncState in a dict (the journal's get/set of strings)."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.writes = 0

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str | None) -> None:
        self.writes += 1
        if value is None:
            self.data.pop(key, None)
        else:
            self.data[key] = value


class Wire:
    """Every request the backend's HTTP session sends: (method, url, headers, status)."""

    def __init__(self, backend: CaldavBackend) -> None:
        self.calls: list[tuple[str, str, dict[str, str], int]] = []
        real = backend.client.session.request

        def request(method: str, url: str, *args: Any, **kw: Any) -> Any:
            r = real(method, url, *args, **kw)
            self.calls.append((method, url, dict(kw.get("headers") or {}), r.status_code))
            return r

        backend.client.session.request = request

    def methods(self) -> list[str]:
        return [c[0] for c in self.calls]


def backend_for(server: DavServer, state: MemoryState, url: str | None = None) -> tuple[CaldavBackend, Wire]:
    b = CaldavBackend(url or server.url, server.username, server.password, state)
    return b, Wire(b)


def get(server: DavServer, name: str) -> icalendar.Calendar:
    req = urllib.request.Request(server.url + name)
    if server.username:
        import base64

        token = base64.b64encode(f"{server.username}:{server.password}".encode()).decode()
        req.add_header("Authorization", "Basic " + token)
    with urllib.request.urlopen(req, timeout=5) as r:
        return icalendar.Calendar.from_ical(r.read())


def series_with_exceptions() -> bytes:
    """Daily at 10:00 for 5 days from tomorrow; day 3 cancelled (EXDATE); day 2 moved to 14:00."""
    master = invite("series@t", "Daily standup", at(1, 10), 30, rrule={"FREQ": ["DAILY"], "COUNT": ["5"]})
    master.add("EXDATE", at(3, 10))
    moved = invite("series@t", "Daily standup (moved)", at(2, 14), 30)
    moved.add("RECURRENCE-ID", at(2, 10))
    return calendar_of(master, moved)


@pytest.fixture(params=["radicale", "radicale-htpasswd", "xandikos"])
def server(request: pytest.FixtureRequest) -> Iterator[DavServer]:
    name = {"radicale": "radicale_server", "radicale-htpasswd": "radicale_htpasswd_server"}.get(
        request.param, "xandikos_server"
    )
    yield request.getfixturevalue(name)


@pytest.fixture
def radicale(request: pytest.FixtureRequest) -> DavServer:
    return request.getfixturevalue("radicale_server")  # type: ignore[no-any-return]


def mine(o: Occurrence) -> str:
    return next(a.partstat for a in o.attendees if a.email == OWNER)


# --- reading -------------------------------------------------------------------------------------


def test_a_recurring_invitation_with_an_override_and_an_exdate(server: DavServer) -> None:
    assert put_event(server, "series.ics", series_with_exceptions()) in (201, 204)
    state = MemoryState()
    b, wire = backend_for(server, state)
    snap = b.snapshot(NOW, END, TZ)
    got = sorted((o.start, o.summary, o.recurrence_id) for o in snap.occurrences)
    assert got == [
        (at(1, 10), "Daily standup", at(1, 10)),
        (at(2, 14), "Daily standup (moved)", at(2, 10)),
        (at(4, 10), "Daily standup", at(4, 10)),
        (at(5, 10), "Daily standup", at(5, 10)),
    ]
    assert all(mine(o) == "NEEDS-ACTION" and o.organizer == "bob@client.example" for o in snap.occurrences)
    assert wire.methods()[0] == "OPTIONS" and wire.methods().count("REPORT") in (1, 2)  # + a multiget on Xandikos
    assert next(c[2] for c in wire.calls if c[0] == "REPORT").get("Depth") == "0"  # sync-collection: RFC 6578 3.2
    assert b.capabilities.tells_organizer is (server.name == "xandikos")
    # no 401 round trip with a password: the credentials go with the first request
    assert all(c[3] != 401 for c in wire.calls)

    # a second backend on the same state: one REPORT, no write to the state
    writes = state.writes
    b2, wire2 = backend_for(server, state)
    assert b2.snapshot(NOW, END, TZ) == snap
    assert wire2.methods() == ["REPORT"] and state.writes == writes


def test_an_expired_sync_token_reads_everything_again(server: DavServer) -> None:
    put_event(server, "one.ics", calendar_of(invite("one@t", "One", at(1, 9))))
    state = MemoryState()
    backend_for(server, state)[0].snapshot(NOW, END, TZ)
    (key,) = [k for k in state.data if k.count(":") == 1]  # the collection's state (not the per-server memos)
    blob = json.loads(state.data[key])
    blob["token"] = blob["token"][:-6] + "ffffff"  # a token the server never issued
    state.data[key] = json.dumps(blob)
    put_event(server, "two.ics", calendar_of(invite("two@t", "Two", at(2, 9))))
    b, wire = backend_for(server, state)
    snap = b.snapshot(NOW, END, TZ)
    assert sorted(o.uid for o in snap.occurrences) == ["one@t", "two@t"]
    assert wire.methods()[:2] == ["REPORT", "REPORT"] and len(wire.calls) <= 3
    assert json.loads(state.data[key])["token"] != blob["token"]


def test_a_resource_deleted_by_someone_else_leaves_the_snapshot(server: DavServer) -> None:
    put_event(server, "one.ics", calendar_of(invite("one@t", "One", at(1, 9))))
    put_event(server, "two.ics", calendar_of(invite("two@t", "Two", at(2, 9))))
    state = MemoryState()
    backend_for(server, state)[0].snapshot(NOW, END, TZ)
    req = urllib.request.Request(server.url + "two.ics", method="DELETE")
    if server.username:
        import base64

        req.add_header(
            "Authorization", "Basic " + base64.b64encode(f"{server.username}:{server.password}".encode()).decode()
        )
    urllib.request.urlopen(req, timeout=5).close()
    b, wire = backend_for(server, state)
    assert [o.uid for o in b.snapshot(NOW, END, TZ).occurrences] == ["one@t"]
    assert wire.methods() == ["REPORT"]


# --- writing -------------------------------------------------------------------------------------


def prospecting_events(title: str = "Prospecting calls") -> list[Any]:
    rules = make_rules(
        f"""
        - id: prospecting
          title: {title}
          kind: prospecting
          days: weekdays
          start: "08:30"
          end: "11:00"
          policy: decline
        """
    )
    return ical.block_events(rules, rules.blocks[0], NOW.date())


def test_blocks_are_created_updated_and_deleted_conditionally(server: DavServer) -> None:
    state = MemoryState()
    b, wire = backend_for(server, state)
    b.snapshot(NOW, END, TZ)
    (event,) = prospecting_events()
    b.put_block(event)
    put = wire.calls[-1]
    assert put[0] == "PUT" and put[2].get("If-None-Match") == "*" and "If-Match" not in put[2] and put[3] == 201

    b, wire = backend_for(server, state)
    snap = b.snapshot(NOW, END, TZ)
    assert [(o.uid, o.block) for o in snap.owned] == [(event.uid, "prospecting")]
    assert len([o for o in snap.occurrences if o.owned_block]) == 10
    (renamed,) = prospecting_events("Prospecting")
    assert renamed.uid == event.uid and renamed.fingerprint != event.fingerprint
    b.put_block(renamed)
    put = wire.calls[-1]
    assert put[0] == "PUT" and put[2].get("If-Match", "").startswith('"') and put[3] in (200, 204)
    assert put[1].endswith(".ics")

    b, wire = backend_for(server, state)
    snap = b.snapshot(NOW, END, TZ)
    assert {o.summary for o in snap.occurrences if o.owned_block} == {"Prospecting"}
    assert [o.fingerprint for o in snap.owned] == [renamed.fingerprint]
    b.delete_block(renamed.uid)
    assert wire.calls[-1][0] == "DELETE" and wire.calls[-1][2].get("If-Match", "").startswith('"')
    b.delete_block(renamed.uid)  # deleting what is gone: no request, no error
    assert [m for m in wire.methods() if m != "REPORT"] == ["DELETE"]
    b, _ = backend_for(server, state)
    snap = b.snapshot(NOW, END, TZ)
    assert snap.owned == () and not [o for o in snap.occurrences if o.owned_block]


def test_someone_elses_edit_of_a_block_is_a_412_and_survives(server: DavServer) -> None:
    state = MemoryState()
    b, _ = backend_for(server, state)
    b.snapshot(NOW, END, TZ)
    (event,) = prospecting_events()
    b.put_block(event)
    b, _ = backend_for(server, state)
    b.snapshot(NOW, END, TZ)
    href = b._uid_href[event.uid]
    name = href.rsplit("/", 1)[1]
    theirs = get(server, name)
    for comp in theirs.walk("VEVENT"):
        comp["SUMMARY"] = icalendar.vText("Moved by hand")
    assert put_event(server, name, theirs.to_ical()) in (200, 201, 204)

    (renamed,) = prospecting_events("Prospecting")
    with pytest.raises(Conflict412, match="changed by someone else"):
        b.put_block(renamed)
    with pytest.raises(Conflict412):
        b.delete_block(event.uid)
    assert "Moved by hand" in get(server, name).to_ical().decode()  # never overwritten

    # re-read, re-plan: now the write is based on what is there
    b, _ = backend_for(server, state)
    snap = b.snapshot(NOW, END, TZ)
    assert {o.summary for o in snap.occurrences if o.owned_block} == {"Moved by hand"}
    b.put_block(renamed)
    assert "Moved by hand" not in get(server, name).to_ical().decode()


@pytest.mark.parametrize("which", ["radicale_server", "radicale_htpasswd_server"])
def test_a_decline_of_one_instance_leaves_the_series_alone(which: str, request: pytest.FixtureRequest) -> None:
    server: DavServer = request.getfixturevalue(which)
    put_event(server, "series.ics", series_with_exceptions())
    state = MemoryState()
    b, wire = backend_for(server, state)
    snap = b.snapshot(NOW, END, TZ)
    (day4,) = [o for o in snap.occurrences if o.start == at(4, 10)]
    (moved,) = [o for o in snap.occurrences if o.start == at(2, 14)]
    b.decline(day4, (OWNER,), "Not then, sorry; Thursday at 11?")
    b.decline(moved, (OWNER,), "Not then either.")
    # the second edit of the same resource reads it again first (a server may rewrite what we PUT)
    assert [c[0] for c in wire.calls[-3:]] == ["PUT", "GET", "PUT"]
    assert wire.calls[-3][2].get("If-Match") and wire.calls[-1][2].get("If-Match")

    stored = get(server, "series.ics")
    by_rid: dict[Any, Any] = {(c.decoded("RECURRENCE-ID") if "RECURRENCE-ID" in c else None): c for c in stored.walk("VEVENT")}
    assert set(by_rid) == {None, at(2, 10), at(4, 10)}

    def owner_of(c: Any) -> Any:
        return next(a for a in c["ATTENDEE"] if OWNER in str(a).lower())

    master = by_rid[None]
    assert owner_of(master).params["PARTSTAT"] == "NEEDS-ACTION"  # the series is untouched
    assert master["RRULE"].to_ical() == b"FREQ=DAILY;COUNT=5" and "COMMENT" not in master
    for rid in (at(2, 10), at(4, 10)):
        assert owner_of(by_rid[rid]).params["PARTSTAT"] == "DECLINED"
        assert int(by_rid[rid]["SEQUENCE"]) == 2  # not bumped: only the organizer does that
    assert "Thursday at 11" in str(by_rid[at(4, 10)]["COMMENT"])
    assert by_rid[at(2, 10)]["DTSTART"].dt == at(2, 14)  # the organizer's move stays

    b, wire = backend_for(server, state)
    after = {o.start: mine(o) for o in b.snapshot(NOW, END, TZ).occurrences}
    assert after == {at(1, 10): "NEEDS-ACTION", at(2, 14): "DECLINED", at(4, 10): "DECLINED", at(5, 10): "NEEDS-ACTION"}
    (day4,) = [o for o in b.snapshot(NOW, END, TZ).occurrences if o.start == at(4, 10)]
    b.decline(day4, (OWNER,), "Not then, sorry; Thursday at 11?")  # done already: nothing written
    assert "PUT" not in wire.methods()


def test_a_flag_marks_only_the_owners_copy_of_that_occurrence(radicale: DavServer) -> None:
    server = radicale
    put_event(server, "series.ics", series_with_exceptions())
    state = MemoryState()
    b, _ = backend_for(server, state)
    (day5,) = [o for o in b.snapshot(NOW, END, TZ).occurrences if o.start == at(5, 10)]
    b.flag(day5)
    b, wire = backend_for(server, state)
    occs = b.snapshot(NOW, END, TZ).occurrences
    assert {o.start: "Conflict" in o.categories for o in occs} == {
        at(1, 10): False,
        at(2, 14): False,
        at(4, 10): False,
        at(5, 10): True,
    }
    (day5,) = [o for o in occs if o.start == at(5, 10)]
    b.flag(day5)  # idempotent
    assert wire.methods() == ["REPORT"]


def test_a_decline_that_races_the_organizer_is_a_412(radicale: DavServer) -> None:
    server = radicale
    put_event(server, "one.ics", calendar_of(invite("one@t", "One", at(1, 9))))
    b, _ = backend_for(server, MemoryState())
    (occ,) = b.snapshot(NOW, END, TZ).occurrences
    put_event(server, "one.ics", calendar_of(invite("one@t", "One (new agenda)", at(1, 9))))
    with pytest.raises(Conflict412):
        b.decline(occ, (OWNER,), "no")
    stored = get(server, "one.ics").to_ical().decode()
    assert "new agenda" in stored and "DECLINED" not in stored


# --- whole syncs: requests on the wire, faults ------------------------------------------------------


def rules_at(tmp_path: Path, url: str, server: DavServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    auth = ""
    if server.username:
        monkeypatch.setenv("TEST_CALDAV_PASSWORD", server.password or "")
        auth = f", username: {server.username}, password_env: TEST_CALDAV_PASSWORD"
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.format(owner=OWNER, calendar=f"  caldav: {{url: {url}{auth}}}", blocks=BLOCKS))
    return load_rules(path)


def sync(tmp_path: Path, rules: Any, minutes: int = 0) -> Any:
    return App(tmp_path / "rules.yaml", tmp_path / "state").sync(rules, NOW + timedelta(minutes=minutes))


def outbox_replies(tmp_path: Path) -> list[str]:
    out = []
    for f in sorted((tmp_path / "state" / "outbox").rglob("*")):
        if not f.is_file() or f.parent.name not in ("new", "cur"):
            continue
        head = f.read_bytes().split(b"\n\n", 1)[0].decode("utf-8", "replace")
        if "method=REPLY" in head.replace('"', "") or "Subject: Declined" in head:
            out.append(f.name)
    return out


def test_a_quiet_cycle_is_one_request_on_the_wire(
    server: DavServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = int(server.root.rsplit(":", 1)[1].strip("/"))
    with FaultProxy(port) as proxy:
        rules = rules_at(tmp_path, proxy.url_for(server), server, monkeypatch)
        put_event(server, "series.ics", series_with_exceptions())
        sync(tmp_path, rules)
        sync(tmp_path, rules, 1)
        for minutes in (2, 3):
            proxy.requests.clear()
            quiet = sync(tmp_path, rules, minutes)
            assert [m for m, _ in proxy.requests] == ["REPORT"], proxy.requests
            assert quiet.plan.calendar_changes == () and quiet.queued == []


def test_an_answer_lost_after_the_server_applied_a_decline(
    radicale: DavServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PUT reaches Radicale, its answer never comes back: the next sync neither declines
    again nor loses the reply to the organizer."""
    server = radicale
    monkeypatch.setattr(caldav_backend, "TIMEOUT", 3)
    port = int(server.root.rsplit(":", 1)[1].strip("/"))
    with FaultProxy(port) as proxy:
        rules = rules_at(tmp_path, proxy.url_for(server), server, monkeypatch)
        sync(tmp_path, rules)  # blocks written
        put_event(server, "late.ics", calendar_of(invite("late@t", "Late one", at(2, 9))))
        proxy.rule = lambda method, path, body: "cut" if method == "PUT" and path.endswith("late.ics") else None
        with pytest.raises(RuntimeFailure) as e:
            sync(tmp_path, rules, 1)
        assert "\n" not in str(e.value) and str(e.value).startswith("caldav http://127.0.0.1")
        assert "DECLINED" in get(server, "late.ics").to_ical().decode()  # the server did it
        assert outbox_replies(tmp_path) == []
        proxy.rule = None
        done = sync(tmp_path, rules, 2)
        assert done.plan.declines == ()  # already declined on the server
        assert len(outbox_replies(tmp_path)) == 1  # the held reply goes out once
        again = sync(tmp_path, rules, 3)
        assert again.queued == [] and len(outbox_replies(tmp_path)) == 1


@pytest.mark.parametrize("fault", ["hang", "error", "drop", "cut"])
def test_a_fault_in_the_middle_of_writing_blocks(
    fault: str, radicale: DavServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second block PUT fails: one line, exit-1 kind; the next sync writes exactly what is
    missing, with no duplicate block."""
    server = radicale
    monkeypatch.setattr(caldav_backend, "TIMEOUT", 1)
    port = int(server.root.rsplit(":", 1)[1].strip("/"))
    puts = []

    def second_put(method: str, path: str, body: bytes) -> str | None:
        if method == "PUT":
            puts.append(path)
            if len(puts) == 2:
                return fault
        return None

    with FaultProxy(port) as proxy:
        rules = rules_at(tmp_path, proxy.url_for(server), server, monkeypatch)
        proxy.rule = second_put
        with pytest.raises(RuntimeFailure) as e:
            sync(tmp_path, rules)
        assert "\n" not in str(e.value) and str(e.value).startswith(f"caldav {proxy.url_for(server)}")
        assert "Traceback" not in str(e.value)
        proxy.rule = None
        done = sync(tmp_path, rules, 1)
        expected = 1 if fault == "cut" else 2  # a cut PUT was applied: one block fewer to write
        assert len(done.plan.calendar_changes) == expected
        assert {c.op for c in done.plan.calendar_changes} == {"create"}
        assert sync(tmp_path, rules, 2).plan.calendar_changes == ()
        snap = App(tmp_path / "rules.yaml", tmp_path / "state").executor(rules).snapshot(NOW)
        assert sorted(o.block for o in snap.owned) == ["call-return", "call-return", "prospecting"]


def test_the_command_line_says_one_line_and_exits_1(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    url = f"http://127.0.0.1:{free_port()}/alice/work/"
    p = env.run("sync", "--calendar", f"caldav:{url}", "--now", "2026-11-23T07:00:00-05:00", check=1)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and url in lines[0] and "connection refused" in lines[0], p.stderr


def no_sync_collection(method: str, path: str, body: bytes) -> tuple[str, float] | None:
    return ("status", 501) if method == "REPORT" and b"sync-collection" in body else None


@pytest.mark.parametrize("which", ["radicale", "xandikos"])
def test_a_server_without_sync_collection_is_read_by_etags(
    which: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server: DavServer = request.getfixturevalue(f"{which}_server")
    put_event(server, "series.ics", series_with_exceptions())
    port = int(server.root.rsplit(":", 1)[1].strip("/"))
    with FaultProxy(port) as proxy:
        proxy.rule = no_sync_collection
        state = MemoryState()
        b, _ = backend_for(server, state, proxy.url_for(server))
        assert len(b.snapshot(NOW, END, TZ).occurrences) == 4
        assert [m for m, _ in proxy.requests] == ["OPTIONS", "REPORT", "PROPFIND", "REPORT"]  # asked, listed, fetched
        proxy.requests.clear()
        b, _ = backend_for(server, state, proxy.url_for(server))
        assert len(b.snapshot(NOW, END, TZ).occurrences) == 4
        assert [m for m, _ in proxy.requests] == ["PROPFIND"]  # quiet: one request

        put_event(server, "one.ics", calendar_of(invite("one@t", "One", at(1, 9))))
        proxy.requests.clear()
        b, _ = backend_for(server, state, proxy.url_for(server))
        (one,) = [o for o in b.snapshot(NOW, END, TZ).occurrences if o.uid == "one@t"]
        assert [m for m, _ in proxy.requests] == ["PROPFIND", "REPORT"]  # listed, fetched the new one
        b.decline(one, (OWNER,), "no")
        assert "DECLINED" in get(server, "one.ics").to_ical().decode()

        # whole syncs: the quiet cycle is still one request
        rules = rules_at(tmp_path, proxy.url_for(server), server, monkeypatch)
        sync(tmp_path, rules)
        sync(tmp_path, rules, 1)
        proxy.requests.clear()
        quiet = sync(tmp_path, rules, 2)
        assert [m for m, _ in proxy.requests] == ["PROPFIND"] and quiet.plan.calendar_changes == ()


def test_a_scheduling_server_that_does_not_know_the_owner_leaves_the_reply_to_us(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Xandikos replies only for its own user's addresses: for another owner boundaryd replies."""
    from dav_servers import start_xandikos
    from smtp_server import SmtpServer

    with SmtpServer(mode="none") as smtp:
        server = start_xandikos(tmp_path / "x", email="someone.else@example.com", smtp_port=smtp.port)
        try:
            put_event(server, "one.ics", calendar_of(invite("one@t", "One", at(1, 9))))
            b, wire = backend_for(server, MemoryState())
            b.owner_emails = frozenset({OWNER})
            assert b.connect().tells_organizer is False and b.capabilities.tells_organizer is False
            assert wire.methods() == ["OPTIONS", "PROPFIND", "PROPFIND"]
            assert b.connect().tells_organizer is False and len(wire.methods()) == 3  # resolved once
            b2, _ = backend_for(server, MemoryState())
            b2.owner_emails = frozenset({"Someone.Else@example.com".lower()})
            assert b2.connect().tells_organizer is True

            rules = rules_at(tmp_path, server.url, server, monkeypatch)
            result = sync(tmp_path, rules)
            assert result.declined == 1
            assert [s for s in result.queued if s.startswith("Declined")] != []  # ours, to the outbox
            assert len(outbox_replies(tmp_path)) == 1
            assert "DECLINED" in get(server, "one.ics").to_ical().decode()
            assert smtp.received == []  # and none from the server
        finally:
            server.stop()


def test_weak_etags_are_checked_by_reading_before_writing(radicale: DavServer) -> None:
    """Behind a front-end that weakens ETags, If-Match could never match: boundaryd checks with a
    GET just before each write instead, and still never overwrites someone else's change."""
    from caldav_servers import weaken_etags

    server = radicale
    put_event(server, "series.ics", series_with_exceptions())
    port = int(server.root.rsplit(":", 1)[1].strip("/"))
    with FaultProxy(port) as proxy:
        proxy.transform = weaken_etags
        state = MemoryState()
        b, wire = backend_for(server, state, proxy.url_for(server))
        occs = b.snapshot(NOW, END, TZ).occurrences
        assert all(r["etag"].startswith('W/"') for r in json.loads(next(iter(state.data.values())))["items"].values())
        (day4,) = [o for o in occs if o.start == at(4, 10)]
        b.decline(day4, (OWNER,), "no")
        assert [(c[0], "If-Match" in c[2]) for c in wire.calls[-2:]] == [("GET", False), ("PUT", False)]
        assert "DECLINED" in get(server, "series.ics").to_ical().decode()

        (event,) = prospecting_events()
        b.put_block(event)
        b, wire = backend_for(server, state, proxy.url_for(server))
        b.snapshot(NOW, END, TZ)
        (renamed,) = prospecting_events("Prospecting")
        b.put_block(renamed)
        assert [c[0] for c in wire.calls[-2:]] == ["GET", "PUT"] and wire.calls[-1][3] in (200, 204)

        # someone else's change between our read and our write: a 412, nothing overwritten
        b, _ = backend_for(server, state, proxy.url_for(server))
        occs = b.snapshot(NOW, END, TZ).occurrences
        theirs = get(server, "series.ics")
        for comp in theirs.walk("VEVENT"):
            comp["LOCATION"] = icalendar.vText("Room 12")
            comp["SUMMARY"] = icalendar.vText(f"{comp.get('SUMMARY', '')} (new agenda)")
        put_event(server, "series.ics", theirs.to_ical())
        (day5,) = [o for o in occs if o.start == at(5, 10)]
        with pytest.raises(Conflict412):
            b.decline(day5, (OWNER,), "no")
        assert "Room 12" in get(server, "series.ics").to_ical().decode()
        # a change the plan did not decide on (a room): re-read, declined on top of it, kept
        occs = b.snapshot(NOW, END, TZ).occurrences
        theirs = get(server, "series.ics")
        for comp in theirs.walk("VEVENT"):
            comp["LOCATION"] = icalendar.vText("Room 14")
        put_event(server, "series.ics", theirs.to_ical())
        (day5,) = [o for o in occs if o.start == at(5, 10)]
        b.decline(day5, (OWNER,), "no")
        stored = get(server, "series.ics").to_ical().decode()
        assert "Room 14" in stored and stored.count("DECLINED") == 2
        name = b._uid_href[renamed.uid].rsplit("/", 1)[1]
        block = get(server, name)
        for comp in block.walk("VEVENT"):
            comp["DESCRIPTION"] = icalendar.vText("my notes")
        put_event(server, name, block.to_ical())
        with pytest.raises(Conflict412):
            b.delete_block(renamed.uid)
        assert "my notes" in get(server, name).to_ical().decode()


def test_the_password_from_a_file_or_a_systemd_credential(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server: DavServer = request.getfixturevalue("radicale_htpasswd_server")
    secret = tmp_path / "caldav-pass"
    secret.write_text((server.password or "") + "\n")
    secret.chmod(0o600)
    path = tmp_path / "rules.yaml"
    calendar = f"  caldav: {{url: {server.url}, username: {server.username}, password_file: {secret}}}"
    path.write_text(RULES.format(owner=OWNER, calendar=calendar, blocks=BLOCKS))
    assert len(sync(tmp_path, load_rules(path)).plan.calendar_changes) == 3

    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "caldav-password").write_text(server.password or "")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    path.write_text(
        RULES.format(
            owner=OWNER, calendar=f"  caldav: {{url: {server.url}, username: {server.username}}}", blocks=BLOCKS
        )
    )
    assert sync(tmp_path, load_rules(path), 1).plan.calendar_changes == ()

    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    with pytest.raises(BadInput, match="has no password"):
        sync(tmp_path, load_rules(path), 2)
