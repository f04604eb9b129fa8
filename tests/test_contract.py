"""One contract for every calendar backend: the same scenarios, the same calendar afterwards.

Each world seeds invitations its own way (a file, a CalDAV PUT, the Calendar API) and is then read
back through boundaryd's own backend, so the assertions are the same for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from boundaryd.core.model import Occurrence, Snapshot
from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App
from clirun import BLOCKS, OWNER, calendar_of, invite

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)

RULES = """\
version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [{owner}]}}
working_hours: {{days: weekdays, start: "08:00", end: "18:00"}}
calendar:
{calendar}
notify:
  replies: auto
blocks:
{blocks}"""



def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 23, hh, mm, tzinfo=TZ) + timedelta(days=day)


@dataclass
class World:
    """A calendar behind one backend, plus the means to seed it."""

    name: str
    root: Path
    calendar_yaml: str
    seed: Callable[[list[icalendar.Event]], None]
    tells_organizer: bool = False
    marks_flags: bool = True  # False where the server lets an attendee change only PARTSTAT
    declines_instances: bool = True  # False where it refuses an attendee's RECURRENCE-ID override
    extra: dict[str, Any] = field(default_factory=dict)

    def rules(self, blocks: str = BLOCKS) -> Any:
        path = self.root / "rules.yaml"
        path.write_text(RULES.format(owner=OWNER, calendar=self.calendar_yaml, blocks=blocks))
        return load_rules(path)

    def app(self) -> App:
        return App(self.root / "rules.yaml", self.root / "state")

    def sync(self, rules: Any, minutes: int = 0) -> Any:
        return self.app().sync(rules, NOW + timedelta(minutes=minutes))

    def read(self, rules: Any) -> Snapshot:
        return self.app().executor(rules).snapshot(NOW)


# --- worlds ---------------------------------------------------------------------------------


def ics_world(tmp_path: Path) -> Iterator[World]:
    cal = tmp_path / "calendar.ics"

    def seed(events: list[icalendar.Event]) -> None:
        cal.write_bytes(calendar_of(*events))

    yield World("ics", tmp_path, f"  ics: {{path: {cal}}}", seed)


def google_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    from fake_google import FakeGoogle, FakeOAuth, check_no_rejections, write_token_file

    with FakeGoogle(account=OWNER) as google:
        oauth = FakeOAuth(google).start(tmp_path / "ca.pem")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(oauth.ca_file))
        (tmp_path / "state").mkdir()
        token = tmp_path / "state" / "google-token.json"
        write_token_file(token, oauth)

        def seed(events: list[icalendar.Event]) -> None:
            for ev in events:
                google.add_event(google_body(ev))

        yield World(
            "google",
            tmp_path,
            f'  google: {{calendar_id: primary, token_file: {token}, api_endpoint: "{google.api_endpoint}", focus_time: "off"}}',
            seed,
            tells_organizer=True,
            extra={"google": google},
        )
        oauth.stop()
        check_no_rejections(google)


def google_body(ev: icalendar.Event) -> dict[str, Any]:
    """The same invitation as Calendar API JSON."""
    start, end = ev["DTSTART"].dt, ev["DTEND"].dt
    body: dict[str, Any] = {
        "iCalUID": str(ev["UID"]),
        "summary": str(ev["SUMMARY"]),
        "start": {"dateTime": start.isoformat(), "timeZone": "America/Toronto"},
        "end": {"dateTime": end.isoformat(), "timeZone": "America/Toronto"},
    }
    if ev.get("RRULE"):
        body["recurrence"] = ["RRULE:" + ev["RRULE"].to_ical().decode()]
    if ev.get("ORGANIZER"):
        body["organizer"] = {"email": str(ev["ORGANIZER"]).removeprefix("mailto:")}
        atts = ev["ATTENDEE"] if isinstance(ev["ATTENDEE"], list) else [ev["ATTENDEE"]]
        status = {"NEEDS-ACTION": "needsAction", "ACCEPTED": "accepted", "DECLINED": "declined"}
        body["attendees"] = [
            {"email": str(a).removeprefix("mailto:"), "responseStatus": status[str(a.params["PARTSTAT"])]} for a in atts
        ]
    return body


def _dav_world(server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tells: bool, marks: bool = True) -> Iterator[World]:
    from dav_servers import put_event

    auth = ""
    if server.username:
        monkeypatch.setenv("TEST_CALDAV_PASSWORD", server.password)
        auth = f", username: {server.username}, password_env: TEST_CALDAV_PASSWORD"

    def seed(events: list[icalendar.Event]) -> None:
        for ev in events:
            assert put_event(server, str(ev["UID"]).replace("@", "-") + ".ics", calendar_of(ev)) in (200, 201, 204)

    try:
        yield World(server.name, tmp_path, f"  caldav: {{url: {server.url}{auth}}}", seed, tells_organizer=tells, marks_flags=marks, declines_instances=marks)
    finally:
        server.stop()


def radicale_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    from dav_servers import start_radicale

    yield from _dav_world(start_radicale(tmp_path / "server", htpasswd=True), tmp_path, monkeypatch, tells=False)


def xandikos_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    from dav_servers import start_xandikos

    # Xandikos enforces RFC 6638 3.1: an attendee changes only PARTSTAT, so no Conflict category
    yield from _dav_world(start_xandikos(tmp_path / "server", email=OWNER), tmp_path, monkeypatch, tells=True, marks=False)


WORLDS: dict[str, Callable[..., Iterator[World]]] = {
    "ics": ics_world,
    "google": google_world,
    "radicale": radicale_world,
    "xandikos": xandikos_world,
}


@pytest.fixture(params=sorted(WORLDS))
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    factory = WORLDS[request.param]
    args = {"tmp_path": tmp_path, "monkeypatch": monkeypatch, "request": request}
    import inspect

    wanted = inspect.signature(factory).parameters
    yield from factory(**{k: v for k, v in args.items() if k in wanted})


# --- scenarios --------------------------------------------------------------------------------


def occ(snap: Snapshot, uid: str, start: datetime) -> Occurrence:
    found = [o for o in snap.occurrences if o.uid == uid and o.start == start]
    assert len(found) == 1, f"{uid} at {start}: {[(o.uid, o.start) for o in snap.occurrences]}"
    return found[0]


def me(o: Occurrence) -> str:
    return next(a.partstat for a in o.attendees if a.email == OWNER)


def seed_week(world: World) -> None:
    world.seed(
        [
            invite("single@contract", "Listing review", at(1, 9)),
            invite("series@contract", "Weekly sync", at(2, 10), 30, rrule={"FREQ": ["WEEKLY"], "COUNT": ["4"]}),
            invite("vip@contract", "VIP review", at(3, 9), organizer="ceo@bigclient.com"),
            invite("call@contract", "Quick call", at(0, 11, 30), 30),
            invite("lunch@contract", "Lunch", at(0, 12, 15), 45),
        ]
    )


def test_blocks_are_written_as_recurring_busy_events(world: World) -> None:
    rules = world.rules()
    first = world.sync(rules)
    assert sorted((c.op, c.block) for c in first.plan.calendar_changes) == [
        ("create", "call-return"),
        ("create", "call-return"),
        ("create", "prospecting"),
    ]
    snap = world.read(rules)
    assert sorted(o.block for o in snap.owned) == ["call-return", "call-return", "prospecting"]
    blocks = sorted((o.start, o.end) for o in snap.occurrences if o.owned_block == "prospecting")
    assert blocks[0] == (at(0, 8, 30), at(0, 11))
    assert len(blocks) == 10  # two working weeks
    assert all(not o.transparent for o in snap.occurrences if o.owned_block)
    again = world.sync(rules, 1)
    assert again.plan.calendar_changes == ()


def test_declines_one_occurrence_flags_and_allows(world: World) -> None:
    seed_week(world)
    rules = world.rules()
    result = world.sync(rules)
    decisions = {(c.occurrence.uid, c.occurrence.start): c.decision.value for c in result.plan.conflicts}
    assert decisions == {
        ("call@contract", at(0, 11, 30)): "flag",
        ("single@contract", at(1, 9)): "decline",
        ("series@contract", at(2, 10)): "decline",
        ("vip@contract", at(3, 9)): "allow",
        ("series@contract", at(9, 10)): "decline",
    }
    snap = world.read(rules)
    assert me(occ(snap, "single@contract", at(1, 9))) == "DECLINED"
    if world.declines_instances:
        assert result.refused == []
        assert me(occ(snap, "series@contract", at(2, 10))) == "DECLINED"
        assert me(occ(snap, "series@contract", at(9, 10))) == "DECLINED"
    else:  # the server refuses an attendee's override: said once per occurrence, the rest enforced
        assert len(result.refused) == 2 and all("series@contract" in r for r in result.refused)
        assert me(occ(snap, "series@contract", at(2, 10))) == "NEEDS-ACTION"
    assert me(occ(snap, "vip@contract", at(3, 9))) == "NEEDS-ACTION"
    assert ("Conflict" in occ(snap, "call@contract", at(0, 11, 30)).categories) == world.marks_flags
    assert "Conflict" not in occ(snap, "lunch@contract", at(0, 12, 15)).categories
    # replies: ours unless the server tells the organizer itself
    replies = [s for s in result.queued if s.startswith("Declined")]
    assert len(replies) == (0 if world.tells_organizer else 3)

    second = world.sync(rules, 1)
    assert second.refused == []  # a refused decline is reported once, not tried every cycle
    assert second.plan.calendar_changes == ()
    assert second.declined == (0 if world.declines_instances else 2)
    assert second.plan.notices == () and second.queued == []


def test_changed_and_removed_blocks(world: World) -> None:
    rules = world.rules()
    world.sync(rules)
    changed = world.rules(BLOCKS.replace("title: Prospecting calls", "title: Prospecting").split("  - id: call-return")[0])
    result = world.sync(changed, 1)
    assert sorted((c.op, c.block) for c in result.plan.calendar_changes) == [
        ("delete", "call-return"),
        ("delete", "call-return"),
        ("update", "prospecting"),
    ]
    snap = world.read(changed)
    assert [o.block for o in snap.owned] == ["prospecting"]
    titles = {o.summary for o in snap.occurrences if o.owned_block}
    assert titles == {"Prospecting"}
    assert world.sync(changed, 2).plan.calendar_changes == ()
