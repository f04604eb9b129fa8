"""The microsoft world of the calendar contract: the local Graph stand-in (:mod:`fake_graph`), signed
in through the real MSAL device-code flow once per session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from boundaryd.calendars.graph_auth import TokenSource
from boundaryd.calendars.graph_backend import GraphBackend
from boundaryd.calendars.graph_http import RetryPolicy
from boundaryd.calendars.graph_recur import pattern_of, windows_zone
from clirun import OWNER
from contract_worlds import World

_STATUS = {"NEEDS-ACTION": "none", "ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentativelyAccepted"}


def graph_time(value: date | datetime) -> dict[str, str]:
    if not isinstance(value, datetime):
        return {"dateTime": f"{value.isoformat()}T00:00:00", "timeZone": "Eastern Standard Time"}
    zone = value.tzinfo.key if isinstance(value.tzinfo, ZoneInfo) else "UTC"
    return {"dateTime": value.replace(tzinfo=None).isoformat(timespec="seconds"), "timeZone": windows_zone(zone)}


def graph_body(event: icalendar.Event, owner: str = OWNER) -> dict[str, Any]:
    """The same event as Graph JSON (what the invitation looks like in the owner's Outlook)."""
    ev: Any = event
    start = ev["DTSTART"].dt
    end = ev["DTEND"].dt if ev.get("DTEND") is not None else start + ev["DURATION"].dt
    body: dict[str, Any] = {
        "iCalUId": str(ev["UID"]),
        "subject": str(ev.get("SUMMARY", "")),
        "body": {"contentType": "text", "content": str(ev.get("DESCRIPTION", ""))},
        "start": graph_time(start),
        "end": graph_time(end),
        "isAllDay": not isinstance(start, datetime),
        "showAs": "free" if str(ev.get("TRANSP", "")).upper() == "TRANSPARENT" else "busy",
        "isCancelled": str(ev.get("STATUS", "")).upper() == "CANCELLED",
    }
    if ev.get("RRULE") is not None:
        body["recurrence"] = pattern_of(dict(ev["RRULE"]), start if not isinstance(start, datetime) else start.date())
        body["recurrence"]["range"]["recurrenceTimeZone"] = body["start"]["timeZone"]
    if ev.get("ORGANIZER"):
        atts = ev["ATTENDEE"] if isinstance(ev["ATTENDEE"], list) else [ev["ATTENDEE"]]
        body["attendees"] = []
        for a in atts:
            email = str(a).removeprefix("mailto:")
            status = _STATUS[str(a.params["PARTSTAT"])]
            body["attendees"].append({"emailAddress": {"address": email, "name": ""}, "type": "required",
                                      "status": {"response": status, "time": "0001-01-01T00:00:00Z"}})
            if email == owner:
                body["responseStatus"] = {"response": status if status != "none" else "notResponded",
                                          "time": "0001-01-01T00:00:00Z"}
    return body


class GraphWorld(World):
    name = "microsoft"
    tells_organizer = True
    withdraws_answers = False  # Graph answers accept/tentativelyAccept/decline; "none" cannot be set again

    def __init__(self, session: dict[str, Any], root: Path) -> None:
        super().__init__()
        self.fake = session["fake"]
        self.token = session["token"]
        self.root = root
        self.fake.reset()

    def backend(self) -> GraphBackend:
        tokens = TokenSource(self.token, None, "common", self.fake.authority)
        return GraphBackend("primary", tokens, self.root / "microsoft-cache.json", ZoneInfo("America/Toronto"),
                            owner_emails=(OWNER,), sync_state=self.state, api_endpoint=self.fake.api_endpoint,
                            retry=RetryPolicy(base=0.01, cap=0.02, budget=0.3))

    def _id_of(self, uid: str) -> str | None:
        return next((k for k, e in self.fake.store.events.items() if e.get("iCalUId") == uid), None)

    def put(self, *comps: icalendar.Event) -> None:
        master, overrides = comps[0], comps[1:]
        body = graph_body(master)
        with self.fake.lock:
            store = self.fake.store
            ical_uid = body.pop("iCalUId")
            self.fake.api.check(body, {"$ref": "#/components/schemas/microsoft.graph.event"}, "put")
            organizer = {"emailAddress": {"address": str(master.get("ORGANIZER", "mailto:" + OWNER)).removeprefix("mailto:")}}
            eid = self._id_of(ical_uid)
            if eid is not None:
                store.cancelled.pop(eid, None)
                for k in [k for k in store.overrides if k.startswith(eid + "_")]:
                    store.overrides.pop(k)
                store.patch(eid, body)
            else:
                ev = store.create(body, organizer)
                ev["iCalUId"] = ical_uid
                eid = ev["id"]
            from fake_graph_store import stamp

            ex = master.get("EXDATE")
            for group in ex if isinstance(ex, list) else [ex] if ex is not None else []:
                for d in group.dts:
                    store.cancelled.setdefault(eid, set()).add(f"{eid}_{stamp(d.dt)}")
            for ov in overrides:
                rid = ov.decoded("RECURRENCE-ID")
                fields = {k: v for k, v in graph_body(ov).items() if k not in ("iCalUId", "recurrence")}
                store.overrides[f"{eid}_{stamp(rid)}"] = fields

    def put_unreadable(self, uid: str) -> None:
        with self.fake.lock:
            ev = self.fake.store.create({"subject": "Broken", "start": {"dateTime": "2026-11-24T09:00:00", "timeZone": "UTC"},
                                         "end": {"dateTime": "2026-11-24T10:00:00", "timeZone": "UTC"}})
            ev["iCalUId"] = uid
            ev["start"] = {"dateTime": "2026-11-24T25:99:00", "timeZone": "UTC"}

    def remove(self, uid: str) -> None:
        eid = self._id_of(uid)
        assert eid is not None
        with self.fake.lock:
            self.fake.store.delete(eid)

    def fail(self, status: int, times: int | None = None) -> None:
        if status == 410:  # the delta link is what Graph forgets
            with self.fake.lock:
                self.fake.store.generation += 1
            return
        self.fake.fail_next(times if times is not None else 100_000, status)

    def heal(self) -> None:
        self.fake.heal()

    def full_reads(self) -> int:
        return sum(1 for r in self.fake.requests if r.template.endswith("delta()") and "startDateTime" in r.query)

    def write_mark(self) -> object:
        return sum(1 for r in self.fake.requests if r.verb in ("POST", "PATCH", "DELETE"))

    def requests(self) -> int:
        return len(self.fake.requests)

    def calendar_yaml(self) -> str:
        return (f'  microsoft: {{calendar: primary, token_file: {self.token}, authority: "{self.fake.authority}",'
                f' api_endpoint: "{self.fake.api_endpoint}"}}')

    def close(self) -> None:
        from fake_graph import check_no_rejections

        self.heal()
        check_no_rejections(self.fake)


@pytest.fixture(scope="session")
def graph_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from fake_graph import sign_in, trusted

    root = tmp_path_factory.mktemp("graph")
    with trusted(root / "ca.pem", OWNER) as fake:
        token = root / "microsoft-token.json"
        sign_in(fake, token)
        yield {"fake": fake, "token": token}


def signed_in(fake: Any, root: Path) -> GraphWorld:
    """A world on ``fake`` with a token file of its own (a sign-in as ``auth microsoft`` makes it)."""
    from fake_graph import sign_in

    token = root / "microsoft-token.json"
    sign_in(fake, token)
    return GraphWorld({"fake": fake, "token": token}, root)
