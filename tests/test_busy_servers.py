"""busy_from sources on real servers: a CalDAV calendar on Radicale, a Google calendar on the local
Calendar API stand-in. Each is read through the same backend as a main calendar, never written to,
and an unchanged source costs what an unchanged calendar costs."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from boundaryd.core.model import Decision
from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App
from clirun import calendar_of, invite
from dav_servers import put_event, start_radicale
from fake_google import FakeGoogle, FakeOAuth, check_no_rejections, write_token_file

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
FAMILY_ID = "family0123@group.calendar.google.com"

RULES = """\
version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [alice@example.com]}}
calendar:
  ics: {{path: {calendar}}}
notify:
  email: {{to: alice@example.com, from: boundaryd@example.com}}
defaults: {{decline_existing: true}}
blocks:
  - {{id: prospecting, title: Prospecting calls, days: weekdays, start: "08:30", end: "11:00", policy: decline}}
busy_from:
  - {source}
"""


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(date(2026, 11, 23) + timedelta(days=day), time(hh, mm), TZ)


def mirrors(cal: Path) -> list[icalendar.Event]:
    parsed = icalendar.Calendar.from_ical(cal.read_bytes())
    return [e for e in parsed.walk("VEVENT") if "X-BOUNDARYD-MIRROR" in e]


def setup(tmp_path: Path, source: str) -> tuple[App, Any, Path]:
    cal = tmp_path / "calendar.ics"
    cal.write_bytes(calendar_of(invite("dinner@t", "Client dinner", at(1, 18))))
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(RULES.format(calendar=cal, source=source))
    return App(rules_path, tmp_path / "state"), load_rules(rules_path), cal


def test_a_caldav_source_on_radicale(tmp_path: Path) -> None:
    server = start_radicale(tmp_path / "dav")
    try:
        recital = calendar_of(invite("recital@home", "Recital", at(1, 18), 90, organizer=None))
        assert put_event(server, "recital.ics", recital) in (201, 204)
        app, rules, cal = setup(tmp_path, f'{{name: Personal, caldav: {{url: "{server.url}"}}, policy: decline, mirror: true}}')
        first = app.sync(rules, NOW).plan
        dinner = next(c for c in first.conflicts if c.occurrence.uid == "dinner@t")
        assert dinner.decision is Decision.DECLINE and "Personal: Recital" in dinner.reason
        assert [str(e["SUMMARY"]) for e in mirrors(cal)] == ["Busy"]
        keys = [k for (k,) in app.journal.db.execute("SELECT key FROM kv WHERE key LIKE 'busy:Personal:%'")]
        assert keys  # the source's change tokens, in its own corner of the journal
        before = cal.read_bytes()
        assert not app.sync(rules, NOW + timedelta(minutes=1)).plan.calendar_changes
        assert cal.read_bytes() == before
        # never written to: the source's event is as it was put (no decline, no conflict mark)
        with urllib.request.urlopen(server.url + "recital.ics", timeout=5) as r:
            stored = r.read()
        assert b"Conflict" not in stored and b"DECLINED" not in stored and b"X-BOUNDARYD" not in stored
    finally:
        server.stop()
    # the server is gone: the main calendar is still kept, the mirror stays
    later = app.sync(rules, NOW + timedelta(hours=1)).plan
    assert not later.calendar_changes
    assert len(mirrors(cal)) == 1


@pytest.fixture
def google(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with FakeGoogle(account="alice@example.com") as g:
        oauth = FakeOAuth(g).start(tmp_path / "ca.pem")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(oauth.ca_file))
        token = tmp_path / "google-token.json"
        write_token_file(token, oauth)
        yield {"google": g, "token": token}
        oauth.stop()
        check_no_rejections(g)


def test_a_google_source_on_the_local_calendar_api(tmp_path: Path, google: dict[str, Any]) -> None:
    g: FakeGoogle = google["google"]
    g.add_event({"summary": "Recital", "start": {"dateTime": at(1, 18).isoformat(), "timeZone": "America/Toronto"},
                 "end": {"dateTime": at(1, 19, 30).isoformat(), "timeZone": "America/Toronto"}}, calendar_id=FAMILY_ID)
    source = (f'{{name: Side, google: {{calendar_id: "{FAMILY_ID}", token_file: "{google["token"]}", '
              f'api_endpoint: "{g.api_endpoint}"}}, mirror: true, mirror_titles: true}}')
    app, rules, cal = setup(tmp_path, source)
    first = app.sync(rules, NOW).plan
    dinner = next(c for c in first.conflicts if c.occurrence.uid == "dinner@t")
    assert dinner.decision is Decision.FLAG and "Side: Recital" in dinner.reason  # the default policy: flag
    assert [str(e["SUMMARY"]) for e in mirrors(cal)] == ["Recital"]
    assert [r.verb for r in g.requests if "family0123" in r.path] and all(
        r.verb == "GET" for r in g.requests if "family0123" in r.path)  # never a write to a source
    g.reset_counts()
    assert not app.sync(rules, NOW + timedelta(minutes=1)).plan.calendar_changes
    assert g.count() == 1  # an unchanged source: one request (its sync token)
    assert all(r.verb == "GET" for r in g.requests)  # never a write to a source
    # the event moves: its mirror follows
    ev = next(iter(g.calendar(FAMILY_ID).events.values()))
    g.patch_event(ev["id"], {"start": {"dateTime": at(2, 18).isoformat(), "timeZone": "America/Toronto"},
                             "end": {"dateTime": at(2, 19).isoformat(), "timeZone": "America/Toronto"}},
                  calendar_id=FAMILY_ID)
    moved = app.sync(rules, NOW + timedelta(minutes=2)).plan
    assert [c.op for c in moved.calendar_changes] == ["update"]
    assert mirrors(cal)[0].decoded("DTSTART") == at(2, 18)


def test_a_microsoft_source_on_the_local_graph(tmp_path: Path) -> None:
    from boundaryd.calendars import graph_auth
    from contract_graph import GraphWorld
    from fake_graph import FakeGraph, check_no_rejections, sign_in

    fake = FakeGraph(account="alice@example.com").start(tmp_path / "ca.pem")
    before = graph_auth.VERIFY
    graph_auth.VERIFY = str(fake.ca_file)
    try:
        token = tmp_path / "microsoft-token.json"
        sign_in(fake, token)
        world = GraphWorld({"fake": fake, "token": token}, tmp_path)
        world.put(invite("recital@home", "Recital", at(1, 18), 90, organizer=None))
        source = (f'{{name: Home, microsoft: {{calendar: primary, token_file: "{token}", authority: "{fake.authority}", '
                  f'api_endpoint: "{fake.api_endpoint}"}}, policy: decline, mirror: true}}')
        app, rules, cal = setup(tmp_path, source)
        first = app.sync(rules, NOW).plan
        dinner = next(c for c in first.conflicts if c.occurrence.uid == "dinner@t")
        assert dinner.decision is Decision.DECLINE and "Home: Recital" in dinner.reason
        assert [str(e["SUMMARY"]) for e in mirrors(cal)] == ["Busy"]
        assert {r.verb for r in fake.requests} == {"GET"}  # never a write to a source
        fake.requests.clear()
        assert not app.sync(rules, NOW + timedelta(minutes=1)).plan.calendar_changes
        assert len(fake.requests) == 1  # an unchanged source: one delta request
        check_no_rejections(fake)
        world.close()
    finally:
        graph_auth.VERIFY = before
        fake.stop()
