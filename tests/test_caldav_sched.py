"""Scheduling servers (RFC 6638) seen from the organizer's side: sabre/dav, Cyrus and DAViCal from
../shared/servers. Bob (bob@example.com, an account on the same server) invites Alice; boundaryd
syncs Alice's calendar; what reaches Bob is read from his schedule inbox (the replies the server
delivered) and from the SMTP server the rules name (the replies boundaryd sent itself).

- every decline reaches the organizer with its message: by the server where it passes COMMENT on
  (Cyrus), else by boundaryd's iMIP reply too (sabre/dav and DAViCal drop it), and the notice says which;
- a decline the server could not deliver (SCHEDULE-STATUS 3.7: sabre/dav for an outside organizer)
  is replied by email at the next sync, once;
- a flag never reaches the organizer: ``Schedule-Reply: F`` where the server honours it (sabre/dav;
  Cyrus sends nothing for it anyway), no mark at all where it does not (DAViCal); the mark comes off
  again, as silently, when the conflict ends.
"""

from __future__ import annotations

import base64
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from boundaryd.calendars import caldav_backend
from boundaryd.calendars.caldav_backend import CaldavBackend
from boundaryd.core.model import Capabilities
from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App
from caldav_servers import wait_until
from clirun import OWNER, calendar_of, invite
from dav_servers import DavServer
from smtp_server import SmtpServer

TZ = ZoneInfo("America/Toronto")


def _monday_ahead() -> datetime:
    """Next week's Monday, 07:00. The servers judge what is past by their own clock, not by the one
    these tests give boundaryd: Cyrus sends no iTIP for an event that ended more than a week ago
    (``caldav_historical_age``), so a fixed date here would stop working a week after it."""
    today = datetime.now(TZ).date()
    return datetime.combine(today + timedelta(days=7 - today.weekday()), time(7), TZ)


NOW = _monday_ahead()
BOB = "bob@example.com"
KINDS = ("sabredav", "cyrus", "davical")
#: what each server does with an attendee's edit (README: CalDAV interoperability)
EXPECTED = {
    "sabredav": Capabilities(tells_organizer=True, decline_comment=False, flag_mark="categories"),
    "cyrus": Capabilities(tells_organizer=True, decline_comment=True, flag_mark="categories"),
    "davical": Capabilities(tells_organizer=True, decline_comment=False, instance_replies=False, flag_mark=""),
}
RULES = """\
version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [{owner}]}}
horizon_days: 7
working_hours: {{days: weekdays, start: "08:00", end: "18:00"}}
calendar:
  caldav: {{url: {url}, username: alice, password_env: SCHED_CALDAV_PASSWORD}}
notify:
  email: {{to: {owner}, from: boundaryd@example.com, smtp: {{host: 127.0.0.1, port: {port}, security: none, timeout: 5}}}}
  replies: auto
  digest: immediate
defaults: {{decline_existing: true}}
blocks:
  - id: sched-prospecting
    title: Prospecting calls
    kind: prospecting
    days: weekdays
    start: "08:30"
    end: "11:00"
    policy: decline
  - id: sched-call-return
    title: Return calls
    kind: call-return
    days: weekdays
    times: ["{call}"]
    duration: 30m
    policy: flag
"""


def session_server(request: pytest.FixtureRequest, kind: str) -> DavServer:
    """The contract suite's session server ``kind`` (skips where the kit is missing); what a test
    leaves in Alice's and Bob's calendars is deleted after it (Cyrus keeps a UID in one calendar
    of an account only, so a block left here would refuse the contract's own copy of it)."""
    server: DavServer = request.getfixturevalue(f"{kind}_session")[0]
    request.addfinalizer(lambda: empty(server))
    return server


def empty(server: DavServer) -> None:
    for user, url in (("alice", server.url), ("bob", str(server.extra["BOB_URL"]))):
        body = b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>'
        _, listing = http(server, user, "PROPFIND", url, body, {"Depth": "1", "Content-Type": "application/xml"})
        for href in re.findall(r"<(?:\w+:)?href>([^<]+\.ics)</(?:\w+:)?href>", listing):
            http(server, user, "DELETE", server.root.rstrip("/") + href)


@pytest.fixture(params=KINDS)
def kit(request: pytest.FixtureRequest) -> DavServer:
    return session_server(request, request.param)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(mode="none") as server:
        yield server


def http(server: DavServer, user: str, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=body or None, method=method, headers=headers or {})
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{user}-secret".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return int(r.status), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return int(e.code), e.read().decode("utf-8", "replace")


def unfold(text: str) -> str:
    return text.replace("\r\n ", "").replace("\r\n", "\n")


def inbox(server: DavServer, user: str = "bob") -> dict[str, str]:
    """The schedule inbox of ``user``: href -> the iTIP message it holds."""
    url = str(server.extra[f"{user.upper()}_INBOX_URL"])
    body = b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>'
    status, listing = http(server, user, "PROPFIND", url, body, {"Depth": "1", "Content-Type": "application/xml"})
    assert status == 207, listing
    root = server.root.rstrip("/")
    hrefs = [h for h in re.findall(r"<(?:\w+:)?href>([^<]+)</(?:\w+:)?href>", listing) if not h.endswith("/")]
    return {h: unfold(http(server, user, "GET", h if h.startswith("http") else root + h)[1]) for h in hrefs}


def new_in(before: dict[str, str], after: dict[str, str], uid: str) -> list[str]:
    """Messages about ``uid`` that arrived (or changed) between two looks at an inbox."""
    return [t for h, t in after.items() if before.get(h) != t and f"UID:{uid}\n" in t]


def bob_invites(server: DavServer, uid: str, start: datetime, **kw: Any) -> None:
    """Bob organizes a meeting with Alice: his server delivers it to her calendar."""
    status, _ = http(server, "bob", "PUT", f"{server.extra['BOB_URL']}{uid}.ics",
                     calendar_of(invite(uid, "Listing review", start, organizer=BOB, **kw)),
                     {"Content-Type": "text/calendar"})
    assert status in (201, 204)
    b = CaldavBackend(server.url, "alice", "alice-secret", None, owner_emails=(OWNER,))
    assert wait_until(lambda: any(o.uid == uid for o in b.snapshot(NOW, NOW + timedelta(days=7), TZ).occurrences))


def alice_copy(server: DavServer, uid: str) -> str:
    b = CaldavBackend(server.url, "alice", "alice-secret", None, owner_emails=(OWNER,))
    b.snapshot(NOW, NOW + timedelta(days=7), TZ)
    href = b._uid_href[uid]
    return unfold(http(server, "alice", "GET", server.root.rstrip("/") + href)[1])


def app(tmp_path: Path, server: DavServer, smtp: SmtpServer, call: str = "11:30") -> tuple[App, Any]:
    os.environ["SCHED_CALDAV_PASSWORD"] = "alice-secret"
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.format(owner=OWNER, url=server.url, port=smtp.port, call=call))
    return App(path, tmp_path / "state"), load_rules(path)


def to(smtp: SmtpServer, who: str) -> list[str]:
    """The bodies of the mails sent to ``who`` (every part, decoded)."""
    out = []
    for m in smtp.messages:
        if who in str(m.get("To", "")):
            out.append("\n".join(unfold(p.get_content()) for p in m.walk() if not p.is_multipart()))
    return out


def test_each_server_is_known_for_what_it_does_with_an_attendees_edit(kit: DavServer) -> None:
    b = CaldavBackend(kit.url, "alice", "alice-secret", None, owner_emails=(OWNER,))
    assert b.connect() == EXPECTED[kit.name]


def test_a_decline_reaches_the_organizer_with_its_message_and_the_notice_says_how(
    kit: DavServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    uid = f"decline-{kit.name}@sched"
    bob_invites(kit, uid, NOW + timedelta(days=1, hours=2))  # Tuesday 09:00, on prospecting
    before = inbox(kit)
    a, rules = app(tmp_path, kit, smtp)
    result = a.sync(rules, NOW)
    assert [c.occurrence.uid for c in result.plan.declines] == [uid]
    message = result.plan.declines[0].message
    assert "DECLINED" in alice_copy(kit, uid)

    # the server told Bob; whether its reply carries the message is what the capability says
    assert wait_until(lambda: bool(new_in(before, inbox(kit), uid)))
    (delivered,) = new_in(before, inbox(kit), uid)
    assert "METHOD:REPLY" in delivered and "PARTSTAT=DECLINED" in delivered
    keeps = "\nCOMMENT:" in delivered[delivered.find("BEGIN:VEVENT"):]
    assert keeps is EXPECTED[kit.name].decline_comment

    # where it dropped the message, boundaryd's iMIP reply carries it; where it kept it, nothing more
    smtp.wait_for(2 if not keeps else 1)
    replies = to(smtp, BOB)
    assert len(replies) == (0 if keeps else 1)
    if not keeps:
        assert "METHOD:REPLY" in replies[0] and "PARTSTAT=DECLINED" in replies[0]
        assert message.split(";")[0] in replies[0].replace("\\,", ",").replace("\\;", ";")
    (notice,) = to(smtp, OWNER)
    words = "which drops your message: reply sent by email" if not keeps else "the calendar server tells organizers"
    assert words in notice

    again = a.sync(rules, NOW + timedelta(minutes=5))
    assert not again.plan.messages and len(smtp.received) == (1 if keeps else 2)  # nothing twice


def test_a_decline_the_server_could_not_deliver_is_replied_by_email_once(
    request: pytest.FixtureRequest, smtp: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sabre/dav answers an outside organizer with SCHEDULE-STATUS=3.7 (Cyrus hands it to iMIP: 1.1,
    and DAViCal sets none). Its dropped COMMENT is set aside here, so the server alone is trusted
    with the decline: the status read back at the next sync sends the reply."""
    server = session_server(request, "sabredav")
    monkeypatch.setattr(caldav_backend, "DROP_COMMENT", frozenset())
    uid = "undelivered@sched"
    status, _ = http(server, "alice", "PUT", f"{server.url}{uid}.ics",
                     calendar_of(invite(uid, "Offsite review", NOW + timedelta(days=2, hours=2))),
                     {"Content-Type": "text/calendar"})
    assert status in (201, 204)
    a, rules = app(tmp_path, server, smtp)
    first = a.sync(rules, NOW)
    assert [(d.occurrence.uid, d.told.value) for d in first.plan.decline_actions] == [(uid, "server")]
    assert not to(smtp, "bob@client.example")

    second = a.sync(rules, NOW + timedelta(minutes=1))
    (reply,) = [m for m in second.plan.messages if m.key.startswith("reply-")]
    assert reply.occurrence.schedule_status == "3.7"
    assert "the server could not deliver (SCHEDULE-STATUS 3.7)" in reply.trace.steps[0]
    smtp.wait_for(3)
    (sent,) = to(smtp, "bob@client.example")
    assert "PARTSTAT=DECLINED" in sent and "\nCOMMENT:Thanks for the invitation" in sent[sent.find("BEGIN:VEVENT"):]
    told, late = to(smtp, OWNER)  # the first notice said the server told them; the second corrects it
    assert "the calendar server tells organizers" in told
    assert "the server could not deliver (SCHEDULE-STATUS 3.7): reply sent by email" in late and "Offsite review" in late

    third = a.sync(rules, NOW + timedelta(minutes=2))
    assert not third.plan.messages and len(smtp.received) == 3


def test_a_flag_never_reaches_the_organizer_and_comes_off_when_the_conflict_ends(
    kit: DavServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    uid = f"flag-{kit.name}@sched"
    start = NOW + timedelta(days=1, hours=4, minutes=30)  # Tuesday 11:30, on the call-return block
    bob_invites(kit, uid, start, rrule={"FREQ": ["DAILY"], "COUNT": ["2"]})
    before = inbox(kit)
    a, rules = app(tmp_path, kit, smtp)
    result = a.sync(rules, NOW)
    assert {c.occurrence.uid for c in result.plan.flags} == {uid}
    marked = "CATEGORIES:Conflict" in alice_copy(kit, uid)
    assert marked is bool(EXPECTED[kit.name].flag_mark)  # DAViCal would tell Bob: no mark there

    moved, rules = app(tmp_path, kit, smtp, call="16:30")  # the block moves: the conflict ends
    after = moved.sync(rules, NOW + timedelta(minutes=1))
    assert not after.plan.flags
    assert "CATEGORIES:Conflict" not in alice_copy(kit, uid)
    assert moved.sync(rules, NOW + timedelta(minutes=2)).plan.actions == ()  # nothing left to do
    assert not new_in(before, inbox(kit), uid)  # neither the mark nor its removal reached Bob
    assert not to(smtp, BOB)


def test_sabre_would_tell_the_organizer_of_a_mark_put_without_schedule_reply_f(request: pytest.FixtureRequest) -> None:
    """What the header prevents (so the test above can fail): the same override, put plainly."""
    server = session_server(request, "sabredav")
    uid = "plain-mark@sched"
    bob_invites(server, uid, NOW + timedelta(days=1, hours=4, minutes=30), rrule={"FREQ": ["DAILY"], "COUNT": ["2"]})
    before = inbox(server)
    b = CaldavBackend(server.url, "alice", "alice-secret", None, owner_emails=(OWNER,))
    occ = min((o for o in b.snapshot(NOW, NOW + timedelta(days=7), TZ).occurrences if o.uid == uid), key=lambda o: o.start)
    caldav_backend.QUIET.clear()
    try:
        b.flag(occ)
    finally:
        caldav_backend.QUIET["Schedule-Reply"] = "F"
    assert wait_until(lambda: bool(new_in(before, inbox(server), uid)))
    assert "PARTSTAT=NEEDS-ACTION" in new_in(before, inbox(server), uid)[0]


def test_davical_declines_the_whole_series_for_the_organizer_and_the_reply_names_the_instance(
    request: pytest.FixtureRequest, smtp: SmtpServer, tmp_path: Path
) -> None:
    server = session_server(request, "davical")
    uid = "widened@sched"
    friday = NOW + timedelta(days=4, hours=2)  # Friday 09:00 on prospecting; Saturday's is free
    bob_invites(server, uid, friday, rrule={"FREQ": ["DAILY"], "COUNT": ["2"]})
    a, rules = app(tmp_path, server, smtp)
    result = a.sync(rules, NOW)
    (d,) = [d for d in result.plan.decline_actions if d.occurrence.uid == uid]
    assert d.occurrence.recurrence_id is not None and "you declined the whole series" in d.told_why
    bobs = unfold(http(server, "bob", "GET", f"{server.extra['BOB_URL']}{uid}.ics")[1])
    assert "RECURRENCE-ID" not in bobs and "PARTSTAT=DECLINED" in bobs  # what DAViCal did: the series
    smtp.wait_for(2)
    (reply,) = to(smtp, BOB)
    assert "RECURRENCE-ID" in reply and "PARTSTAT=DECLINED" in reply  # ours: that one occurrence
    (notice,) = to(smtp, OWNER)
    assert "you declined the whole series" in notice
