"""A local stand-in for Google Calendar API v3 (and Google's OAuth endpoints) for the tests.

Every request is checked against the Calendar v3 discovery document shipped inside
google-api-python-client: the method and path must exist, query parameters must be known and
well-typed, and request bodies must only hold known fields of the right types and enum values
(recursively through ``Event``, ``EventAttendee``, ...). A violation is answered with a 400 shaped
like Google's and recorded in :attr:`FakeGoogle.rejections` (the tests' fixture fails a test that
caused one it did not expect).

Events live in memory; recurrences are expanded with recurring-ical-events. Implemented:
events.list (timeMin/timeMax, singleEvents, pages, nextSyncToken, incremental syncToken, 410),
get, insert (client ids, 409), patch (merge; patching one instance makes an exception), delete,
instances. Faults: :meth:`FakeGoogle.fail_next`, :meth:`FakeGoogle.slow_next`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import googleapiclient
import icalendar
import recurring_ical_events

from tls_serve import serve_https, stop_server

UTC = timezone.utc
DISCOVERY_PATH = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "calendar.v3.json"
_ID_RE = re.compile(r"^[a-v0-9]{5,1024}$")


# --- the discovery document ---------------------------------------------------------------------


class Invalid(Exception):
    def __init__(self, message: str, reason: str = "invalid", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.status = status


def _values_in(description: str) -> list[str]:
    """Enum values a discovery description lists as ``- "value" - ...`` lines."""
    return re.findall(r'^- "(\w+)" -', description, flags=re.MULTILINE)


class Discovery:
    """The Calendar v3 discovery document, as a validator."""

    #: string fields whose allowed values the document names only in prose (checked to be there)
    PROSE_ENUMS: ClassVar[dict[tuple[str, str], list[str]]] = {
        ("EventFocusTimeProperties", "autoDeclineMode"): [
            "declineNone", "declineAllConflictingInvitations", "declineOnlyNewConflictingInvitations"],
        ("EventFocusTimeProperties", "chatStatus"): ["available", "doNotDisturb"],
        ("EventOutOfOfficeProperties", "autoDeclineMode"): [
            "declineNone", "declineAllConflictingInvitations", "declineOnlyNewConflictingInvitations"],
    }

    def __init__(self, path: Path = DISCOVERY_PATH) -> None:
        self.doc = json.loads(path.read_text())
        self.schemas: dict[str, Any] = self.doc["schemas"]
        self.service_path: str = self.doc["servicePath"]  # "calendar/v3/"
        self.global_params: dict[str, Any] = self.doc["parameters"]
        self.enums: dict[tuple[str, str], list[str]] = {}
        for sname, schema in self.schemas.items():
            for pname, prop in schema.get("properties", {}).items():
                if prop.get("type") == "string" and "enum" not in prop:
                    vals = _values_in(prop.get("description", ""))
                    if len(vals) >= 2:
                        self.enums[(sname, pname)] = vals
        for key, vals in self.PROSE_ENUMS.items():
            desc = self.schemas[key[0]]["properties"][key[1]]["description"]
            assert all(v in desc for v in vals), key
            self.enums[key] = vals
        self.routes: list[tuple[str, re.Pattern[str], str, dict[str, Any]]] = []
        self._collect(self.doc.get("resources", {}), "")

    def _collect(self, resources: dict[str, Any], prefix: str) -> None:
        for rname, res in resources.items():
            for mname, m in res.get("methods", {}).items():
                pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(m["path"]))
                self.routes.append((m["httpMethod"], re.compile("^" + pattern + "$"), f"{prefix}{rname}.{mname}", m))
            self._collect(res.get("resources", {}), f"{prefix}{rname}.")

    def route(self, verb: str, path: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        rel = path[len("/" + self.service_path):] if path.startswith("/" + self.service_path) else None
        if rel is None:
            raise Invalid(f"{path}: not a Calendar v3 path", "notFound", 404)
        matches = [(n, r.match(rel), m) for v, r, n, m in self.routes if v == verb and r.match(rel)]
        # literal segments beat placeholders (events/import vs events/{eventId})
        matches.sort(key=lambda t: len(t[1].groupdict()))  # type: ignore[union-attr]
        if not matches:
            raise Invalid(f"{verb} {rel}: no such method in the discovery document", "notFound", 404)
        name, mt, method = matches[0]
        assert mt is not None
        return name, {k: urllib.parse.unquote(v) for k, v in mt.groupdict().items()}, method

    # -- parameters
    def check_query(self, method: dict[str, Any], query: dict[str, list[str]]) -> None:
        params = {**self.global_params, **method.get("parameters", {})}
        for name, values in query.items():
            spec = params.get(name)
            if spec is None or spec.get("location") != "query":
                raise Invalid(f"Unknown query parameter {name!r}.", "badRequest")
            if len(values) > 1 and not spec.get("repeated"):
                raise Invalid(f"Parameter {name!r} given {len(values)} times but is not repeated.", "badRequest")
            for v in values:
                self._scalar(v, spec, name, from_query=True)
        for name, spec in params.items():
            if spec.get("required") and spec.get("location") == "query" and name not in query:
                raise Invalid(f"Missing required parameter {name!r}.", "required")

    def _scalar(self, v: Any, spec: dict[str, Any], where: str, from_query: bool = False) -> None:
        typ = spec.get("type")
        if typ == "boolean":
            ok = v in ("true", "false") if from_query else isinstance(v, bool)
            if not ok:
                raise Invalid(f"Invalid value {v!r} for {where}: not a boolean.")
        elif typ == "integer":
            try:
                n = int(v) if from_query else v
                if not isinstance(n, int) or isinstance(n, bool):
                    raise ValueError
            except ValueError:
                raise Invalid(f"Invalid value {v!r} for {where}: not an integer.") from None
            if "minimum" in spec and n < int(spec["minimum"]):
                raise Invalid(f"Invalid value {v!r} for {where}: below {spec['minimum']}.")
            if "maximum" in spec and n > int(spec["maximum"]):
                raise Invalid(f"Invalid value {v!r} for {where}: above {spec['maximum']}.")
        elif typ == "number":
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise Invalid(f"Invalid value {v!r} for {where}: not a number.")
        elif typ == "string":
            if not isinstance(v, str):
                raise Invalid(f"Invalid value {v!r} for {where}: not a string.")
            if "enum" in spec and v not in spec["enum"]:
                raise Invalid(f"Invalid value {v!r} for {where} (one of {', '.join(spec['enum'])}).")
            fmt = spec.get("format")
            if fmt == "date-time":
                parse_rfc3339(v, where)
            elif fmt == "date":
                try:
                    date.fromisoformat(v)
                except ValueError:
                    raise Invalid(f"Invalid date {v!r} for {where}.") from None
            elif fmt in ("int64", "uint64"):
                if not re.fullmatch(r"-?\d+", v):
                    raise Invalid(f"Invalid value {v!r} for {where}: not an int64.")

    # -- bodies
    def check_body(self, value: Any, schema: dict[str, Any], where: str, sname: str = "") -> None:
        if "$ref" in schema:
            sname = schema["$ref"]
            schema = self.schemas[sname]
        if value is None:  # JSON null clears a field on patch
            return
        typ = schema.get("type")
        if typ == "object":
            if not isinstance(value, dict):
                raise Invalid(f"Invalid value at '{where}': expected an object.")
            props = schema.get("properties")
            extra = schema.get("additionalProperties")
            for k, v in value.items():
                if props is not None and k in props:
                    self._field(v, props[k], f"{where}.{k}", sname, k)
                elif extra is not None:
                    self.check_body(v, extra, f"{where}[{k!r}]")
                else:
                    raise Invalid(f"Invalid JSON payload received. Unknown name \"{k}\" at '{where}': Cannot find field.")
        elif typ == "array":
            if not isinstance(value, list):
                raise Invalid(f"Invalid value at '{where}': expected a list.")
            for i, item in enumerate(value):
                self.check_body(item, schema["items"], f"{where}[{i}]")
        elif typ == "any":
            return
        else:
            self._scalar(value, schema, where)

    def _field(self, v: Any, prop: dict[str, Any], where: str, sname: str, pname: str) -> None:
        self.check_body(v, prop, where, sname)
        allowed = self.enums.get((sname, pname))
        if allowed is not None and v is not None and v not in allowed:
            raise Invalid(f"Invalid value at '{where}' ({v!r}): one of {', '.join(allowed)}.")


def parse_rfc3339(v: str, where: str = "value") -> datetime:
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"Invalid value for {where}: {v!r} is not an RFC3339 timestamp.") from None
    if dt.tzinfo is None:
        raise Invalid(f"Invalid value for {where}: {v!r} has no time zone offset.")
    return dt


# --- the calendar store -----------------------------------------------------------------------


def _b64(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, sort_keys=True).encode()).decode().rstrip("=")


def _unb64(s: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))


@dataclass
class Fault:
    status: int = 0  # 0: no error (a slow answer only)
    reason: str = ""
    delay: float = 0.0


@dataclass
class Recorded:
    method: str  # e.g. "events.list"
    verb: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int = 0


@dataclass
class Calendar:
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # masters and single events
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # instance id -> exception


class FakeGoogle:
    """The API server. ``with FakeGoogle() as g: g.api_endpoint`` -> http://127.0.0.1:PORT/calendar/v3/."""

    def __init__(self, account: str = "alice@example.com", tz: str = "America/Toronto",
                 expand_until: datetime = datetime(2027, 12, 31, tzinfo=UTC)) -> None:
        self.discovery = Discovery()
        self.account = account
        self.tz = ZoneInfo(tz)
        self.expand_until = expand_until
        self.calendars: dict[str, Calendar] = {}
        self.lock = threading.RLock()
        self.seq = 0
        self.token_generation = 0
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self.rejections: list[Recorded] = []
        self.notifications: list[dict[str, Any]] = []  # what Google would have told organizers
        self.access_tokens: set[str] = set()
        self.personal: str | None = None  # None | "refuse" | "downgrade": focus time on a personal account
        self.access_role = "owner"  # events.list's accessRole: owner | writer | reader | freeBusyReader
        self.server: ThreadingHTTPServer | None = None

    # -- life cycle
    def start(self) -> FakeGoogle:
        fake = self

        class Handler(_Handler):
            owner = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> FakeGoogle:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    @property
    def api_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/calendar/v3/"

    # -- test controls
    def issue_access_token(self) -> str:
        tok = "ya29.fake-" + secrets.token_urlsafe(16)
        self.access_tokens.add(tok)
        return tok

    def fail_next(self, n: int, status: int, reason: str = "") -> None:
        with self.lock:
            self.faults.extend(Fault(status, reason) for _ in range(n))

    def slow_next(self, n: int, seconds: float) -> None:
        with self.lock:
            self.faults.extend(Fault(0, "", seconds) for _ in range(n))

    def invalidate_sync_tokens(self) -> None:
        with self.lock:
            self.token_generation += 1

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()

    def count(self, method: str | None = None) -> int:
        return sum(1 for r in self.requests if method is None or r.method == method)

    def calendar(self, calendar_id: str = "primary") -> Calendar:
        cid = self.account if calendar_id == "primary" else calendar_id
        return self.calendars.setdefault(cid, Calendar())

    def add_event(self, body: dict[str, Any], calendar_id: str = "primary") -> dict[str, Any]:
        """Put an event on the calendar as if someone else had (an invitation): checked like insert."""
        with self.lock:
            self.discovery.check_body(body, {"$ref": "Event"}, "resource")
            return self._public(self._insert(self.calendar(calendar_id), copy.deepcopy(body), by_client=False))

    def add_raw_event(self, body: dict[str, Any], calendar_id: str = "primary") -> dict[str, Any]:
        """Store an event past every check, as a corrupt record would be (for the readers' tests)."""
        with self.lock:
            eid = secrets.token_hex(13)
            ev: dict[str, Any] = {"kind": "calendar#event", "id": eid, "status": "confirmed", "eventType": "default",
                                  "sequence": 0, "organizer": {"email": self.account}, **body, "_id": eid}
            ev.setdefault("iCalUID", f"{eid}@google.com")
            self._bump(ev)
            self.calendar(calendar_id).events[eid] = ev
            return self._public(ev)

    def patch_event(self, event_id: str, patch: dict[str, Any], calendar_id: str = "primary") -> dict[str, Any]:
        with self.lock:
            self.discovery.check_body(patch, {"$ref": "Event"}, "resource")
            return self._public(self._patch(self.calendar(calendar_id), event_id, copy.deepcopy(patch), {}))

    def delete_event(self, event_id: str, calendar_id: str = "primary") -> None:
        with self.lock:
            self._delete(self.calendar(calendar_id), event_id)

    def get_event(self, event_id: str, calendar_id: str = "primary") -> dict[str, Any]:
        with self.lock:
            return self._public(self._get(self.calendar(calendar_id), event_id))

    def list_instances(self, calendar_id: str = "primary", lo: datetime | None = None,
                       hi: datetime | None = None, deleted: bool = False) -> list[dict[str, Any]]:
        """Every single event and instance (what singleEvents=true lists), for assertions."""
        with self.lock:
            items = self._expand_all(self.calendar(calendar_id), lo, hi, deleted)
            return [self._public(e) for e in items]

    # -- storage helpers
    def _bump(self, ev: dict[str, Any]) -> None:
        self.seq += 1
        ev["_seq"] = self.seq
        ev["updated"] = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        ev["etag"] = f'"{self.seq:016d}"'

    @staticmethod
    def _public(ev: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in ev.items() if not k.startswith("_")}

    def _when(self, edt: dict[str, Any]) -> datetime:
        """An EventDateTime as an aware datetime (all-day: local midnight in the calendar's zone)."""
        if edt.get("date"):
            return datetime.combine(date.fromisoformat(edt["date"]), datetime.min.time(), self.tz)
        dt = datetime.fromisoformat(edt["dateTime"].replace("Z", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=ZoneInfo(edt["timeZone"]))
        return dt

    def _mark_self(self, ev: dict[str, Any]) -> None:
        for key in ("organizer", "creator"):
            if isinstance(ev.get(key), dict):
                if ev[key].get("email", "").lower() == self.account:
                    ev[key]["self"] = True
        for a in ev.get("attendees") or []:
            if a.get("email", "").lower() == self.account:
                a["self"] = True
            a.setdefault("responseStatus", "needsAction")

    def _check_times(self, ev: dict[str, Any]) -> None:
        for key in ("start", "end"):
            edt = ev.get(key)
            if not isinstance(edt, dict) or not (edt.get("date") or edt.get("dateTime")):
                raise Invalid(f"Missing {key} time.", "required")
            if edt.get("timeZone"):
                try:
                    ZoneInfo(edt["timeZone"])
                except (ValueError, KeyError, OSError):
                    raise Invalid(f"Invalid time zone definition for {key} time.") from None
            if edt.get("dateTime") and not edt.get("timeZone"):
                parse_rfc3339(edt["dateTime"], f"{key}.dateTime")
            if ev.get("recurrence") and edt.get("dateTime") and not edt.get("timeZone"):
                raise Invalid(f"Missing time zone definition for {key} time.", "required")
        if self._when(ev["end"]) < self._when(ev["start"]):
            raise Invalid("The specified time range is empty.", "timeRangeEmpty")
        if bool(ev["start"].get("date")) != bool(ev["end"].get("date")):
            raise Invalid("Start and end must both be dates or both be date-times.")
        if ev.get("recurrence"):
            self._series_instances(ev, ev.get("_id", "check"), None, None)  # raises on a bad rule

    def _focus_checks(self, ev: dict[str, Any]) -> None:
        if ev.get("eventType") != "focusTime":
            return
        if self.personal == "refuse":
            raise Invalid("Focus time events are not supported on this calendar.", "eventTypeRestriction")
        if self.personal == "downgrade":
            ev["eventType"] = "default"
            ev.pop("focusTimeProperties", None)
            return
        if ev["start"].get("date"):
            raise Invalid("Focus time events cannot be all-day events.", "eventTypeRestriction")
        if ev.get("attendees"):
            raise Invalid("Focus time events cannot have attendees.", "eventTypeRestriction")

    def _insert(self, cal: Calendar, body: dict[str, Any], by_client: bool) -> dict[str, Any]:
        eid = body.get("id")
        if eid is not None:
            if not _ID_RE.match(eid):
                raise Invalid("Invalid resource id value.", "invalid")
            if eid in cal.events:
                raise Invalid("The requested identifier already exists.", "duplicate", 409)
        else:
            eid = secrets.token_hex(13)
        for ro in ("htmlLink", "created", "updated", "etag", "kind", "recurringEventId", "originalStartTime"):
            body.pop(ro, None)
        body.pop("attendeesOmitted", None)
        ev: dict[str, Any] = {"kind": "calendar#event", "id": eid, "status": "confirmed", "eventType": "default",
                              "sequence": 0, **body, "_id": eid}
        ev["id"] = eid
        ev.setdefault("iCalUID", f"{eid}@google.com")
        if by_client or "organizer" not in ev:
            ev["organizer"] = {"email": self.account}
        ev.setdefault("creator", {"email": ev["organizer"]["email"]})
        ev["created"] = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        ev.setdefault("reminders", {"useDefault": True})
        self._check_times(ev)
        self._focus_checks(ev)
        self._mark_self(ev)
        self._bump(ev)
        cal.events[eid] = ev
        return ev

    def _split(self, cal: Calendar, eid: str) -> tuple[dict[str, Any] | None, str | None]:
        """(master, instance id) for an instance id, else (event, None)."""
        if eid in cal.events:
            return cal.events[eid], None
        if eid in cal.overrides:
            return cal.events.get(cal.overrides[eid]["recurringEventId"]), eid
        base, sep, _ = eid.rpartition("_")
        if sep and base in cal.events and cal.events[base].get("recurrence"):
            for inst in self._series_instances(cal.events[base], base, None, None):
                if inst["id"] == eid:
                    return cal.events[base], eid
        return None, None

    def _get(self, cal: Calendar, eid: str) -> dict[str, Any]:
        master, inst = self._split(cal, eid)
        if master is None:
            raise Invalid("Not Found", "notFound", 404)
        if inst is None:
            return master
        if inst in cal.overrides:
            return cal.overrides[inst]
        return next(i for i in self._series_instances(master, master["id"], None, None) if i["id"] == inst)

    def _patch(self, cal: Calendar, eid: str, body: dict[str, Any], query: dict[str, list[str]]) -> dict[str, Any]:
        master, inst = self._split(cal, eid)
        if master is None:
            raise Invalid("Not Found", "notFound", 404)
        target = self._get(cal, eid)
        if "eventType" in body and body["eventType"] != target.get("eventType", "default"):
            raise Invalid("Event type cannot be changed.", "eventTypeRestriction")
        if "id" in body and body["id"] != eid:
            raise Invalid("The event id cannot be changed.", "invalid")
        omitted = bool(body.pop("attendeesOmitted", False))
        for ro in ("htmlLink", "created", "updated", "etag", "kind", "iCalUID", "recurringEventId",
                   "originalStartTime", "organizer", "creator"):
            body.pop(ro, None)
        new = copy.deepcopy(target)
        before_att = {a.get("email", "").lower(): dict(a) for a in target.get("attendees") or []}
        if omitted and "attendees" in body:
            given = {a.get("email", "").lower(): a for a in body.pop("attendees") or []}
            merged = []
            for a in new.get("attendees") or []:
                upd = given.pop(a.get("email", "").lower(), None)
                merged.append({**a, **upd} if upd else a)
            new["attendees"] = merged
        _merge(new, body)
        if "start" in body or "end" in body or "recurrence" in body:
            self._check_times(new)
            if inst is None:
                new["sequence"] = int(new.get("sequence", 0)) + 1
        if new.get("eventType") == "focusTime" and "focusTimeProperties" in body:
            self._focus_checks(new)
        self._mark_self(new)
        old_ids: dict[str, dict[str, Any]] = {}
        if inst is None and master.get("recurrence") and ("start" in body or "end" in body or "recurrence" in body
                                                          or body.get("status") == "cancelled"):
            old_ids = {i["id"]: i for i in self._series_instances(master, master["id"], None, None)}
        self._bump(new)
        if inst is None:
            cal.events[eid] = new
            if old_ids:  # instances the change removed show up as cancelled in incremental sync
                now_ids = {i["id"] for i in self._series_instances(new, eid, None, None)}
                for iid, old in old_ids.items():
                    if iid not in now_ids and iid not in cal.overrides:
                        gone = {"id": iid, "status": "cancelled", "recurringEventId": eid,
                                "originalStartTime": old["originalStartTime"], "_id": iid}
                        self._bump(gone)
                        cal.overrides[iid] = gone
        else:
            new["id"] = inst
            cal.overrides[inst] = new
        if query.get("sendUpdates", ["none"])[0] in ("all", "externalOnly"):
            for a in new.get("attendees") or []:
                old = before_att.get(a.get("email", "").lower(), {})
                if a.get("self") and (a.get("responseStatus") != old.get("responseStatus")
                                      or a.get("comment") != old.get("comment")):
                    self.notifications.append({"event": new["id"], "organizer": (new.get("organizer") or {}).get("email"),
                                               "attendee": a["email"], "responseStatus": a.get("responseStatus"),
                                               "comment": a.get("comment", "")})
        return new

    def _delete(self, cal: Calendar, eid: str) -> None:
        master, inst = self._split(cal, eid)
        if master is None:
            raise Invalid("Not Found", "notFound", 404)
        target = self._get(cal, eid)
        if target.get("status") == "cancelled":
            raise Invalid("Resource has been deleted", "deleted", 410)
        if inst is None:
            gone = dict(master, status="cancelled")
            self._bump(gone)
            cal.events[eid] = gone
        else:
            gone = dict(target, status="cancelled", id=inst)
            self._bump(gone)
            cal.overrides[inst] = gone

    # -- expansion
    def _series_instances(self, master: dict[str, Any], mid: str, lo: datetime | None,
                          hi: datetime | None) -> list[dict[str, Any]]:
        """The series' instances in [lo, hi) without exceptions applied, via recurring-ical-events."""
        start, end = master["start"], master["end"]
        all_day = bool(start.get("date"))
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//fake//EN", "BEGIN:VEVENT", f"UID:{mid}"]
        if all_day:
            lines += [f"DTSTART;VALUE=DATE:{start['date'].replace('-', '')}",
                      f"DTEND;VALUE=DATE:{end['date'].replace('-', '')}"]
            tz = self.tz
        else:
            tz = ZoneInfo(start.get("timeZone") or "UTC")
            s = self._when(start).astimezone(tz)
            e = self._when(end).astimezone(tz)
            lines += [f"DTSTART;TZID={tz.key}:{s:%Y%m%dT%H%M%S}", f"DTEND;TZID={tz.key}:{e:%Y%m%dT%H%M%S}"]
        for rl in master.get("recurrence") or []:
            name = re.split(r"[;:]", rl, maxsplit=1)[0].upper()
            if name not in ("RRULE", "EXRULE", "RDATE", "EXDATE"):
                raise Invalid(f"Invalid recurrence rule: {rl!r}.")
            lines.append(rl)
        lines += ["END:VEVENT", "END:VCALENDAR", ""]
        lo = lo or self._when(start)
        hi = hi or self.expand_until
        try:
            cal = icalendar.Calendar.from_ical("\r\n".join(lines))
            comps = recurring_ical_events.of(cal).between(lo, hi)
        except Exception as e:  # noqa: BLE001 - any parse/expansion failure is the client's bad rule
            raise Invalid(f"Invalid recurrence rule ({e}).") from None
        out = []
        base = self._public(master)
        base.pop("recurrence", None)
        for comp in comps:
            s, e_ = comp["DTSTART"].dt, comp["DTEND"].dt
            inst = copy.deepcopy(base)
            inst["recurringEventId"] = mid
            if all_day:
                inst["id"] = f"{mid}_{s:%Y%m%d}"
                inst["start"] = {"date": s.isoformat()}
                inst["end"] = {"date": e_.isoformat()}
                inst["originalStartTime"] = {"date": s.isoformat()}
            else:
                inst["id"] = f"{mid}_{s.astimezone(UTC):%Y%m%dT%H%M%SZ}"
                inst["start"] = {"dateTime": s.isoformat(), "timeZone": start["timeZone"]}
                inst["end"] = {"dateTime": e_.isoformat(), "timeZone": end.get("timeZone", start["timeZone"])}
                inst["originalStartTime"] = dict(inst["start"])
            inst["_seq"] = master.get("_seq", 0)
            out.append(inst)
        return out

    def _in_range(self, ev: dict[str, Any], lo: datetime | None, hi: datetime | None) -> bool:
        if "start" not in ev:
            return True
        try:
            s, e = self._when(ev["start"]), self._when(ev["end"])
        except (KeyError, ValueError):  # a corrupt record (add_raw_event): listed, for the client to cope with
            return True
        return (lo is None or e > lo) and (hi is None or s < hi)

    def _expand_all(self, cal: Calendar, lo: datetime | None, hi: datetime | None, deleted: bool,
                    since: int | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for mid, ev in cal.events.items():
            if not ev.get("recurrence"):
                if (since is None or ev["_seq"] > since) and (deleted or ev["status"] != "cancelled"):
                    if since is not None or self._in_range(ev, lo, hi):
                        out.append(ev)
                continue
            changed = since is None or ev["_seq"] > since
            exp_lo = None if since is not None else (lo - timedelta(days=1) if lo else None)
            seen = set()
            for inst in self._series_instances(ev, mid, exp_lo, hi):
                seen.add(inst["id"])
                ov = cal.overrides.get(inst["id"])
                item = ov or inst
                if ev["status"] == "cancelled":
                    item = {"id": inst["id"], "status": "cancelled", "recurringEventId": mid,
                            "originalStartTime": inst["originalStartTime"], "_seq": ev["_seq"]}
                if since is not None and not (changed or item["_seq"] > since):
                    continue
                if item.get("status") == "cancelled" and not deleted:
                    continue
                if since is None and not self._in_range(item, lo, hi):
                    continue
                out.append(item)
            for iid, ov in cal.overrides.items():  # exceptions moved outside, and removed instances
                if ov.get("recurringEventId") != mid or iid in seen:
                    continue
                if since is not None and ov["_seq"] <= since:
                    continue
                if ov.get("status") == "cancelled" and not deleted:
                    continue
                if since is None and not self._in_range(ov, lo, hi):
                    continue
                out.append(ov)
        out.sort(key=lambda e: (self._sort_start(e), e["id"]))
        return out

    def _sort_start(self, ev: dict[str, Any]) -> datetime:
        try:
            return self._when(ev["start"])
        except (KeyError, ValueError):
            return datetime.min.replace(tzinfo=UTC)

    def _masters(self, cal: Calendar, lo: datetime | None, hi: datetime | None, deleted: bool,
                 since: int | None) -> list[dict[str, Any]]:
        out = []
        for ev in list(cal.events.values()) + list(cal.overrides.values()):
            if since is not None and ev["_seq"] <= since:
                continue
            if ev.get("status") == "cancelled" and not deleted:
                continue
            if since is None and not ev.get("recurrence") and not self._in_range(ev, lo, hi):
                continue
            out.append(ev)
        out.sort(key=lambda e: e["_seq"])
        return out

    # -- API methods
    def handle(self, name: str, path: dict[str, str], query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        q1 = {k: v[0] for k, v in query.items()}
        cal = self.calendar(path.get("calendarId", "primary")) if "calendarId" in path else None
        if name == "events.list":
            assert cal is not None
            return 200, self._list(cal, q1, query)
        if name == "events.get":
            assert cal is not None
            return 200, self._public(self._get(cal, path["eventId"]))
        if name == "events.insert":
            assert cal is not None
            return 200, self._public(self._insert(cal, body, by_client=True))
        if name == "events.patch":
            assert cal is not None
            return 200, self._public(self._patch(cal, path["eventId"], body, query))
        if name == "events.delete":
            assert cal is not None
            self._delete(cal, path["eventId"])
            return 204, None
        if name == "events.instances":
            assert cal is not None
            return 200, self._instances(cal, path["eventId"], q1)
        raise Invalid(f"{name} is not implemented by the test server", "notImplemented", 501)

    def _page(self, items: list[dict[str, Any]], q1: dict[str, str], seq: int, extra: dict[str, Any]) -> dict[str, Any]:
        fingerprint = hashlib.sha1(json.dumps({k: v for k, v in q1.items() if k != "pageToken"},
                                              sort_keys=True).encode()).hexdigest()[:12]
        offset = 0
        if "pageToken" in q1:
            try:
                tok = _unb64(q1["pageToken"])
                offset, seq = int(tok["o"]), int(tok["s"])
                if tok["f"] != fingerprint:
                    raise Invalid("The page token was issued for a different query.", "invalid")
            except (ValueError, KeyError, TypeError):
                raise Invalid("Invalid page token.", "invalid") from None
        size = int(q1.get("maxResults", 250))
        size = min(size, 2500)
        chunk = items[offset:offset + size]
        resp: dict[str, Any] = {"kind": "calendar#events", "etag": f'"{seq:016d}"', "summary": self.account,
                                "updated": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                                "timeZone": self.tz.key, "accessRole": self.access_role, "defaultReminders": [],
                                "items": [self._public(e) for e in chunk], **extra}
        if offset + size < len(items):
            resp["nextPageToken"] = _b64({"o": offset + size, "s": seq, "f": fingerprint})
        else:
            resp["nextSyncToken"] = _b64({"seq": seq, "g": self.token_generation, "single": q1.get("singleEvents")})
        return resp

    def _list(self, cal: Calendar, q1: dict[str, str], query: dict[str, list[str]]) -> dict[str, Any]:
        single = q1.get("singleEvents") == "true"
        if q1.get("orderBy") == "startTime" and not single:
            raise Invalid("The requested ordering is not available for the particular query.", "badRequest")
        since = None
        seq = self.seq
        if "syncToken" in q1:
            bad = [p for p in ("iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty",
                               "timeMin", "timeMax", "updatedMin") if p in q1]
            if bad:
                raise Invalid(f"Sync token cannot be combined with {', '.join(bad)}.", "invalid")
            try:
                tok = _unb64(q1["syncToken"])
                since = int(tok["seq"])
                gen = int(tok["g"])
            except (ValueError, KeyError, TypeError):
                raise Invalid("Invalid sync token value.", "invalid") from None
            if gen != self.token_generation:
                raise Invalid("Sync token is no longer valid, a full sync is required.", "fullSyncRequired", 410)
            if tok.get("single") != q1.get("singleEvents"):
                raise Invalid("Sync token was issued for a different query.", "invalid")
        lo = parse_rfc3339(q1["timeMin"]) if "timeMin" in q1 else None
        hi = parse_rfc3339(q1["timeMax"]) if "timeMax" in q1 else None
        if lo and hi and lo >= hi:
            raise Invalid("The specified time range is empty.", "timeRangeEmpty")
        deleted = since is not None or q1.get("showDeleted") == "true"
        if single:
            items = self._expand_all(cal, lo, hi, deleted, since)
        else:
            items = self._masters(cal, lo, hi, deleted, since)
        for cond in query.get("privateExtendedProperty", []):
            k, _, v = cond.partition("=")
            items = [e for e in items if ((e.get("extendedProperties") or {}).get("private") or {}).get(k) == v]
        if "iCalUID" in q1:
            items = [e for e in items if e.get("iCalUID") == q1["iCalUID"]]
        if "eventTypes" in query:
            items = [e for e in items if e.get("eventType", "default") in query["eventTypes"]]
        return self._page(items, q1, seq, {})

    def _instances(self, cal: Calendar, eid: str, q1: dict[str, str]) -> dict[str, Any]:
        master = cal.events.get(eid)
        if master is None or master.get("status") == "cancelled":
            raise Invalid("Not Found", "notFound", 404)
        lo = parse_rfc3339(q1["timeMin"]) if "timeMin" in q1 else None
        hi = parse_rfc3339(q1["timeMax"]) if "timeMax" in q1 else None
        items = []
        for inst in self._series_instances(master, eid, None, hi):
            item = cal.overrides.get(inst["id"], inst)
            if item.get("status") == "cancelled" and q1.get("showDeleted") != "true":
                continue
            if not self._in_range(item, lo, hi):
                continue
            if "originalStart" in q1 and parse_rfc3339(q1["originalStart"]) != self._when(item["originalStartTime"]):
                continue
            items.append(item)
        return self._page(items, q1, self.seq, {})


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Google's patch: given fields replace, nested objects merge, arrays replace, null clears."""
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict) and isinstance(target.get(k), dict):
            _merge(target[k], v)
        else:
            target[k] = copy.deepcopy(v)


def error_body(status: int, reason: str, message: str) -> dict[str, Any]:
    statuses = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                409: "ALREADY_EXISTS", 410: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                501: "UNIMPLEMENTED", 503: "UNAVAILABLE"}
    return {"error": {"code": status, "message": message,
                      "errors": [{"domain": "global" if status != 403 else "usageLimits", "reason": reason,
                                  "message": message}],
                      "status": statuses.get(status, "UNKNOWN")}}


_FAULT_MESSAGES = {429: ("rateLimitExceeded", "Rate Limit Exceeded"), 500: ("backendError", "Backend Error"),
                   503: ("backendError", "Service unavailable"),
                   410: ("fullSyncRequired", "Sync token is no longer valid, a full sync is required."),
                   403: ("rateLimitExceeded", "Rate Limit Exceeded")}


class _Handler(BaseHTTPRequestHandler):
    owner: FakeGoogle
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        try:
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _any(self) -> None:
        fake = self.owner
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        rec = Recorded("?", self.command, url.path, query, None)
        with fake.lock:
            fake.requests.append(rec)
            fault = fake.faults.pop(0) if fake.faults else None
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.status:
            reason, msg = _FAULT_MESSAGES.get(fault.status, ("backendError", "Error"))
            rec.status = fault.status
            return self._send(fault.status, error_body(fault.status, fault.reason or reason, msg))
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in fake.access_tokens:
            rec.status = 401
            return self._send(401, error_body(401, "authError", "Request had invalid authentication credentials."))
        try:
            name, params, method = fake.discovery.route(self.command, url.path)
            rec.method = name
            fake.discovery.check_query(method, query)
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise Invalid("Invalid JSON payload received.", "parseError") from None
            rec.body = body
            if "request" in method:
                if not isinstance(body, dict):
                    raise Invalid("A request body is required.", "required")
                fake.discovery.check_body(body, method["request"], "resource")
            elif raw:
                raise Invalid(f"{name} takes no request body.", "badRequest")
            with fake.lock:
                status, out = fake.handle(name, params, query, copy.deepcopy(body))
        except Invalid as e:
            rec.status = e.status
            if e.status == 400:
                fake.rejections.append(rec)
            return self._send(e.status, error_body(e.status, e.reason, e.message))
        rec.status = status
        self._send(status, out)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any


# --- OAuth: an authorization endpoint and a token endpoint (HTTPS, with a test CA) --------------------


class FakeOAuth:
    """Google's installed-app OAuth endpoints, over HTTPS with a trustme CA.

    ``auth_uri`` answers an authorization request with a redirect to the client's loopback
    ``redirect_uri`` (as if the user clicked Allow); ``token_uri`` exchanges codes (checking PKCE)
    and refresh tokens for access tokens that :class:`FakeGoogle` accepts.
    """

    def __init__(self, api: FakeGoogle, client_id: str = "test-client.apps.example", client_secret: str = "s3cret") -> None:
        import trustme

        self.api = api
        self.client_id = client_id
        self.client_secret = client_secret
        self.ca = trustme.CA()
        self.cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.codes: dict[str, dict[str, str]] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> scope
        self.revoked: set[str] = set()
        self.token_requests: list[dict[str, str]] = []
        self.server: ThreadingHTTPServer | None = None
        self.access_lifetime = 3600
        #: seconds a refresh token lives, told as refresh_token_expires_in (an app in Testing mode: 7 days)
        self.refresh_token_lifetime: int | None = None

    def start(self, ca_file: Path) -> FakeOAuth:
        oauth = self

        class Handler(_OAuthHandler):
            owner = oauth

        self.server = serve_https(Handler, self.ca, self.cert, ca_file)
        self.ca_file = ca_file
        return self

    def stop(self) -> None:
        stop_server(self.server)

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"https://localhost:{self.server.server_address[1]}"

    @property
    def auth_uri(self) -> str:
        return self.base + "/o/oauth2/auth"

    @property
    def token_uri(self) -> str:
        return self.base + "/token"

    def client_secrets(self) -> dict[str, Any]:
        return {"installed": {"client_id": self.client_id, "client_secret": self.client_secret,
                              "auth_uri": self.auth_uri, "token_uri": self.token_uri,
                              "redirect_uris": ["http://localhost"]}}

    def grant(self, scope: str) -> tuple[str, str]:
        """A refresh token and an access token, as if the user had authorized earlier."""
        rt = "1//fake-refresh-" + secrets.token_urlsafe(12)
        self.refresh_tokens[rt] = scope
        return rt, self.api.issue_access_token()

    def revoke(self, refresh_token: str) -> None:
        self.revoked.add(refresh_token)

    def authorize(self, q: dict[str, str]) -> tuple[int, str]:
        """The consent screen, answered Allow: the redirect target (or an error)."""
        if q.get("client_id") != self.client_id:
            return 400, "invalid_client"
        redirect = q.get("redirect_uri", "")
        if not re.match(r"^http://(localhost|127\.0\.0\.1)(:\d+)?/?", redirect):
            return 400, "redirect_uri_mismatch"
        if q.get("response_type") != "code" or not q.get("scope"):
            return 400, "invalid_request"
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return 400, "invalid_request: PKCE S256 required"
        code = "4/fake-code-" + secrets.token_urlsafe(12)
        self.codes[code] = {"challenge": q["code_challenge"], "redirect_uri": redirect, "scope": q["scope"]}
        sep = "&" if "?" in redirect else "?"
        return 302, redirect + sep + urllib.parse.urlencode({"state": q.get("state", ""), "code": code,
                                                             "scope": q["scope"]})

    def _refresh_lifetime(self) -> dict[str, int]:
        return {"refresh_token_expires_in": self.refresh_token_lifetime} if self.refresh_token_lifetime else {}

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
        grant = form.get("grant_type")
        if grant == "authorization_code":
            info = self.codes.pop(form.get("code", ""), None)
            if info is None:
                return 400, {"error": "invalid_grant", "error_description": "Malformed auth code."}
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if challenge != info["challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "Invalid code verifier."}
            if form.get("redirect_uri") != info["redirect_uri"]:
                return 400, {"error": "redirect_uri_mismatch", "error_description": "Bad Request"}
            rt, at = self.grant(info["scope"])
            return 200, {"access_token": at, "expires_in": self.access_lifetime, "refresh_token": rt,
                         "scope": info["scope"], "token_type": "Bearer", **self._refresh_lifetime()}
        if grant == "refresh_token":
            rt = form.get("refresh_token", "")
            if rt not in self.refresh_tokens or rt in self.revoked:
                return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            return 200, {"access_token": self.api.issue_access_token(), "expires_in": self.access_lifetime,
                         "scope": self.refresh_tokens[rt], "token_type": "Bearer", **self._refresh_lifetime()}
        return 400, {"error": "unsupported_grant_type"}


class _OAuthHandler(BaseHTTPRequestHandler):
    owner: FakeOAuth
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/o/oauth2/auth":
            return self._reply(404, {}, b"not found")
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        status, target = self.owner.authorize(q)
        if status == 302:
            return self._reply(302, {"Location": target}, b"")
        return self._reply(status, {"Content-Type": "text/plain"}, target.encode())

    def do_POST(self) -> None:
        if urllib.parse.urlsplit(self.path).path != "/token":
            return self._reply(404, {}, b"not found")
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):  # client_secret_basic, as RFC 6749 prefers
            cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            form.setdefault("client_id", urllib.parse.unquote_plus(cid))
            form.setdefault("client_secret", urllib.parse.unquote_plus(secret))
        status, body = self.owner.token(form)
        self._reply(status, {"Content-Type": "application/json"}, json.dumps(body).encode())


# --- helpers for tests and the bench ------------------------------------------------------------------

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar.events"


def write_token_file(path: Path, oauth: FakeOAuth, expired: bool = False, scope: str = CALENDAR_SCOPE) -> str:
    """An authorized-user token file (what ``Credentials.to_json()`` writes). Returns its refresh token."""
    rt, at = oauth.grant(scope)
    expiry = datetime.now(UTC).replace(tzinfo=None) + (timedelta(hours=-1) if expired else timedelta(hours=1))
    path.write_text(json.dumps({
        "token": at, "refresh_token": rt, "token_uri": oauth.token_uri, "client_id": oauth.client_id,
        "client_secret": oauth.client_secret, "scopes": [scope], "universe_domain": "googleapis.com",
        "account": "", "expiry": expiry.isoformat(timespec="seconds") + "Z"}))
    path.chmod(0o600)
    return rt


def check_no_rejections(fake: FakeGoogle, expected: int = 0) -> None:
    """Fail the calling test when the discovery document rejected a request it did not expect."""
    import pytest

    if len(fake.rejections) != expected:
        lines = [f"{r.verb} {r.path} {r.query} {json.dumps(r.body)[:300]}" for r in fake.rejections]
        pytest.fail("the Calendar discovery document rejected requests:\n" + "\n".join(lines))
