"""The remote worlds of the calendar contract: a CalDAV collection on a session server behind its
FaultProxy (Radicale with htpasswd, Xandikos), and the local Google stand-in; and the session
fixtures that start those servers once.
"""

from __future__ import annotations

import base64
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from boundaryd.calendars.caldav_backend import CaldavBackend
from boundaryd.calendars.caldav_xml import resource_name
from boundaryd.calendars.google_backend import GoogleBackend, RetryPolicy
from caldav_servers import FaultProxy
from clirun import OWNER, calendar_of
from contract_worlds import COUNTER, World, unreadable
from dav_servers import KIT_HOMES, DavServer, kit_missing, start_kit, start_radicale, start_xandikos

# --- CalDAV ---------------------------------------------------------------------------------------


class DavWorld(World):
    """A fresh collection on a session server, reached through its FaultProxy."""

    def __init__(self, server: DavServer, proxy: FaultProxy) -> None:
        super().__init__()
        self.name = server.name
        self.server = server
        self.proxy = proxy
        home = KIT_HOMES.get(server.name) or ("alice/" if server.name == "radicale" else "user/calendars/")
        self.url = f"{server.root}{home}c{next(COUNTER)}/"
        assert self._send(self.url, "MKCALENDAR") == 201
        self.via_proxy = self.url.replace(f":{proxy.target}/", f":{proxy.port}/", 1)
        self.fault: tuple[int, int | None] | None = None
        self.bodies: list[tuple[str, bytes]] = []
        proxy.requests.clear()
        proxy.transform = None
        proxy.rule = self._rule
        if server.name in KIT_HOMES:  # RFC 6638 servers: they deliver the attendee's reply themselves
            self.tells_organizer = True
        if server.name == "xandikos":  # RFC 6638 3.1: an attendee changes only PARTSTAT; it schedules
            self.tells_organizer = True
            self.marks_flags = False
            self.declines_instances = False
        if server.name == "davical":  # it would send the organizer a reply for the mark (README: interoperability)
            self.marks_flags = False
        if server.name in ("sabredav", "davical"):  # their reply to the organizer drops COMMENT: boundaryd replies too
            self.keeps_comment = False

    def _send(self, url: str, method: str, body: bytes | None = None) -> int:
        headers = {"Content-Type": "text/calendar"} if body is not None else {}
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        if self.server.username and self.server.password:
            token = base64.b64encode(f"{self.server.username}:{self.server.password}".encode()).decode()
            req.add_header("Authorization", "Basic " + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)

    def _rule(self, method: str, path: str, body: bytes) -> Any:
        self.bodies.append((method, body))
        if self.fault is None:
            return None
        status, left = self.fault
        if left is not None:
            if left <= 0:
                return None
            self.fault = (status, left - 1)
        return ("status", status)

    def backend(self) -> CaldavBackend:
        return CaldavBackend(self.via_proxy, self.server.username, self.server.password, self.state, timeout=10,
                             owner_emails=(OWNER,))

    def put(self, *comps: icalendar.Event) -> None:
        href = self.url + resource_name(str(comps[0]["UID"]))
        status = self._send(href, "PUT", calendar_of(*comps))
        if status == 412:  # Xandikos: the account is an attendee, only the organizer's iTIP may change it
            assert self._send(href, "DELETE") in (200, 204)
            status = self._send(href, "PUT", calendar_of(*comps))
        assert status in (201, 204), status

    def put_unreadable(self, uid: str) -> None:
        assert self._send(self.url + resource_name(uid), "PUT", unreadable(uid).encode()) in (201, 204)

    def remove(self, uid: str) -> None:
        assert self._send(self.url + resource_name(uid), "DELETE") in (200, 204)

    def fail(self, status: int, times: int | None = None) -> None:
        self.fault = (status, times)

    def heal(self) -> None:
        self.fault = None

    def full_reads(self) -> int:
        """sync-collection REPORTs without a token (or PROPFINDs of every ETag)."""
        return sum(
            1
            for m, b in self.bodies
            if (m == "REPORT" and b"<d:sync-token></d:sync-token>" in b) or (m == "PROPFIND" and b"getetag" in b)
        )

    def write_mark(self) -> object:
        return sum(1 for m, _ in self.bodies if m in ("PUT", "DELETE"))

    def requests(self) -> int:
        return len(self.bodies)

    def calendar_yaml(self) -> str:
        auth = ""
        if self.server.username:
            os.environ["CONTRACT_CALDAV_PASSWORD"] = self.server.password or ""
            auth = f", username: {self.server.username}, password_env: CONTRACT_CALDAV_PASSWORD"
        return f"  caldav: {{url: {self.via_proxy}{auth}}}"

    def close(self) -> None:
        self.proxy.rule = None
        if self.server.name in KIT_HOMES:
            # Cyrus keeps a UID unique across all of an account's calendars (RFC 6638 3.2.4.1
            # CALDAV:unique-scheduling-object-resource, which it applies to every resource): the
            # next test's collection may use the same UIDs only once this one is gone.
            self._send(self.url, "DELETE")


# --- Google ---------------------------------------------------------------------------------------

_REASONS = {401: "authError", 403: "forbidden", 404: "notFound", 410: "fullSyncRequired", 429: "rateLimitExceeded"}


def google_time(value: date | datetime) -> dict[str, str]:
    if not isinstance(value, datetime):
        return {"date": value.isoformat()}
    zone = value.tzinfo.key if isinstance(value.tzinfo, ZoneInfo) else "UTC"
    return {"dateTime": value.isoformat(), "timeZone": zone}


def google_body(event: icalendar.Event) -> dict[str, Any]:
    """The same event as Calendar API JSON (what the invitation looks like on Google)."""
    ev: Any = event  # icalendar's values are a union mypy cannot narrow by property name
    end = ev["DTEND"].dt if ev.get("DTEND") is not None else ev["DTSTART"].dt + ev["DURATION"].dt
    body: dict[str, Any] = {
        "iCalUID": str(ev["UID"]),
        "summary": str(ev.get("SUMMARY", "")),
        "start": google_time(ev["DTSTART"].dt),
        "end": google_time(end),
        "status": str(ev.get("STATUS", "CONFIRMED")).lower(),
        "transparency": "transparent" if str(ev.get("TRANSP", "")).upper() == "TRANSPARENT" else "opaque",
    }
    if ev.get("DESCRIPTION"):
        body["description"] = str(ev["DESCRIPTION"])
    if ev.get("RRULE"):
        body["recurrence"] = ["RRULE:" + ev["RRULE"].to_ical().decode()]
        for ex in ev.get("EXDATE") if isinstance(ev.get("EXDATE"), list) else [ev.get("EXDATE")] if ev.get("EXDATE") else []:
            tzid = ex.params.get("TZID")
            body["recurrence"].append(f"EXDATE{';TZID=' + tzid if tzid else ''}:{ex.to_ical().decode()}")
    if ev.get("ORGANIZER"):
        body["organizer"] = {"email": str(ev["ORGANIZER"]).removeprefix("mailto:")}
        atts = ev["ATTENDEE"] if isinstance(ev["ATTENDEE"], list) else [ev["ATTENDEE"]]
        status = {"NEEDS-ACTION": "needsAction", "ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}
        body["attendees"] = [
            {"email": str(a).removeprefix("mailto:"), "responseStatus": status[str(a.params["PARTSTAT"])]} for a in atts
        ]
    return body


class GoogleWorld(World):
    name = "google"
    tells_organizer = True

    def __init__(self, session: dict[str, Any], root: Path) -> None:
        super().__init__()
        self.fake = session["fake"]
        self.token = session["token"]
        self.root = root
        with self.fake.lock:
            self.fake.calendars.clear()
            self.fake.faults.clear()
            self.fake.requests.clear()
            self.fake.notifications.clear()
            self.fake.rejections.clear()
            self.fake.personal = None

    def backend(self) -> GoogleBackend:
        return GoogleBackend(
            "primary", self.token, self.root / "google-cache.json", ZoneInfo("America/Toronto"), owner_emails=(OWNER,),
            sync_state=self.state, api_endpoint=self.fake.api_endpoint, timeout=5,
            retry=RetryPolicy(base=0.01, cap=0.02, budget=0.3),
        )

    def _id_of(self, uid: str) -> str | None:
        cal = self.fake.calendar()
        return next((k for k, e in cal.events.items() if e.get("iCalUID") == uid and e["status"] != "cancelled"), None)

    def put(self, *comps: icalendar.Event) -> None:
        master, overrides = comps[0], comps[1:]
        eid = self._id_of(str(master["UID"]))
        body = google_body(master)
        if eid is None:
            eid = self.fake.add_event(body)["id"]
        else:
            self.fake.patch_event(eid, {k: v for k, v in body.items() if k != "iCalUID"})
        for ov in overrides:
            rid = ov.decoded("RECURRENCE-ID")
            suffix = f"{rid:%Y%m%d}" if not isinstance(rid, datetime) else f"{rid.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}"
            patch = {k: v for k, v in google_body(ov).items() if k not in ("iCalUID", "recurrence")}
            self.fake.patch_event(f"{eid}_{suffix}", patch)

    def put_unreadable(self, uid: str) -> None:
        """Stored as the API would never store it (a start no one can read), past its checks."""
        self.fake.add_raw_event({"iCalUID": uid, "summary": "Broken", "start": {"dateTime": "2026-11-24T25:99:00"},
                                 "end": {"dateTime": "2026-11-24T10:00:00-05:00"}})

    def remove(self, uid: str) -> None:
        eid = self._id_of(uid)
        assert eid is not None
        self.fake.delete_event(eid)

    def fail(self, status: int, times: int | None = None) -> None:
        self.fake.fail_next(times if times is not None else 100_000, status, _REASONS.get(status, "backendError"))

    def heal(self) -> None:
        with self.fake.lock:
            self.fake.faults.clear()

    def full_reads(self) -> int:
        return sum(1 for r in self.fake.requests if r.method == "events.list" and "timeMin" in r.query and "iCalUID" not in r.query)

    def write_mark(self) -> object:
        return sum(1 for r in self.fake.requests if r.method in ("events.insert", "events.patch", "events.delete"))

    def requests(self) -> int:
        return len(self.fake.requests)

    def calendar_yaml(self) -> str:
        endpoint = self.fake.api_endpoint
        return f'  google: {{calendar_id: primary, token_file: {self.token}, api_endpoint: "{endpoint}", focus_time: "off"}}'

    def close(self) -> None:
        from fake_google import check_no_rejections

        self.heal()
        check_no_rejections(self.fake)


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def radicale_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DavServer, FaultProxy]]:
    server = start_radicale(tmp_path_factory.mktemp("radicale"), htpasswd=True)
    proxy = FaultProxy(int(server.root.rsplit(":", 1)[1].strip("/")))
    try:
        yield server, proxy
    finally:
        proxy.close()
        server.stop()


@pytest.fixture(scope="session")
def xandikos_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DavServer, FaultProxy]]:
    server = start_xandikos(tmp_path_factory.mktemp("xandikos"), email=OWNER)
    proxy = FaultProxy(int(server.root.rsplit(":", 1)[1].strip("/")))
    try:
        yield server, proxy
    finally:
        proxy.close()
        server.stop()


def _kit_session(kind: str, factory: pytest.TempPathFactory) -> Iterator[tuple[DavServer, FaultProxy]]:
    why = kit_missing(kind)
    if why:
        pytest.skip(why)
    server = start_kit(kind, factory.mktemp(kind))
    proxy = FaultProxy(int(server.root.rsplit(":", 1)[1].strip("/")))
    try:
        yield server, proxy
    finally:
        proxy.close()
        server.stop()


@pytest.fixture(scope="session")
def sabredav_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DavServer, FaultProxy]]:
    """sabre/dav 4.7 (the DAV core of Nextcloud and Baikal), from the shared kit."""
    yield from _kit_session("sabredav", tmp_path_factory)


@pytest.fixture(scope="session")
def cyrus_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DavServer, FaultProxy]]:
    """Cyrus IMAP 3.6 with CalDAV (Fastmail's server), from the shared kit."""
    yield from _kit_session("cyrus", tmp_path_factory)


@pytest.fixture(scope="session")
def davical_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DavServer, FaultProxy]]:
    """DAViCal 1.1 on PostgreSQL, from the shared kit."""
    yield from _kit_session("davical", tmp_path_factory)


@pytest.fixture(scope="session")
def google_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from fake_google import FakeGoogle, FakeOAuth, write_token_file

    root = tmp_path_factory.mktemp("google")
    with FakeGoogle(account=OWNER) as fake:
        oauth = FakeOAuth(fake).start(root / "ca.pem")
        before = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = str(oauth.ca_file)
        import httplib2

        # the client refreshes a token Google refused (401) over httplib2, which trusts its own bundle
        httplib2_ca = httplib2.CA_CERTS
        httplib2.CA_CERTS = str(oauth.ca_file)
        token = root / "google-token.json"
        write_token_file(token, oauth)
        try:
            yield {"fake": fake, "oauth": oauth, "token": token}
        finally:
            oauth.stop()
            httplib2.CA_CERTS = httplib2_ca
            if before is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = before
