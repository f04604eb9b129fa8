"""The microsoft backend against the local Graph stand-in: sign-in (device code, silent refresh,
revoked), delta paging and 410, what a block and a decline look like on the wire, retries.

The contract scenarios run against the same stand-in (``contract_graph``); these are the parts only
Graph has. This module starts its own stand-in, so revoking tokens here touches no other test.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from boundaryd.calendars import graph_http
from boundaryd.calendars.graph_auth import TokenSource
from boundaryd.calendars.graph_backend import GraphBackend
from boundaryd.calendars.graph_events import BLOCK_ID, HASH_ID, UID_ID
from boundaryd.calendars.graph_http import RetryPolicy
from boundaryd.cli import main
from boundaryd.errors import BadInput, RuntimeFailure
from clirun import OWNER, invite
from contract_graph import GraphWorld, signed_in
from contract_worlds import NOW, TZ, at, block_events, one, snap
from fake_graph import CLIENT_ID, FakeGraph, check_no_rejections, trusted


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGraph]:
    root = tmp_path_factory.mktemp("graph-own")
    with trusted(root / "ca.pem", OWNER) as f:
        yield f


@pytest.fixture
def world(fake: FakeGraph, tmp_path: Path) -> Iterator[GraphWorld]:
    fake.identity.pending_polls = 0
    fake.identity.revoked.clear()
    w = signed_in(fake, tmp_path)
    yield w
    w.close()


def backend(w: GraphWorld, sleeps: list[float] | None = None, budget: float = 0.3) -> GraphBackend:
    tokens = TokenSource(w.token, None, "common", w.fake.authority)
    clock = [0.0]
    slept = sleeps if sleeps is not None else []

    def sleep(s: float) -> None:  # the retries' waits, on a clock of their own
        slept.append(s)
        clock[0] += s

    return GraphBackend("primary", tokens, w.root / "microsoft-cache.json", TZ, owner_emails=(OWNER,),
                        sync_state=w.state, api_endpoint=w.fake.api_endpoint,
                        retry=RetryPolicy(base=0.01, cap=2.0, budget=budget), sleep=sleep, monotonic=lambda: clock[0])


def rules_file(tmp_path: Path, fake: FakeGraph, token: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(f"""version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [{OWNER}]}}
working_hours: {{days: weekdays, start: "08:00", end: "18:00"}}
calendar:
  microsoft: {{calendar: primary, client_id: {CLIENT_ID}, token_file: {token}, authority: "{fake.authority}",
               api_endpoint: "{fake.api_endpoint}"}}
defaults: {{decline_existing: true}}
blocks:
  - {{id: prospecting, kind: prospecting, days: weekdays, start: "08:30", end: "11:00", policy: decline}}
""")
    return path


# --- sign-in ---------------------------------------------------------------------------------------


def test_device_code_sign_in_prints_the_code_and_saves_the_cache_0600(fake: FakeGraph, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    fake.identity.pending_polls = 1  # the user signs in while MSAL polls
    token = tmp_path / "tok" / "microsoft-token.json"
    rules = rules_file(tmp_path, fake, token)
    code = main(["--rules", str(rules), "--state", str(tmp_path / "state"), "auth", "microsoft", "--client-id", CLIENT_ID])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"{fake.base}/devicelogin" in out and "enter the code" in out
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    cache = json.loads(token.read_text())
    assert cache["RefreshToken"] and cache["AccessToken"]  # MSAL's own serialized cache
    grants = [g for g in fake.identity.grants if g.get("grant_type", "").endswith("device_code")]
    assert len(grants) == 2  # pending once, then signed in
    asked = [g for g in fake.identity.grants if "scope" in g and "grant_type" not in g][-1]["scope"].split()
    assert {"Calendars.ReadWrite", "offline_access"} <= set(asked)


def test_auth_without_a_client_id_is_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--rules", str(tmp_path / "none.yaml"), "--state", str(tmp_path), "auth", "microsoft"])
    assert code == 2 and "--client-id" in capsys.readouterr().err


def test_a_refused_access_token_is_refreshed_once_and_saved(world: GraphWorld) -> None:
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    before = world.token.read_text()
    world.fake.expire_access_tokens()  # Graph answers 401: MSAL refreshes with the refresh token
    refreshes = sum(1 for g in world.fake.identity.grants if g.get("grant_type") == "refresh_token")
    assert [o.uid for o in snap(backend(world)).occurrences] == ["single@contract"]
    assert sum(1 for g in world.fake.identity.grants if g.get("grant_type") == "refresh_token") == refreshes + 1
    assert world.token.read_text() != before and stat.S_IMODE(world.token.stat().st_mode) == 0o600


def test_a_revoked_token_exits_1_saying_what_to_do(world: GraphWorld, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    world.fake.revoke_all()
    rules = rules_file(tmp_path, world.fake, world.token)
    code = main(["--rules", str(rules), "--state", str(tmp_path / "state"), "sync", "--now", NOW.isoformat()])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "refused the saved token" in err and "boundaryd auth microsoft" in err


# --- reading ---------------------------------------------------------------------------------------


def test_delta_pages_then_one_request_per_unchanged_cycle(world: GraphWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph_http, "PAGE_SIZE", 4)
    for i in range(10):
        world.put(invite(f"e{i}@contract", f"Meeting {i}", at(1 + i % 5, 9 + i // 5)))
    first = snap(backend(world))
    assert len(first.occurrences) == 10
    pages = world.fake.graph_requests("GET", "delta()")
    assert len(pages) == 3 and "$skiptoken" in pages[1].query  # 4 + 4 + 2, following @odata.nextLink
    n = world.requests()
    assert snap(backend(world)) == first
    assert world.requests() - n == 1 and "$deltatoken" in world.fake.requests[-1].query
    world.put(invite("e3@contract", "Moved", at(2, 15)))
    n = world.requests()
    assert one(snap(backend(world)), "e3@contract").start == at(2, 15)
    assert world.requests() - n == 1  # the change came with the delta: nothing else read


def test_a_forgotten_delta_link_means_one_full_read(world: GraphWorld) -> None:
    world.put(invite("one@contract", "One", at(1, 9)))
    snap(backend(world))
    world.fake.store.generation += 1  # Graph answers 410 Gone (SyncStateNotFound)
    reads = world.full_reads()
    assert [o.uid for o in snap(backend(world)).occurrences] == ["one@contract"]
    assert world.full_reads() == reads + 1
    assert any(r.status == 410 for r in world.fake.requests)


def test_reads_ask_for_utc_and_occurrences_name_their_series(world: GraphWorld) -> None:
    world.put(invite("weekly@contract", "Weekly", datetime(2026, 11, 24, 15, tzinfo=ZoneInfo("Europe/Berlin")), 30,
                     rrule={"FREQ": ["WEEKLY"], "COUNT": ["2"]}))
    s = snap(backend(world))
    assert [(o.uid, o.start, o.zone) for o in s.occurrences] == [
        ("weekly@contract", at(1, 9), "Europe/Berlin"), ("weekly@contract", at(8, 9), "Europe/Berlin")]


# --- writing ---------------------------------------------------------------------------------------


def test_a_block_is_a_private_busy_series_without_reminder_in_a_windows_zone(world: GraphWorld) -> None:
    ev = block_events()["prospecting-0830@boundaryd"]
    b = backend(world)
    snap(b)
    b.put_block(ev)
    (post,) = world.fake.graph_requests("POST", "/events")
    body = post.body
    assert (body["showAs"], body["sensitivity"], body["isReminderOn"]) == ("busy", "private", False)
    assert body["start"] == {"dateTime": "2026-11-23T08:30:00", "timeZone": "Eastern Standard Time"}
    assert body["recurrence"]["pattern"] == {"type": "weekly", "interval": 1, "firstDayOfWeek": "monday",
                                             "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"]}
    assert body["recurrence"]["range"] == {"type": "noEnd", "startDate": "2026-11-23", "recurrenceTimeZone": "Eastern Standard Time"}
    props = {p["id"]: p["value"] for p in body["singleValueExtendedProperties"]}
    assert props == {BLOCK_ID: "prospecting", HASH_ID: ev.fingerprint, UID_ID: ev.uid}
    assert body["transactionId"]


def test_a_rule_graph_cannot_express_becomes_single_events(world: GraphWorld) -> None:
    events = block_events('- {id: last, kind: follow-up, rrule: "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",'
                          ' start: "16:00", end: "17:00"}')
    (ev,) = events.values()
    b = backend(world)
    snap(b)
    b.put_block(ev)
    posts = world.fake.graph_requests("POST", "/events")
    assert posts and all("recurrence" not in p.body for p in posts)
    s = snap(backend(world), NOW, NOW + timedelta(days=40))
    assert [o.start for o in s.occurrences] == [at(7, 16), datetime(2026, 12, 31, 16, tzinfo=TZ)]
    assert [o.uid for o in s.owned] == [ev.uid] and s.owned[0].fingerprint == ev.fingerprint
    later = snap(backend(world), NOW + timedelta(days=60), NOW + timedelta(days=74))
    assert [o.start for o in later.occurrences] == [datetime(2027, 1, 29, 16, tzinfo=TZ)]
    assert later.owned[0].fingerprint != ev.fingerprint  # the horizon nears: the planner writes more


def test_decline_tells_the_organizer_with_the_message_and_a_proposed_time(world: GraphWorld) -> None:
    world.put(invite("single@contract", "Listing review", at(1, 9), 45))
    b = backend(world)
    occ = one(snap(b), "single@contract")
    b.decline(occ, (OWNER,), "I'm protecting mornings; could we meet at 14:00?", proposed=at(1, 14))
    (post,) = world.fake.graph_requests("POST", "/decline")
    assert post.body == {
        "Comment": "I'm protecting mornings; could we meet at 14:00?", "SendResponse": True,
        "ProposedNewTime": {"start": {"dateTime": "2026-11-24T14:00:00", "timeZone": "Eastern Standard Time"},
                            "end": {"dateTime": "2026-11-24T14:45:00", "timeZone": "Eastern Standard Time"}}}
    (told,) = world.fake.store.notifications
    assert (told["action"], told["organizer"], told["sendResponse"]) == ("decline", "bob@client.example", True)


def test_a_sync_declines_with_the_first_alternative_as_the_proposed_time(world: GraphWorld, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    rules = rules_file(tmp_path, world.fake, world.token)
    code = main(["--rules", str(rules), "--state", str(tmp_path / "state"), "sync", "--now", NOW.isoformat(), "--json"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0
    (conflict,) = plan["conflicts"]
    (told,) = [n for n in world.fake.store.notifications if n["action"] == "decline"]
    assert told["comment"] and told["proposedNewTime"]["start"]["timeZone"] == "Eastern Standard Time"
    start = datetime.fromisoformat(told["proposedNewTime"]["start"]["dateTime"]).replace(tzinfo=TZ)
    assert start == datetime.fromisoformat(conflict["alternatives"][0])  # the first alternative offered
    assert not (at(1, 8, 30) <= start < at(1, 11))


# --- faults ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503, 504])
def test_throttling_is_retried_after_what_retry_after_says(world: GraphWorld, status: int) -> None:
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    sleeps: list[float] = []
    world.fake.fail_next(2, status, retry_after="1")
    s = snap(backend(world, sleeps, budget=30))
    assert [o.uid for o in s.occurrences] == ["single@contract"] and sleeps == [1.0, 1.0]


def test_throttling_past_the_cycle_budget_is_a_runtime_failure(world: GraphWorld) -> None:
    sleeps: list[float] = []
    world.fake.fail_next(50, 429, retry_after="30")
    with pytest.raises(RuntimeFailure, match="retrying next cycle"):
        snap(backend(world, sleeps, budget=5))
    assert sum(sleeps) <= 5


def test_a_refused_permission_says_what_to_grant(world: GraphWorld) -> None:
    world.fake.fail_next(1, 403)
    with pytest.raises(RuntimeFailure, match="Calendars.ReadWrite"):
        snap(backend(world))


def test_no_invalid_request_is_ever_accepted_by_the_stand_in(world: GraphWorld) -> None:
    """The stand-in refuses what the description does not allow (so the tests above could fail)."""
    b = backend(world)
    snap(b)
    for path, body in (("me/calendar/events", {"subject": "x", "showAs": "maybe"}),
                       ("me/calendar/events", {"subject": "x", "colour": "red"}),
                       ("me/calendar/events/x/decline", {"comment": "lower case is not the parameter"})):
        with pytest.raises(RuntimeFailure, match="400"):
            b._call("probe", "POST", path, body=body)
    with pytest.raises(RuntimeFailure, match="400"):
        b._call("probe", "GET", "me/calendar/calendarView", {"startDateTime": "2026-11-23T00:00:00Z"})
    check_no_rejections(world.fake, expected=4)
    world.fake.rejections.clear()




def test_a_calendar_named_in_the_rules_is_found_once_and_remembered(world: GraphWorld) -> None:
    world.put(invite("single@contract", "Listing review", at(1, 9)))
    tokens = TokenSource(world.token, None, "common", world.fake.authority)

    def named(name: str) -> GraphBackend:
        return GraphBackend(name, tokens, world.root / f"cache-{name}.json", TZ, owner_emails=(OWNER,),
                            sync_state=world.state, api_endpoint=world.fake.api_endpoint)

    assert [o.uid for o in snap(named("calendar")).occurrences] == ["single@contract"]
    assert len(world.fake.graph_requests("GET", "/calendars")) == 1
    assert all("/me/calendars/" in r.path for r in world.fake.graph_requests("GET", "delta()"))
    snap(named("calendar"))
    assert len(world.fake.graph_requests("GET", "/calendars")) == 1  # the id is in the journal
    with pytest.raises(BadInput, match="Calendar"):
        named("Holidays").connect()


def test_doctor_names_the_microsoft_token(world: GraphWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = rules_file(tmp_path, world.fake, world.token)
    main(["--rules", str(rules), "--state", str(tmp_path / "state"), "doctor"])
    out = capsys.readouterr().out
    assert f"Microsoft token in {world.token}" in out
    world.token.unlink()
    main(["--rules", str(rules), "--state", str(tmp_path / "state"), "doctor"])
    assert "boundaryd auth microsoft" in capsys.readouterr().out
