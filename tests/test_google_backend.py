"""The Google backend, with the real google-api-python-client, against the local Calendar API."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from boundaryd.calendars import google_reader, open_backend
from boundaryd.calendars.google_backend import GoogleBackend, RetryPolicy, event_id_for
from boundaryd.core.model import BlockEvent, Capabilities, Snapshot
from boundaryd.core.rules import load_rules_text
from boundaryd.errors import BadInput, RuntimeFailure
from fake_google import FakeGoogle, FakeOAuth, check_no_rejections, write_token_file
from test_google_sync import BLOCKS

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)  # a Monday
START, END = NOW, NOW + timedelta(days=14)
ALICE = "alice@example.com"


class MemState:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str | None) -> None:
        if value is None:
            self.data.pop(key, None)
        else:
            self.data[key] = value


RULES = (
    """\
version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [alice@example.com]}}
calendar:
  google: {{calendar_id: primary, token_file: {token}, api_endpoint: "{endpoint}"{extra}}}
defaults: {{decline_existing: true}}
blocks:
"""
    + BLOCKS
    + """\
  - id: family
    kind: family
    days: daily
    start: "18:00"
    end: "20:00"
    policy: decline
    allow: {{people: ["*@school.example"]}}
  - id: sunday
    kind: day-off
    days: [sun]
    all_day: true
    policy: decline
"""
)


@pytest.fixture
def google(request: pytest.FixtureRequest) -> Iterator[FakeGoogle]:
    with FakeGoogle(account=ALICE) as g:
        yield g
        check_no_rejections(g, getattr(g, "expected_rejections", 0))


@pytest.fixture
def oauth(google: FakeGoogle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOAuth]:
    o = FakeOAuth(google).start(tmp_path / "ca.pem")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(o.ca_file))
    yield o
    o.stop()


@pytest.fixture
def env(google: FakeGoogle, oauth: FakeOAuth, tmp_path: Path) -> dict[str, Any]:
    token = tmp_path / "state" / "google-token.json"
    token.parent.mkdir()
    rt = write_token_file(token, oauth)
    return {"token": token, "refresh_token": rt, "state": MemState(), "dir": tmp_path / "state"}


def make_rules(google: FakeGoogle, env: dict[str, Any], extra: str = "") -> Any:
    return load_rules_text(RULES.format(token=env["token"], endpoint=google.api_endpoint, extra=extra), "rules.yaml")


def make_backend(google: FakeGoogle, env: dict[str, Any], extra: str = "", **kw: Any) -> GoogleBackend:
    b = open_backend(make_rules(google, env, extra), "google:primary", str(env["dir"]), env["state"])
    assert isinstance(b, GoogleBackend)
    b.retry = RetryPolicy(base=0.01, cap=0.05, budget=kw.pop("budget", 3.0))
    for k, v in kw.items():
        setattr(b, k, v)
    return b


def invitation(summary: str, start: datetime, minutes: int = 60, **kw: Any) -> dict[str, Any]:
    body = {
        "summary": summary,
        "start": {"dateTime": start.isoformat(), "timeZone": "America/Toronto"},
        "end": {"dateTime": (start + timedelta(minutes=minutes)).isoformat(), "timeZone": "America/Toronto"},
        "organizer": {"email": "bob@partner.example", "displayName": "Bob"},
        "attendees": [
            {"email": "bob@partner.example", "organizer": True, "responseStatus": "accepted"},
            {"email": ALICE, "responseStatus": "needsAction"},
        ],
    }
    body.update(kw)
    return body


FOCUS_MESSAGE = "Thanks for the invitation. I'm not available then; could we meet at another time?"


def block_event(
    uid: str, block: str, lines: str, fingerprint: str = "fp1", title: str = "Prospecting calls", focus: bool = False
) -> BlockEvent:
    ical = "BEGIN:VEVENT\r\n" + "\r\n".join(
        [f"UID:{uid}", f"SUMMARY:{title}", *textwrap.dedent(lines).strip().splitlines(),
         "TRANSP:OPAQUE", "CLASS:PRIVATE", f"X-BOUNDARYD-BLOCK:{block}", f"X-BOUNDARYD-HASH:{fingerprint}"]
    ) + "\r\nEND:VEVENT\r\n"
    message = FOCUS_MESSAGE if focus else ""
    return BlockEvent(uid=uid, block=block, title=title, fingerprint=fingerprint, ical=ical, focus=focus, decline_message=message)


PROSPECTING = """
    DTSTART;TZID=America/Toronto:20261123T083000
    DURATION:PT2H30M
    RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR
    EXDATE;TZID=America/Toronto:20261124T083000
"""
CALL_RETURN = """
    DTSTART;TZID=America/Toronto:20261123T113000
    DURATION:PT30M
    RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR
"""
SUNDAY = """
    DTSTART;VALUE=DATE:20261129
    DTEND;VALUE=DATE:20261130
    RRULE:FREQ=WEEKLY;BYDAY=SU
    EXDATE;VALUE=DATE:20261206
"""


# --- reading -----------------------------------------------------------------------------------------


def test_snapshot_maps_google_events_onto_occurrences(google: FakeGoogle, env: dict[str, Any]) -> None:
    inv = google.add_event(invitation("Pipeline review", datetime(2026, 11, 24, 9, 0, tzinfo=TZ)))
    google.add_event({"summary": "Holiday", "start": {"date": "2026-11-26"}, "end": {"date": "2026-11-27"},
                      "transparency": "transparent"})
    google.add_event(invitation("Maybe", datetime(2026, 11, 25, 14, 0, tzinfo=TZ), status="tentative",
                                attendees=[{"email": ALICE, "responseStatus": "tentative"}]))
    google.add_event({"summary": "Dentist", "start": {"dateTime": "2026-11-27T15:00:00Z"},
                             "end": {"dateTime": "2026-11-27T16:00:00Z"}, "organizer": {"email": ALICE},
                             "eventType": "default"})
    series = google.add_event(invitation("Standup", datetime(2026, 11, 23, 9, 30, tzinfo=TZ), 15,
                                         recurrence=["RRULE:FREQ=DAILY;COUNT=5"]))
    google.patch_event(series["id"] + "_20261125T143000Z", {"start": {"dateTime": "2026-11-25T10:00:00-05:00"},
                                                             "end": {"dateTime": "2026-11-25T10:15:00-05:00"}})
    google.delete_event(series["id"] + "_20261126T143000Z")
    google.add_event(invitation("Too late", datetime(2026, 12, 20, 9, 0, tzinfo=TZ)))
    snap = make_backend(google, env).snapshot(START, END, TZ)

    by = {(o.summary, o.start.date()): o for o in snap.occurrences}
    assert [o.start for o in snap.occurrences] == sorted(o.start for o in snap.occurrences)
    review = by[("Pipeline review", date(2026, 11, 24))]
    assert review.uid == inv["iCalUID"] and review.recurrence_id is None
    assert review.start == datetime(2026, 11, 24, 9, 0, tzinfo=TZ) and review.start.tzinfo == TZ
    assert review.end - review.start == timedelta(hours=1) and not review.all_day
    assert review.organizer == "bob@partner.example" and review.organizer_name == "Bob"
    assert {(a.email, a.partstat) for a in review.attendees} == {("bob@partner.example", "ACCEPTED"), (ALICE, "NEEDS-ACTION")}
    assert review.status == "CONFIRMED" and not review.transparent and review.owned_block is None
    holiday = by[("Holiday", date(2026, 11, 26))]
    assert holiday.all_day and holiday.transparent and holiday.start == datetime(2026, 11, 26, tzinfo=TZ)
    assert holiday.end == datetime(2026, 11, 27, tzinfo=TZ)
    maybe = by[("Maybe", date(2026, 11, 25))]
    assert maybe.status == "TENTATIVE" and maybe.attendees[0].partstat == "TENTATIVE"
    dentist = by[("Dentist", date(2026, 11, 27))]
    assert dentist.organizer == ALICE and dentist.attendees == () and dentist.start.hour == 10
    standups = sorted((o for o in snap.occurrences if o.summary == "Standup"), key=lambda o: o.start)
    assert [o.recurrence_id.day for o in standups if o.recurrence_id] == [23, 24, 25, 27]  # the 26th was deleted
    moved = standups[2]
    assert moved.recurrence_id == datetime(2026, 11, 25, 9, 30, tzinfo=TZ) and moved.start.hour == 10
    assert all(o.uid == series["iCalUID"] for o in standups)
    assert "Too late" not in {o.summary for o in snap.occurrences}
    assert snap.owned == () and snap.skipped == ()


def test_self_attendee_is_shown_with_the_owners_address(google: FakeGoogle, env: dict[str, Any]) -> None:
    google.account = "alice.agent@corp.example"  # the Google account differs from the address in the rules
    google.add_event(invitation("Alias", datetime(2026, 11, 24, 9, tzinfo=TZ),
                                attendees=[{"email": "alice.agent@corp.example", "responseStatus": "accepted"}]))
    (occ,) = make_backend(google, env).snapshot(START, END, TZ).occurrences
    assert occ.attendees[0].email == ALICE and occ.attendees[0].partstat == "ACCEPTED"


def test_all_event_types_are_read(google: FakeGoogle, env: dict[str, Any]) -> None:
    google.add_event({"summary": "Heads down", "eventType": "focusTime", "start": {"dateTime": "2026-11-24T09:00:00-05:00"},
                      "end": {"dateTime": "2026-11-24T10:00:00-05:00"},
                      "focusTimeProperties": {"autoDeclineMode": "declineNone", "chatStatus": "available"}})
    google.add_event({"summary": "Away", "eventType": "outOfOffice", "start": {"dateTime": "2026-11-25T09:00:00-05:00"},
                      "end": {"dateTime": "2026-11-25T17:00:00-05:00"}})
    google.add_event({"summary": "Home", "eventType": "workingLocation", "transparency": "transparent",
                      "start": {"date": "2026-11-26"}, "end": {"date": "2026-11-27"},
                      "workingLocationProperties": {"type": "homeOffice", "homeOffice": {}}})
    snap = make_backend(google, env).snapshot(START, END, TZ)
    assert {o.summary for o in snap.occurrences} == {"Heads down", "Away", "Home"}
    (req,) = [r for r in google.requests if r.method == "events.list"]
    assert "eventTypes" not in req.query and "privateExtendedProperty" not in req.query
    assert req.query["singleEvents"] == ["true"]


def test_unchanged_calendar_costs_one_request_and_one_invitation_two(google: FakeGoogle, env: dict[str, Any]) -> None:
    google.add_event(invitation("Existing", datetime(2026, 11, 24, 13, tzinfo=TZ)))
    b = make_backend(google, env)
    b.put_block(block_event("prospecting-0830@boundaryd", "prospecting", PROSPECTING))
    first = b.snapshot(START, END, TZ)
    google.reset_counts()
    again = make_backend(google, env).snapshot(START, END, TZ)  # a new process: cache and token from disk/journal
    assert google.count() == 1 and google.count("events.list") == 1
    assert "syncToken" in google.requests[0].query and "timeMin" not in google.requests[0].query
    assert again == first

    google.add_event(invitation("Intrusion", datetime(2026, 11, 25, 9, tzinfo=TZ)))
    google.reset_counts()
    b2 = make_backend(google, env)
    snap = b2.snapshot(START, END, TZ)
    (new,) = [o for o in snap.occurrences if o.summary == "Intrusion"]
    b2.decline(new, (ALICE,), "Not then, sorry.")
    assert google.count() == 2
    assert [r.method for r in google.requests] == ["events.list", "events.patch"]


def test_window_sliding_past_the_margin_reads_in_full(google: FakeGoogle, env: dict[str, Any]) -> None:
    b = make_backend(google, env)
    b.snapshot(START, END, TZ)
    google.reset_counts()
    b.snapshot(START + timedelta(days=3), END + timedelta(days=3), TZ)
    assert "syncToken" in google.requests[-1].query
    google.add_event(invitation("Far", datetime(2026, 12, 15, 9, tzinfo=TZ)))
    google.reset_counts()
    snap = b.snapshot(START + timedelta(days=10), END + timedelta(days=10), TZ)
    assert "timeMin" in google.requests[-1].query and google.count() == 1
    assert "Far" in {o.summary for o in snap.occurrences}


def test_incremental_sync_follows_changes_and_deletions(google: FakeGoogle, env: dict[str, Any]) -> None:
    a = google.add_event(invitation("A", datetime(2026, 11, 24, 9, tzinfo=TZ)))
    s = google.add_event(invitation("S", datetime(2026, 11, 23, 14, tzinfo=TZ), recurrence=["RRULE:FREQ=DAILY;COUNT=10"]))
    b = make_backend(google, env)
    assert len(b.snapshot(START, END, TZ).occurrences) == 11
    google.patch_event(a["id"], {"summary": "A2"})
    google.patch_event(s["id"], {"recurrence": ["RRULE:FREQ=DAILY;COUNT=3"]})
    google.patch_event(s["id"] + "_20261124T190000Z", {"summary": "S moved", "start": {"dateTime": "2026-11-24T16:00:00-05:00"},
                                                     "end": {"dateTime": "2026-11-24T17:00:00-05:00"}})
    google.reset_counts()
    snap = b.snapshot(START, END, TZ)
    assert google.count() == 1
    assert sorted(o.summary for o in snap.occurrences) == ["A2", "S", "S", "S moved"]
    google.delete_event(s["id"])
    assert sorted(o.summary for o in b.snapshot(START, END, TZ).occurrences) == ["A2"]
    google.delete_event(a["id"])
    assert b.snapshot(START, END, TZ).occurrences == ()


def test_410_falls_back_to_a_full_read(google: FakeGoogle, env: dict[str, Any]) -> None:
    google.add_event(invitation("A", datetime(2026, 11, 24, 9, tzinfo=TZ)))
    b = make_backend(google, env)
    b.snapshot(START, END, TZ)
    google.invalidate_sync_tokens()
    google.add_event(invitation("B", datetime(2026, 11, 25, 9, tzinfo=TZ)))
    google.reset_counts()
    snap = b.snapshot(START, END, TZ)
    assert [r.status for r in google.requests] == [410, 200]
    assert "timeMin" in google.requests[1].query
    assert {o.summary for o in snap.occurrences} == {"A", "B"}
    google.reset_counts()
    google.fail_next(1, 410)  # an injected 410 behaves the same
    assert {o.summary for o in b.snapshot(START, END, TZ).occurrences} == {"A", "B"}
    assert google.count() == 2
    google.reset_counts()
    b.snapshot(START, END, TZ)
    assert google.count() == 1  # and the new token works


def test_pages_are_followed(google: FakeGoogle, env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(google_reader, "PAGE_SIZE", 7)
    for i in range(30):
        google.add_event(invitation(f"M{i}", datetime(2026, 11, 23, 9, tzinfo=TZ) + timedelta(hours=5 * i), 30))
    b = make_backend(google, env)
    snap = b.snapshot(START, END, TZ)
    assert len(snap.occurrences) == 30 and google.count("events.list") == 5
    for i in range(10):
        google.add_event(invitation(f"N{i}", datetime(2026, 11, 24, 7, tzinfo=TZ) + timedelta(hours=5 * i), 30))
    google.reset_counts()
    assert len(b.snapshot(START, END, TZ).occurrences) == 40
    assert google.count("events.list") == 2 and all("syncToken" in r.query for r in google.requests)


def test_broken_event_is_skipped_not_fatal(google: FakeGoogle, env: dict[str, Any]) -> None:
    google.add_event(invitation("Fine", datetime(2026, 11, 24, 9, tzinfo=TZ)))
    broken = google.add_event(invitation("Broken", datetime(2026, 11, 24, 11, tzinfo=TZ)))
    google.calendar().events[broken["id"]]["end"] = {"dateTime": "not a time"}
    google.calendar().events[broken["id"]]["_seq"] += 0
    b = make_backend(google, env)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(google, "_in_range", lambda ev, lo, hi: True)
        snap = b.snapshot(START, END, TZ)
    assert [o.summary for o in snap.occurrences] == ["Fine"]
    assert [s.uid for s in snap.skipped] == [broken["iCalUID"]]


def test_unknown_calendar_is_bad_input(google: FakeGoogle, env: dict[str, Any]) -> None:
    google.calendars.clear()
    b = make_backend(google, env)
    b.calendar_id = "nobody@example.com"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(google, "calendar", lambda cid="primary": (_ for _ in ()).throw(
            __import__("fake_google").Invalid("Not Found", "notFound", 404)))
        with pytest.raises(BadInput, match="no such calendar"):
            b.snapshot(START, END, TZ)


# --- writing blocks ----------------------------------------------------------------------------------


def test_block_event_becomes_a_private_busy_recurring_google_event(google: FakeGoogle, env: dict[str, Any]) -> None:
    b = make_backend(google, env, extra=", focus_time: 'off'")
    ev = block_event("prospecting-0830@boundaryd", "prospecting", PROSPECTING)
    b.put_block(ev)
    stored = google.get_event(event_id_for(ev.uid))
    assert stored["start"] == {"dateTime": "2026-11-23T08:30:00-05:00", "timeZone": "America/Toronto"}
    assert stored["end"] == {"dateTime": "2026-11-23T11:00:00-05:00", "timeZone": "America/Toronto"}
    assert stored["recurrence"] == ["RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "EXDATE;TZID=America/Toronto:20261124T083000"]
    assert stored["transparency"] == "opaque" and stored["visibility"] == "private" and stored["eventType"] == "default"
    priv = stored["extendedProperties"]["private"]
    assert priv["boundarydBlock"] == "prospecting" and priv["boundarydHash"] == "fp1"  # the planner's fingerprint, focus time included
    snap = b.snapshot(START, END, TZ)
    assert [(o.uid, o.block, o.fingerprint) for o in snap.owned] == [(ev.uid, "prospecting", "fp1")]
    days = sorted(o.start.day for o in snap.occurrences)
    assert days == [23, 25, 26, 27, 30, 1, 2, 3, 4][:0] or days == sorted([23, 25, 26, 27, 30, 1, 2, 3, 4])
    assert all(o.owned_block == "prospecting" and o.start.hour == 8 and o.start.minute == 30 for o in snap.occurrences)
    # all-day blocks: dates, EXDATE by date
    b.put_block(block_event("sunday-allday@boundaryd", "sunday", SUNDAY, title="Day off"))
    sunday = google.get_event(event_id_for("sunday-allday@boundaryd"))
    assert sunday["start"]["date"] == "2026-11-29" and sunday["end"]["date"] == "2026-11-30"
    assert sunday["recurrence"][1] == "EXDATE;VALUE=DATE:20261206"
    sundays = [o for o in b.snapshot(START, END, TZ).occurrences if o.owned_block == "sunday"]
    assert [o.start.date() for o in sundays] == [date(2026, 11, 29)] and sundays[0].all_day


def test_block_writes_are_idempotent_and_retried_inserts_do_not_duplicate(google: FakeGoogle, env: dict[str, Any]) -> None:
    ev = block_event("call-return-1130@boundaryd", "call-return", CALL_RETURN, title="Return calls")
    make_backend(google, env).put_block(ev)
    make_backend(google, env).put_block(ev)  # a retry after a crash: 409, then a patch
    assert [r.status for r in google.requests if r.method == "events.insert"] == [200, 409]
    assert len([e for e in google.calendar().events.values() if e.get("status") != "cancelled"]) == 1
    # an insert whose answer is lost (timeout) and is retried
    ev2 = block_event("prospecting-0830@boundaryd", "prospecting", PROSPECTING)
    google.slow_next(1, 1.5)
    b = make_backend(google, env, extra=", focus_time: 'off'", timeout=0.5)
    b._service = None
    b.timeout = 0.5
    b.put_block(ev2)
    ids = [e["id"] for e in google.calendar().events.values()]
    assert sorted(ids) == sorted({event_id_for(ev.uid), event_id_for(ev2.uid)})
    assert google.count("events.patch") >= 1
    assert all(r.method != "events.update" for r in google.requests)  # patch, never a full update


def test_block_update_and_delete(google: FakeGoogle, env: dict[str, Any]) -> None:
    b = make_backend(google, env, extra=", focus_time: 'off'")
    uid = "prospecting-0830@boundaryd"
    b.put_block(block_event(uid, "prospecting", PROSPECTING))
    b.snapshot(START, END, TZ)
    later = PROSPECTING.replace("T083000", "T090000").replace("PT2H30M", "PT2H")
    b.put_block(block_event(uid, "prospecting", later, fingerprint="fp2"))
    snap = b.snapshot(START, END, TZ)
    assert [(o.uid, o.fingerprint) for o in snap.owned] == [(uid, "fp2")]
    assert {(o.start.hour, o.start.minute, (o.end - o.start).seconds) for o in snap.occurrences} == {(9, 0, 7200)}
    assert [r.method for r in google.requests if r.verb != "GET"][-2:] == ["events.insert", "events.patch"]
    b.delete_block(uid)
    b.delete_block(uid)  # already gone: fine
    assert b.snapshot(START, END, TZ).owned == ()
    make_backend(google, env).delete_block("never-written@boundaryd")


# --- declines, flags ---------------------------------------------------------------------------------


def test_decline_one_instance_of_a_series_leaves_the_series_alone(google: FakeGoogle, env: dict[str, Any]) -> None:
    series = google.add_event(invitation("Weekly sync", datetime(2026, 11, 23, 9, tzinfo=TZ), 30,
                                         recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"]))
    b = make_backend(google, env)
    snap = b.snapshot(START, END, TZ)
    second = [o for o in snap.occurrences if o.summary == "Weekly sync"][1]
    assert second.recurrence_id == datetime(2026, 11, 30, 9, tzinfo=TZ)
    google.reset_counts()
    b.decline(second, (ALICE,), "I'm not available then; could we meet Tuesday?")
    (req,) = google.requests
    assert req.method == "events.patch" and req.path.endswith(series["id"] + "_20261130T140000Z")
    assert req.query["sendUpdates"] == ["all"]
    assert req.body == {"attendeesOmitted": True, "attendees": [
        {"email": ALICE, "responseStatus": "declined", "comment": "I'm not available then; could we meet Tuesday?"}]}
    master = google.get_event(series["id"])
    assert [a["responseStatus"] for a in master["attendees"]] == ["accepted", "needsAction"]
    assert master["sequence"] == 0 and master["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=4"]
    instances = {i["id"]: i for i in google.list_instances()}
    me = {iid: next(a for a in i["attendees"] if a["email"] == ALICE)["responseStatus"] for iid, i in instances.items()}
    assert sorted(me.values()) == ["declined", "needsAction", "needsAction", "needsAction"]
    bob = next(a for a in instances[req.path.rsplit("/", 1)[1]]["attendees"] if a["email"] != ALICE)
    assert bob["responseStatus"] == "accepted"  # the other attendees were not touched
    assert google.notifications == [{"event": req.path.rsplit("/", 1)[1], "organizer": "bob@partner.example",
                                     "attendee": ALICE, "responseStatus": "declined",
                                     "comment": "I'm not available then; could we meet Tuesday?"}]
    after = [o for o in b.snapshot(START, END, TZ).occurrences if o.summary == "Weekly sync"]
    assert [next(a.partstat for a in o.attendees if a.email == ALICE) for o in after] == ["NEEDS-ACTION", "DECLINED"]
    google.reset_counts()
    b.decline(after[1], (ALICE,), "again")  # already declined: nothing to do
    assert google.count() == 0


def test_decline_without_a_snapshot_finds_the_instance(google: FakeGoogle, env: dict[str, Any]) -> None:
    google.add_event(invitation("Series", datetime(2026, 11, 23, 9, tzinfo=TZ), 30, recurrence=["RRULE:FREQ=DAILY;COUNT=3"]))
    occ = [o for o in make_backend(google, env).snapshot(START, END, TZ).occurrences][2]
    fresh = make_backend(google, env)
    fresh.decline(occ, (ALICE,), "no")
    assert google.notifications[-1]["event"].endswith("_20261125T140000Z")


def test_flag_colours_the_owners_copy(google: FakeGoogle, env: dict[str, Any]) -> None:
    google.add_event(invitation("Clash", datetime(2026, 11, 24, 11, 30, tzinfo=TZ)))
    b = make_backend(google, env)
    (occ,) = b.snapshot(START, END, TZ).occurrences
    b.flag(occ)
    assert google.requests[-1].body == {"colorId": "11"}
    (occ2,) = b.snapshot(START, END, TZ).occurrences
    assert occ2.categories == ("Conflict",)
    google.reset_counts()
    b.flag(occ2)
    assert google.count() == 0


# --- focus time --------------------------------------------------------------------------------------


def test_a_focus_block_event_is_focus_time_with_the_planners_message(google: FakeGoogle, env: dict[str, Any]) -> None:
    b = make_backend(google, env)
    assert b.connect().focus_time is True
    ev = block_event("prospecting-0830@boundaryd", "prospecting", PROSPECTING, focus=True)
    b.put_block(ev)
    stored = google.get_event(event_id_for(ev.uid, "f"))
    assert stored["eventType"] == "focusTime"
    assert stored["focusTimeProperties"] == {
        "autoDeclineMode": "declineOnlyNewConflictingInvitations", "chatStatus": "doNotDisturb",
        "declineMessage": FOCUS_MESSAGE}
    snap = b.snapshot(START, END, TZ)
    assert [(o.uid, o.fingerprint) for o in snap.owned] == [(ev.uid, "fp1")]
    # what the planner did not mark stays ordinary; an all-day one too (Google has no all-day focus time)
    b.put_block(block_event("family-1800@boundaryd", "family", CALL_RETURN.replace("113000", "180000")))
    b.put_block(block_event("call-return-1130@boundaryd", "call-return", CALL_RETURN))
    b.put_block(block_event("sunday-allday@boundaryd", "sunday", SUNDAY, focus=True))
    types = {e["extendedProperties"]["private"]["boundarydBlock"]: e["eventType"] for e in google.calendar().events.values()}
    assert types == {"prospecting": "focusTime", "family": "default", "call-return": "default", "sunday": "default"}
    assert env["state"].get("google:primary:focustime") is None


def test_focus_time_off_in_the_rules_is_a_capability_the_backend_lacks(google: FakeGoogle, env: dict[str, Any]) -> None:
    b = make_backend(google, env, extra=", focus_time: 'off'")
    assert b.connect() == Capabilities(tells_organizer=True, decline_comment=True, focus_time=False, flag_mark="colour")
    b.put_block(block_event("prospecting-0830@boundaryd", "prospecting", PROSPECTING, focus=True))
    assert [e["eventType"] for e in google.calendar().events.values()] == ["default"]


def test_the_planner_chooses_focus_time_from_capabilities_and_rules(google: FakeGoogle, env: dict[str, Any]) -> None:
    """Only a decline block without exceptions, not all-day, and only where the backend has focus time."""
    from boundaryd.core.planner import plan

    rules = make_rules(google, env)
    with_focus = Snapshot((), capabilities=Capabilities(tells_organizer=True, focus_time=True, flag_mark="colour"))
    events = {c.event.block: c.event for c in plan(rules, with_focus, NOW).calendar_changes if c.event}
    assert {b for b, e in events.items() if e.focus} == {"prospecting"}
    assert events["prospecting"].decline_message == FOCUS_MESSAGE
    assert all(e.decline_message == "" for b, e in events.items() if b != "prospecting")
    without = {c.event.block: c.event for c in plan(rules, Snapshot(()), NOW).calendar_changes if c.event}
    assert not any(e.focus for e in without.values())
    # the choice is part of the fingerprint: turning focus time on or off rewrites the event once
    assert without["prospecting"].fingerprint != events["prospecting"].fingerprint
    assert without["family"].fingerprint == events["family"].fingerprint


def test_focus_time_follows_the_planner(google: FakeGoogle, env: dict[str, Any]) -> None:
    ev = block_event("prospecting-0830@boundaryd", "prospecting", PROSPECTING, focus=True)
    b = make_backend(google, env)
    b.put_block(ev)
    # the user adds an allow exception: the planner no longer asks for focus time, the event is replaced
    relaxed = make_backend(google, env)
    relaxed.snapshot(START, END, TZ)
    relaxed.put_block(block_event(ev.uid, "prospecting", PROSPECTING, fingerprint="fp2"))
    live = [e for e in google.calendar().events.values() if e["status"] != "cancelled"]
    assert [(e["eventType"], e["id"]) for e in live] == [("default", event_id_for(ev.uid))]
    assert relaxed.snapshot(START, END, TZ).owned[0].fingerprint == "fp2"


def test_a_hash_written_by_an_older_version_keeps_its_fingerprint(google: FakeGoogle, env: dict[str, Any]) -> None:
    b = make_backend(google, env)
    ev = block_event("call-return-1130@boundaryd", "call-return", CALL_RETURN, title="Return calls")
    b.put_block(ev)
    google.patch_event(event_id_for(ev.uid), {"extendedProperties": {"private": {"boundarydHash": "fp1.0a1b2c3d"}}})
    assert [o.fingerprint for o in make_backend(google, env).snapshot(START, END, TZ).owned] == ["fp1"]


@pytest.mark.parametrize("mode", ["refuse", "downgrade"])
def test_personal_account_falls_back_to_ordinary_events_once(google: FakeGoogle, env: dict[str, Any], mode: str) -> None:
    google.personal = mode
    b = make_backend(google, env)
    ev = block_event("prospecting-0830@boundaryd", "prospecting", PROSPECTING, focus=True)
    b.put_block(ev)
    assert env["state"].get("google:primary:focustime") == "unsupported"
    live = [e for e in google.calendar().events.values() if e["status"] != "cancelled"]
    assert len(live) == 1 and live[0]["eventType"] == "default"
    snap = b.snapshot(START, END, TZ)
    assert [(o.uid, o.fingerprint) for o in snap.owned] == [(ev.uid, "fp1")]
    google.reset_counts()
    later = make_backend(google, env)
    assert later.connect().focus_time is False  # remembered: the planner asks for ordinary events now
    later.put_block(block_event("prospecting-1300@boundaryd", "prospecting", PROSPECTING.replace("T0830", "T1300"), focus=True))
    assert [r.body.get("eventType") for r in google.requests if r.method == "events.insert"] == [None]
    if mode == "refuse":
        google.rejections.clear()  # the refused focus-time insert is the one expected 400


# --- errors ------------------------------------------------------------------------------------------


def test_rate_limits_and_server_errors_are_retried(google: FakeGoogle, env: dict[str, Any]) -> None:
    google.add_event(invitation("A", datetime(2026, 11, 24, 9, tzinfo=TZ)))
    b = make_backend(google, env)
    google.fail_next(1, 429)
    google.fail_next(1, 500)
    google.fail_next(1, 403, "userRateLimitExceeded")
    google.fail_next(1, 503)
    assert len(b.snapshot(START, END, TZ).occurrences) == 1
    assert [r.status for r in google.requests] == [429, 500, 403, 503, 200]


def test_retries_are_bounded(google: FakeGoogle, env: dict[str, Any]) -> None:
    b = make_backend(google, env, budget=0.5)
    google.fail_next(1000, 500)
    t0 = datetime.now()
    with pytest.raises(RuntimeFailure, match=r"google:primary: Google answered 500 backendError \(gave up after \d+ tries"):
        b.snapshot(START, END, TZ)
    assert (datetime.now() - t0).total_seconds() < 3
    assert 2 <= google.count() < 100


def test_backoff_grows_with_jitter() -> None:
    p = RetryPolicy(base=1.0, cap=8.0)
    delays = [[p.delay(n) for n in range(6)] for _ in range(50)]
    for n in range(6):
        top = min(8.0, 2.0**n)
        assert all(top / 2 <= d[n] <= top for d in delays)
    assert len({round(d[2], 6) for d in delays}) > 10


def test_quota_exceeded_backs_off_longer(google: FakeGoogle, env: dict[str, Any]) -> None:
    google.fail_next(1, 403, "quotaExceeded")
    with pytest.raises(RuntimeFailure, match="quota exceeded") as info:
        make_backend(google, env).snapshot(START, END, TZ)
    assert getattr(info.value, "retry_after", 0) >= 600 and google.count() == 1


def test_slow_answer_times_out_and_is_retried(google: FakeGoogle, env: dict[str, Any]) -> None:
    google.add_event(invitation("A", datetime(2026, 11, 24, 9, tzinfo=TZ)))
    b = make_backend(google, env, timeout=0.5)
    google.slow_next(1, 2.0)
    assert len(b.snapshot(START, END, TZ).occurrences) == 1
    assert google.count() >= 2


def test_revoked_token_gives_one_clear_line(google: FakeGoogle, oauth: FakeOAuth, env: dict[str, Any]) -> None:
    rt = write_token_file(env["token"], oauth, expired=True)
    oauth.revoke(rt)
    with pytest.raises(RuntimeFailure) as info:
        make_backend(google, env).snapshot(START, END, TZ)
    assert info.value.problems == (f"{env['token']}: Google refused the saved token (run boundaryd auth google)",)
    assert google.count() == 0


def test_expired_token_is_refreshed_and_saved_back(google: FakeGoogle, oauth: FakeOAuth, env: dict[str, Any]) -> None:
    write_token_file(env["token"], oauth, expired=True)
    before = json.loads(env["token"].read_text())["token"]
    make_backend(google, env).snapshot(START, END, TZ)
    after = json.loads(env["token"].read_text())
    assert after["token"] != before and after["token"] in google.access_tokens
    assert env["token"].stat().st_mode & 0o777 == 0o600
    assert [f["grant_type"] for f in oauth.token_requests] == ["refresh_token"]


def test_missing_token_file_says_how_to_authorize(google: FakeGoogle, env: dict[str, Any]) -> None:
    env["token"].unlink()
    with pytest.raises(BadInput, match="run boundaryd auth google"):
        make_backend(google, env).snapshot(START, END, TZ)


def test_the_discovery_document_rejects_bad_requests(google: FakeGoogle, env: dict[str, Any]) -> None:
    from googleapiclient.errors import HttpError

    google.expected_rejections = 1  # type: ignore[attr-defined]
    b = make_backend(google, env)
    events = b._events()
    with pytest.raises(HttpError) as info:
        events.insert(calendarId="primary", body={"summary": "x", "start": {"date": "2026-11-24"},
                                                  "end": {"date": "2026-11-25"}, "transparency": "see-through"}).execute()
    assert info.value.resp.status == 400 and b"transparency" in info.value.content
    for bad in ({"colourId": "1"}, {"attendees": [{"email": ALICE, "responseStatus": "no"}]},
                {"sequence": "one"}, {"focusTimeProperties": {"autoDeclineMode": "declineEverything"}},
                {"start": {"dateTime": "tomorrow"}}):
        with pytest.raises(Exception, match="Invalid|Unknown"):
            google.discovery.check_body(bad, {"$ref": "Event"}, "resource")
    # and the fixture turns an unexpected rejection into a failed test
    with pytest.raises(pytest.fail.Exception, match="rejected"):
        check_no_rejections(google)


def test_google_client_is_imported_lazily() -> None:
    code = ("import sys, boundaryd.calendars, boundaryd.calendars.google_auth, boundaryd.calendars.base;"
            "bad=[m for m in sys.modules if m.startswith(('googleapiclient','google.auth','google_auth','httplib2'))];"
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
