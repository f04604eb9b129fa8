"""Reading a CalDAV collection with as few requests as the server allows.

A cycle with nothing new costs one request: a sync-collection REPORT (RFC 6578) with the token
from the last cycle, asking for ETags and calendar data of whatever changed. The resources read
so far, their ETags and the token are kept together in the journal (one JSON value under
``caldav:<hash of the URL>``), so they never disagree. A server without sync-collection gets a
PROPFIND of the collection's ETags instead, and a calendar-multiget of what changed: still one
request when nothing did, two when something did.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from boundaryd.calendars.base import SyncState
from boundaryd.calendars.caldav_http import DavHttp, Refused
from boundaryd.calendars.caldav_xml import (
    MULTIGET_BODY,
    PROPFIND_BODY,
    SYNC_BODY,
    Resource,
    parse_multistatus,
    raw,
    xml_escape,
)
from boundaryd.errors import BadInput, RuntimeFailure

#: answers to a REPORT with an old token that mean "the token is no longer valid" (RFC 6578 3.2
#: says 403 valid-sync-token; Xandikos says 412, others 400, 409 or 410)
EXPIRED_TOKEN = (400, 403, 409, 410, 412)


#: what was last loaded from the journal, by key: (a hash of the journal's text, the state), so an
#: unchanged collection is not rebuilt from JSON every cycle (the daemon makes a new reader each cycle)
_loaded: dict[str, tuple[bytes, tuple[str, dict[str, Resource], bool | None, bool]]] = {}


class CollectionReader:
    """The collection's resources by href, with the sync token (or ETags) that keeps them fresh."""

    def __init__(self, http: DavHttp, url: str, state: SyncState | None) -> None:
        self.http = http
        self.url = url
        self.state = state
        self.key = "caldav:" + hashlib.sha256(url.encode()).hexdigest()[:16]
        self.items: dict[str, Resource] = {}
        self.token = ""
        self.by_etags = False  # the server has no sync-collection: list ETags with PROPFIND
        self.scheduling: bool | None = None  # the connect-time answer, remembered

    def load(self) -> None:
        raw_state = self.state.get(self.key) if self.state is not None else None
        if raw_state:
            digest = hashlib.blake2b(raw_state.encode("utf-8", "surrogatepass"), digest_size=16).digest()
            last = _loaded.get(self.key)
            if last is not None and last[0] == digest:
                self.token, items, self.scheduling, self.by_etags = last[1]
                self.items = dict(items)
                return
            try:
                saved = json.loads(raw_state)
                self.token = saved.get("token", "")
                self.items = {h: Resource(v["etag"], v["data"]) for h, v in saved.get("items", {}).items()}
                self.scheduling = saved.get("scheduling")
                self.by_etags = saved.get("mode") == "etags"
                _loaded[self.key] = (digest, (self.token, dict(self.items), self.scheduling, self.by_etags))
                return
            except (ValueError, KeyError, TypeError):
                pass
        self.token, self.items, self.scheduling, self.by_etags = "", {}, None, False

    def save(self) -> None:
        if self.state is None:
            return
        blob = {
            "token": self.token,
            "scheduling": self.scheduling,
            "mode": "etags" if self.by_etags else "sync-collection",
            "items": {h: {"etag": r.etag, "data": r.data} for h, r in sorted(self.items.items())},
        }
        self.state.set(self.key, json.dumps(blob, sort_keys=True))

    def _sync_report(self, token: str) -> Any:
        """The sync-collection REPORT, or None when the server refuses it (401 is raised)."""
        try:
            return self.http.request(
                "REPORT",
                self.url,
                SYNC_BODY.format(token=xml_escape(token)),
                {"Depth": "0"},  # RFC 6578 3.2: Depth 0; the depth is sync-level
                refused_ok=True,
                not_implemented_ok=True,
            )
        except Refused as e:
            if e.args and e.args[0] == "401":
                raise RuntimeFailure(self.http.bad_credentials) from None
            return None

    def sync(self) -> bool:
        """Bring the cache up to date. Returns whether anything changed."""
        if self.by_etags:
            return self._sync_by_etags()
        resp = self._sync_report(self.token)
        if self.token and (resp is None or resp.status in EXPIRED_TOKEN):
            self.token, self.items = "", {}  # read everything again
            resp = self._sync_report("")
        if resp is not None and resp.status == 404:
            raise BadInput(f"caldav {self.url}: no calendar at this URL (check the calendar's URL)")
        if resp is None or resp.status in (400, 403, 405, 415, 501):
            # no sync-collection here (or not on this collection): compare ETags instead
            self.token, self.items, self.by_etags = "", {}, True
            self._sync_by_etags()
            return True
        if resp.status not in (200, 207):
            raise RuntimeFailure(f"caldav {self.url}: the server answered {resp.status} to REPORT sync-collection")
        token, changed, gone = parse_multistatus(raw(resp))
        missing = [h for h, r in changed.items() if r.data == ""]
        if missing:  # a server that lists changes without their data: fetch them in one more request
            changed.update(self.multiget(missing))
        for h in gone:
            self.items.pop(h, None)
        self.items.update({h: r for h, r in changed.items() if r.data})
        dirty = bool(changed or gone or token != self.token)
        self.token = token or self.token
        return dirty

    def _sync_by_etags(self) -> bool:
        """PROPFIND the collection's ETags; fetch what is new or changed in one multiget."""
        resp = self.http.request("PROPFIND", self.url, PROPFIND_BODY, {"Depth": "1"})
        if resp.status == 404:
            raise BadInput(f"caldav {self.url}: no calendar at this URL (check the calendar's URL)")
        if resp.status not in (200, 207):
            raise RuntimeFailure(f"caldav {self.url}: the server answered {resp.status} to PROPFIND")
        _, listed, _ = parse_multistatus(raw(resp))
        etags = {h: r.etag for h, r in listed.items() if h.endswith(".ics") or r.etag}
        changed = [h for h, e in etags.items() if h not in self.items or not e or self.items[h].etag != e]
        gone = [h for h in self.items if h not in etags]
        for h in gone:
            del self.items[h]
        if changed:
            self.items.update({h: r for h, r in self.multiget(changed).items() if r.data})
        return bool(changed or gone)

    def multiget(self, hrefs: list[str]) -> dict[str, Resource]:
        body = MULTIGET_BODY.format(hrefs="".join(f"<d:href>{xml_escape(h)}</d:href>" for h in hrefs))
        resp = self.http.request("REPORT", self.url, body, {"Depth": "1"})
        if resp.status not in (200, 207):
            raise RuntimeFailure(f"caldav {self.url}: the server answered {resp.status} to REPORT calendar-multiget")
        _, found, _ = parse_multistatus(raw(resp))
        return found
