"""The calendar behind the Graph stand-in (:mod:`fake_graph`): events, series, exceptions, delta views."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import secrets
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from boundaryd.calendars.graph_recur import iana_zone, rrule_of
from fake_graph_openapi import Invalid

UTC = timezone.utc
EXPAND_UNTIL = datetime(2027, 12, 31, tzinfo=UTC)
_PAGE = 10  # Graph's page size for delta when the client asks none


def _zone(name: str) -> ZoneInfo:
    z = iana_zone(name)
    if not z or (name not in ("UTC",) and z == name):  # an IANA name: Graph wants Windows names
        raise Invalid(f"TimeZoneNotSupportedException: A valid TimeZone value must be specified ({name!r}).",
                      "TimeZoneNotSupportedException")
    return ZoneInfo(z)


def when(v: dict[str, Any]) -> datetime:
    dt = datetime.fromisoformat(str(v["dateTime"])[:19])
    return dt.replace(tzinfo=_zone(str(v.get("timeZone") or "UTC")))


def out_time(dt: datetime, zone: str, utc: bool) -> dict[str, str]:
    if utc:
        return {"dateTime": dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}
    return {"dateTime": dt.astimezone(_zone(zone)).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone}


def stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


class Store:
    def __init__(self, account: str) -> None:
        self.account = account
        self.events: dict[str, dict[str, Any]] = {}  # single events and series masters
        self.overrides: dict[str, dict[str, Any]] = {}  # occurrence id -> changed fields
        self.cancelled: dict[str, set[str]] = {}  # master id -> occurrence ids deleted
        self.views: dict[str, dict[str, Any]] = {}  # delta token -> what the client saw
        self.pages: dict[str, dict[str, Any]] = {}
        self.generation = 0
        self.notifications: list[dict[str, Any]] = []
        self.seq = 0

    # -- writing
    def _check(self, ev: dict[str, Any]) -> None:
        for k in ("start", "end"):
            if not isinstance(ev.get(k), dict) or not ev[k].get("dateTime"):
                raise Invalid(f"Your request can't be completed. The {k} time is missing.", "ErrorInvalidRequest")
        s, e = when(ev["start"]), when(ev["end"])
        if e < s:
            raise Invalid("The end time must be after the start time.", "ErrorInvalidRequest")
        if ev.get("isAllDay") and (s.time() != datetime.min.time() or e.time() != datetime.min.time()):
            raise Invalid("An all-day event must start and end at midnight.", "ErrorInvalidRequest")
        rec = ev.get("recurrence")
        if rec:
            if rec["range"].get("startDate") != s.date().isoformat():
                raise Invalid("The recurrence range start date must be the event's start date.", "ErrorInvalidRequest")
            rrule_of(rec)

    def create(self, body: dict[str, Any], organizer: dict[str, Any] | None = None) -> dict[str, Any]:
        tx = body.get("transactionId")
        if tx:
            for ev in self.events.values():
                if ev.get("transactionId") == tx:
                    return ev  # a retried create: the event it made
        self._check(body)
        eid = "AAMkAGI" + secrets.token_hex(16)
        ev = {"id": eid, "iCalUId": "040000008200E00074C5B7101A82E008" + secrets.token_hex(16).upper(),
              "categories": [], "showAs": "busy", "isCancelled": False, "sensitivity": "normal", **body}
        ev["id"] = eid
        ev["type"] = "seriesMaster" if ev.get("recurrence") else "singleInstance"
        ev["originalStartTimeZone"] = ev["start"].get("timeZone")
        ev["organizer"] = organizer or {"emailAddress": {"address": self.account, "name": "Alice"}}
        mine = ev["organizer"]["emailAddress"]["address"].lower() == self.account
        ev["isOrganizer"] = mine
        ev.setdefault("responseStatus", {"response": "organizer" if mine else "notResponded",
                                         "time": "0001-01-01T00:00:00Z"})
        self._bump(ev)
        self.events[eid] = ev
        return ev

    def _bump(self, ev: dict[str, Any]) -> None:
        self.seq += 1
        ev["changeKey"] = f"ck{self.seq}"

    def etag(self, eid: str) -> str:
        """The event's (or occurrence's) etag as Graph gives it: ``W/"<changeKey>"``."""
        return f'W/"{self.get(eid)["changeKey"]}"'

    def check_if_match(self, eid: str, if_match: str | None) -> None:
        """A conditional write: 412 when the etag sent is not the event's now (Exchange's answer)."""
        if if_match is None or if_match.strip() == "*":
            self._split(eid)
            return
        if not re.fullmatch(r'(W/)?"[^"]*"', if_match.strip()):
            raise Invalid(f"The If-Match header {if_match!r} is not an entity tag.", "BadRequest", 400)
        if if_match.strip() != self.etag(eid):
            raise Invalid("The change key passed in the request does not match the current change key for the item.",
                          "ErrorIrresolvableConflict", 412)

    def _split(self, eid: str) -> tuple[dict[str, Any], str | None]:
        if eid in self.events:
            return self.events[eid], None
        mid, sep, _ = eid.rpartition("_")
        if sep and mid in self.events and eid not in self.cancelled.get(mid, set()):
            if any(i["id"] == eid for i in self.instances(self.events[mid], None, None)):
                return self.events[mid], eid
        raise Invalid("The specified object was not found in the store.", "ErrorItemNotFound", 404)

    def patch(self, eid: str, body: dict[str, Any]) -> dict[str, Any]:
        master, inst = self._split(eid)
        if inst is None:
            new = {**master, **body}
            self._check(new)
            self.events[eid] = new
            self._bump(new)
            return new
        self.overrides.setdefault(inst, {}).update(body)
        self._bump(self.overrides[inst])  # an exception now, with a change key of its own
        return self.get(eid)

    def delete(self, eid: str) -> None:
        master, inst = self._split(eid)
        if inst is None:
            self.events.pop(eid)
        else:
            self.cancelled.setdefault(master["id"], set()).add(inst)

    def respond(self, eid: str, action: str, body: dict[str, Any]) -> None:
        master, inst = self._split(eid)
        target = self.get(eid)
        if target.get("isOrganizer"):
            raise Invalid("Your request can't be completed. You can't respond to a meeting you organized.", "ErrorInvalidRequest")
        response = {"accept": "accepted", "decline": "declined", "tentativelyAccept": "tentativelyAccepted"}[action]
        rs = {"response": response, "time": "2026-11-23T12:00:00Z"}
        if inst is None:
            master["responseStatus"] = rs
            for iid in [k for k in self.overrides if k.startswith(eid + "_")]:
                self.overrides[iid].pop("responseStatus", None)
            self._bump(master)
        else:
            self.overrides.setdefault(inst, {})["responseStatus"] = rs
            self._bump(self.overrides[inst])
        self.notifications.append({"action": action, "event": eid, "subject": target.get("subject"),
                                   "organizer": target["organizer"]["emailAddress"]["address"],
                                   "comment": body.get("Comment"), "sendResponse": body.get("SendResponse"),
                                   "proposedNewTime": body.get("ProposedNewTime")})

    # -- reading
    def instances(self, master: dict[str, Any], lo: datetime | None, hi: datetime | None) -> list[dict[str, Any]]:
        s0, e0 = when(master["start"]), when(master["end"])
        zone = s0.tzinfo
        rule = rrulestr(rrule_of(master["recurrence"]), dtstart=s0.replace(tzinfo=None), ignoretz=True)
        out = []
        gone = self.cancelled.get(master["id"], set())
        for dt in rule.between(s0.replace(tzinfo=None), EXPAND_UNTIL.replace(tzinfo=None), inc=True):
            s = dt.replace(tzinfo=zone)
            iid = f"{master['id']}_{stamp(s)}"
            if iid in gone:
                continue
            inst = {k: copy.deepcopy(v) for k, v in master.items() if k not in ("recurrence", "id", "iCalUId")}
            inst.update(id=iid, type="occurrence", seriesMasterId=master["id"], iCalUId=f"{master['iCalUId']}{stamp(s)}",
                        originalStart=s.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
            inst["start"] = {"dateTime": s.replace(tzinfo=None).isoformat(), "timeZone": master["start"]["timeZone"]}
            inst["end"] = {"dateTime": (s + (e0 - s0)).replace(tzinfo=None).isoformat(), "timeZone": master["end"]["timeZone"]}
            if iid in self.overrides:
                inst.update(copy.deepcopy(self.overrides[iid]))
                inst["type"] = "exception"
                if "changeKey" in self.overrides[iid]:  # changes with the series and with the exception
                    inst["changeKey"] = f"{master['changeKey']}.{self.overrides[iid]['changeKey']}"
            if lo is not None and hi is not None and not (when(inst["end"]) > lo and when(inst["start"]) < hi):
                continue
            out.append(inst)
        return out

    def get(self, eid: str) -> dict[str, Any]:
        master, inst = self._split(eid)
        if inst is None:
            return master
        return next(i for i in self.instances(master, None, None) if i["id"] == inst)

    def view(self, lo: datetime, hi: datetime) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for ev in self.events.values():
            if ev.get("recurrence"):
                for inst in self.instances(ev, lo, hi):
                    out[inst["id"]] = inst
                continue
            try:
                inside = when(ev["end"]) > lo and when(ev["start"]) < hi
            except (ValueError, KeyError, Invalid):  # a corrupt record: listed, for the client to cope with
                inside = True
            if inside:
                out[ev["id"]] = ev
        return out

    def public(self, ev: dict[str, Any], utc: bool, expand: str = "", select: str = "") -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in ev.items() if k not in ("singleValueExtendedProperties", "transactionId")}
        if ev.get("changeKey"):
            out["@odata.etag"] = f'W/"{ev["changeKey"]}"'
        try:
            for k in ("start", "end"):
                out[k] = out_time(when(ev[k]), ev[k]["timeZone"], utc)
        except (ValueError, KeyError, Invalid):
            pass
        if expand.startswith("singleValueExtendedProperties"):
            wanted = set(re.findall(r"id eq '([^']+)'", expand))
            out["singleValueExtendedProperties"] = [p for p in ev.get("singleValueExtendedProperties") or []
                                                    if not wanted or p["id"] in wanted]
        if select:
            keep = set(select.split(",")) | {"id", "singleValueExtendedProperties", "@odata.etag"}
            out = {k: v for k, v in out.items() if k in keep}
        return out

    # -- requests
    def handle(self, verb: str, template: str, params: dict[str, str], q: dict[str, str], body: Any, utc: bool,
               page: int | None, link: str, if_match: str | None = None) -> tuple[int, Any]:
        eid = params.get("event_id", "")
        if template.endswith("delta()"):
            return 200, self._delta(q, utc, page or _PAGE, link)
        if template.endswith("/calendars"):
            return 200, {"value": [{"id": "AAMkCal" + "0" * 40, "name": "Calendar"}]}
        if template.endswith("/instances"):
            master, _ = self._split(eid)
            lo, hi = _range(q)
            return 200, {"value": [self.public(i, utc, select=q.get("$select", "")) for i in self.instances(master, lo, hi)]}
        if template.endswith("/calendarView"):
            lo, hi = _range(q)
            return 200, {"value": [self.public(e, utc) for e in self.view(lo, hi).values()]}
        for action in ("accept", "decline", "tentativelyAccept"):
            if template.endswith("/" + action):
                self.respond(eid, action, body)
                return 202, None
        if template.endswith("/events") and verb == "POST":
            return 201, self.public(self.create(body), utc)
        if template.endswith("{event-id}"):
            if verb == "GET":
                return 200, self.public(self.get(eid), utc, q.get("$expand", ""), q.get("$select", ""))
            if verb == "PATCH":
                self.check_if_match(eid, if_match)
                return 200, self.public(self.patch(eid, body), utc)
            if verb == "DELETE":
                self.check_if_match(eid, if_match)
                self.delete(eid)
                return 204, None
        raise Invalid(f"{verb} {template} is not implemented by the stand-in", "NotImplemented", 501)

    def _delta(self, q: dict[str, str], utc: bool, size: int, link: str) -> dict[str, Any]:
        if "$skiptoken" in q:
            st = self.pages.pop(q["$skiptoken"], None)
            if st is None:
                raise Invalid("The skip token is not valid.", "BadRequest", 400)
            items, token = st["items"], st["token"]
        else:
            if "$deltatoken" in q:
                old = self.views.get(q["$deltatoken"])
                if old is None or old["generation"] != self.generation:
                    raise Invalid("The sync state is not found; a full resync is required.", "SyncStateNotFound", 410)
                lo, hi = old["lo"], old["hi"]
            else:
                old = None
                lo, hi = _range(q)
            current = {k: self.public(v, utc) for k, v in self.view(lo, hi).items()}
            seen = {k: _digest(v) for k, v in current.items()}
            if old is None:
                items = list(current.values())
            else:
                items = [v for k, v in current.items() if old["seen"].get(k) != seen[k]]
                items += [{"id": k, "@removed": {"reason": "deleted"}} for k in old["seen"] if k not in current]
            token = secrets.token_urlsafe(12)
            self.views[token] = {"lo": lo, "hi": hi, "seen": seen, "generation": self.generation}
        resp: dict[str, Any] = {"value": items[:size]}
        if len(items) > size:
            skip = secrets.token_urlsafe(12)
            self.pages[skip] = {"items": items[size:], "token": token}
            resp["@odata.nextLink"] = f"{link}?$skiptoken={skip}"
        else:
            resp["@odata.deltaLink"] = f"{link}?$deltatoken={token}"
        return resp


def _digest(v: Any) -> str:
    return hashlib.sha1(json.dumps(v, sort_keys=True).encode()).hexdigest()


def _range(q: dict[str, str]) -> tuple[datetime, datetime]:
    try:
        lo = datetime.fromisoformat(q["startDateTime"].replace("Z", "+00:00"))
        hi = datetime.fromisoformat(q["endDateTime"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise Invalid("startDateTime and endDateTime must be ISO 8601 date-times.", "ErrorInvalidParameter") from None
    if lo.tzinfo is None or hi.tzinfo is None:
        raise Invalid("startDateTime and endDateTime need an offset.", "ErrorInvalidParameter")
    return lo, hi

