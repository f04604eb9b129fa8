"""The CalDAV backend on real servers: request counts, scheduling, faults, concurrent edits."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from boundaryd.calendars import caldav_backend
from boundaryd.core.ical_owned import is_block
from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App
from boundaryd.errors import RuntimeFailure
from caldav_servers import FaultProxy
from clirun import BLOCKS, OWNER, calendar_of, invite
from dav_servers import DavServer, free_port, put_event, start_radicale, start_xandikos
from smtp_server import SmtpServer
from test_contract import RULES

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 23, hh, mm, tzinfo=TZ) + timedelta(days=day)


def rules_for(tmp_path: Path, url: str, auth: str = "") -> Any:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.format(owner=OWNER, calendar=f"  caldav: {{url: {url}{auth}}}", blocks=BLOCKS))
    return load_rules(path)


def sync(tmp_path: Path, rules: Any, minutes: int = 0) -> Any:
    return App(tmp_path / "rules.yaml", tmp_path / "state").sync(rules, NOW + timedelta(minutes=minutes))


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[DavServer]:
    server = start_radicale(tmp_path / "radicale")
    yield server
    server.stop()


def test_a_quiet_cycle_costs_one_request_and_writes_nothing(tmp_path: Path, radicale: DavServer) -> None:
    put_event(radicale, "single.ics", calendar_of(invite("single@t", "Listing review", at(1, 9))))
    with FaultProxy(int(radicale.root.rsplit(":", 1)[1].strip("/"))) as wire:  # counts on the wire
        rules = rules_for(tmp_path, wire.url_for(radicale))
        sync(tmp_path, rules)  # writes blocks, declines
        sync(tmp_path, rules, 1)  # reads back its own writes
        journal = tmp_path / "state" / "journal.sqlite3"
        before = (journal.stat().st_mtime_ns, (tmp_path / "state" / "journal.sqlite3-wal").stat().st_size)
        wire.requests.clear()
        quiet = sync(tmp_path, rules, 2)
        assert [m for m, _ in wire.requests] == ["REPORT"]  # one sync-collection REPORT
        assert quiet.plan.calendar_changes == () and quiet.declined == 0
        assert (journal.stat().st_mtime_ns, (tmp_path / "state" / "journal.sqlite3-wal").stat().st_size) == before

        # one new conflicting invitation: the REPORT, then the PUT of the decline
        put_event(radicale, "new.ics", calendar_of(invite("new@t", "New one", at(2, 9))))
        wire.requests.clear()
        busy = sync(tmp_path, rules, 3)
        assert busy.declined == 1
        assert [m for m, _ in wire.requests] == ["REPORT", "PUT", "PUT", "PUT"]  # the decline, its two held offers


def test_xandikos_tells_the_organizer_by_imip(tmp_path: Path) -> None:
    with SmtpServer(mode="none") as smtp:
        server = start_xandikos(tmp_path / "x", email=OWNER, smtp_port=smtp.port)
        try:
            put_event(server, "single.ics", calendar_of(invite("single@t", "Listing review", at(1, 9))))
            rules = rules_for(tmp_path, server.url)
            result = sync(tmp_path, rules)
            assert result.declined == 1 and result.refused == []
            assert not [s for s in result.queued if s.startswith("Declined")]  # the server replies, not us
            (got,) = smtp.wait_for(1)
            assert got.rcpt_tos == ["bob@client.example"]
            part = next(p for p in got.message.walk() if p.get_content_type() == "text/calendar")
            cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))  # type: ignore[arg-type]
            assert str(cal["METHOD"]) == "REPLY"
            ev = next(iter(cal.walk("VEVENT")))
            atts = ev["ATTENDEE"] if isinstance(ev["ATTENDEE"], list) else [ev["ATTENDEE"]]
            assert [a.params["PARTSTAT"] for a in atts if OWNER in str(a).lower()] == ["DECLINED"]
            sync(tmp_path, rules, 1)
            assert len(smtp.received) == 1  # never twice
        finally:
            server.stop()


def test_htpasswd_and_a_wrong_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = start_radicale(tmp_path / "r", htpasswd=True)
    try:
        auth = ", username: alice, password_env: TEST_CALDAV_PASSWORD"
        rules = rules_for(tmp_path, server.url, auth)
        monkeypatch.setenv("TEST_CALDAV_PASSWORD", "wrong")
        with pytest.raises(RuntimeFailure) as e:
            sync(tmp_path, rules)
        assert "refused the credentials" in str(e.value) and "wrong" not in str(e.value)
        monkeypatch.setenv("TEST_CALDAV_PASSWORD", server.password or "")
        assert len(sync(tmp_path, rules).plan.calendar_changes) == 3
    finally:
        server.stop()


def test_someone_elses_change_is_never_overwritten(
    tmp_path: Path, radicale: DavServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 412 on our conditional PUT: the sync stops, the next one re-reads and wins cleanly."""
    put_event(radicale, "single.ics", calendar_of(invite("single@t", "Listing review", at(1, 9))))
    rules = rules_for(tmp_path, radicale.url)
    real_put = caldav_backend.CaldavBackend._put

    def racing_put(self: Any, href: str, cal: Any, *, create: bool, **kw: Any) -> None:  # the organizer updates it just before us
        if href.endswith("single.ics"):
            moved = invite("single@t", "Listing review (moved)", at(1, 9, 30))
            put_event(radicale, "single.ics", calendar_of(moved))
        return real_put(self, href, cal, create=create, **kw)

    monkeypatch.setattr(caldav_backend.CaldavBackend, "_put", racing_put)
    with pytest.raises(RuntimeFailure, match="changed by someone else"):
        sync(tmp_path, rules)
    monkeypatch.setattr(caldav_backend.CaldavBackend, "_put", real_put)
    result = sync(tmp_path, rules, 1)
    (c,) = [c for c in result.plan.conflicts if c.occurrence.uid == "single@t"]
    assert c.occurrence.summary == "Listing review (moved)" and c.occurrence.start == at(1, 9, 30)
    body = urllib.request.urlopen(radicale.url + "single.ics").read().decode()
    assert "Listing review (moved)" in body and "PARTSTAT=DECLINED" in body


@pytest.mark.parametrize("fault", ["down", "hang", "cut", "error"])
def test_faults_fail_in_one_line_and_the_next_sync_finishes(
    tmp_path: Path, radicale: DavServer, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    put_event(radicale, "single.ics", calendar_of(invite("single@t", "Listing review", at(1, 9))))
    server_port = int(radicale.root.rsplit(":", 1)[1].strip("/"))
    proxy = FaultProxy(server_port)
    url = radicale.url.replace(str(server_port), str(proxy.port if fault != "down" else free_port()))
    monkeypatch.setattr(caldav_backend, "TIMEOUT", 2)
    rules = rules_for(tmp_path, url)
    try:
        if fault != "down":
            proxy.mode = "pass"
            sync(tmp_path, rules)  # a first good cycle: blocks written
            put_event(radicale, "late.ics", calendar_of(invite("late@t", "Late one", at(2, 9))))
            proxy.mode = fault
        with pytest.raises(RuntimeFailure) as e:
            sync(tmp_path, rules, 1)
        assert str(e.value).startswith(f"caldav {url}") and "\n" not in str(e.value)
        if fault == "down":
            return
        proxy.mode = "pass"
        done = sync(tmp_path, rules, 2)
        assert {c.occurrence.uid for c in done.plan.declines} == {"late@t"}
        again = sync(tmp_path, rules, 3)
        assert again.plan.calendar_changes == () and again.declined == 0
        owned = [o for o in App(tmp_path / "rules.yaml", tmp_path / "state").executor(rules).snapshot(NOW).owned]
        assert len([o for o in owned if is_block(o.block)]) == 3  # nothing doubled
        assert len(owned) == 3 + 4  # and two held offers for each of the two declines
    finally:
        proxy.close()
