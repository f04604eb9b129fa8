"""Reading a Microsoft calendar: one ``calendarView/delta`` of the window (plus a margin), paged,
then the changes since the delta link kept in the journal, applied to a local cache of the events,
so a calendar that did not change costs one request. ``410`` means a full read again.

calendarView lists single events, occurrences and exceptions, never series masters. Graph gives
each occurrence an ``iCalUId`` of its own, so the series' UID (and, for boundaryd's own series, the
extended properties) come from the master: read once per series, again only when one of its
occurrences changed. boundaryd's single events (holds, make-up, mirrors) carry the category
"boundaryd"; their properties are read when they change. What boundaryd wrote itself is not read
back: :mod:`graph_written` remembers it (the cycle after a write costs the delta alone).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from boundaryd.calendars import graph_written, jsoncache
from boundaryd.calendars.graph_events import EXPAND, OWNED_CATEGORY, etag_of, occurrence, props_of, utc_text
from boundaryd.calendars.graph_http import PAGE_SIZE, FullSyncRequired, Gone, GraphApi
from boundaryd.core.model import Capabilities, Occurrence, OwnedEvent, Skipped, Snapshot

if TYPE_CHECKING:
    from boundaryd.calendars.base import SyncState


#: how far past the asked window the full read goes, so the window can slide for a week on one link
MARGIN = timedelta(days=7)
#: single events written over a horizon (a rule Graph cannot express) are reported stale this long
#: before the horizon ends, so the planner writes the next stretch in time
REFILL = timedelta(days=28)
_KEEP = ("id", "iCalUId", "type", "seriesMasterId", "originalStart", "subject", "body", "start", "end", "isAllDay",
         "isCancelled", "showAs", "responseStatus", "organizer", "attendees", "categories", "isOrganizer",
         "originalStartTimeZone", "@odata.etag", "changeKey")


def slim(e: dict[str, Any]) -> dict[str, Any]:
    out = {k: e[k] for k in _KEEP if k in e}
    body = out.get("body") or {}
    if body.get("contentType") != "text":
        out.pop("body", None)
    return out


class GraphReader(jsoncache.TokenCached, GraphApi):
    """The reading half of :class:`GraphBackend` (a base class: its attributes are set there)."""

    PROVIDER, PROVIDER_KEY, TOKEN_FIELD, TOKEN_STATE = "Microsoft", "microsoft", "delta", "delta"

    calendar: str
    cache_file: Path
    owner_emails: tuple[str, ...]
    sync_state: SyncState | None
    capabilities: Capabilities
    _cache: dict[str, Any] | None
    _index: dict[tuple[str, str], dict[str, Any]]
    _owned_ids: dict[str, set[str]]
    _owned_fp: dict[str, str]
    _window: tuple[datetime, datetime] | None

    def connect(self) -> Capabilities:
        raise NotImplementedError

    def _base(self) -> str:
        raise NotImplementedError

    def _calendar_key(self) -> str:
        return self.calendar

    def _extras(self, data: dict[str, Any], changed: list[dict[str, Any]]) -> None:
        """The series' UIDs and our properties, for what changed (or was never read)."""
        masters: dict[str, Any] = data["masters"]
        owned: dict[str, Any] = data["owned"]
        written: dict[str, Any] = data.get("written") or {}
        used: set[str] = set()
        fetch = {e["seriesMasterId"] for e in changed if e.get("seriesMasterId")}
        fetch |= {e["seriesMasterId"] for e in data["events"].values() if e.get("seriesMasterId") and e["seriesMasterId"] not in masters}
        for mid in sorted(fetch):
            if graph_written.take_master(written, masters, mid):  # we wrote it, or only answered it
                used.add(mid)
                continue
            try:
                m = self._call("series", "GET", f"{self._base()}/events/{mid}", {"$select": "iCalUId", "$expand": EXPAND})
            except Gone:  # deleted since: its occurrences go in the same or the next delta
                continue
            if m is not None:
                masters[mid] = {"uid": m.get("iCalUId") or mid, "props": props_of(m)}
        for e in changed:
            if e.get("seriesMasterId") or OWNED_CATEGORY not in (e.get("categories") or ()):
                owned.pop(e["id"], None)
                continue
            if graph_written.take_single(written, owned, e["id"]):  # we wrote it: its properties are ours
                used.add(e["id"])
                continue
            try:
                m = self._call("event", "GET", f"{self._base()}/events/{e['id']}", {"$select": "id", "$expand": EXPAND})
            except Gone:
                continue
            owned[e["id"]] = props_of(m or {})
        live = {e.get("seriesMasterId") for e in data["events"].values()}
        for mid in [k for k in masters if k not in live]:
            masters.pop(mid)
        data["written"] = graph_written.aged(written, used)

    def _full_read(self, start: datetime, end: datetime) -> dict[str, Any]:
        lo, hi = start, end + MARGIN
        items, link = self._pages("delta", f"{self._base()}/calendarView/delta",
                                  {"startDateTime": utc_text(lo), "endDateTime": utc_text(hi)})
        events = {e["id"]: slim(e) for e in items if "@removed" not in e}
        before = self._cache if self._cache is not None and self._cache.get("calendar") == self.calendar else {}
        data: dict[str, Any] = {"v": 1, "calendar": self.calendar, "delta": link, "window": [lo.isoformat(), hi.isoformat()],
                                "events": events, "masters": {}, "owned": {}, "written": dict(before.get("written") or {})}
        self._extras(data, list(events.values()))
        self._save_cache(data)
        return data

    def _incremental(self, data: dict[str, Any]) -> dict[str, Any]:
        items, link = self._pages("delta", data["delta"], None)
        if not items:
            return self._quiet(data, link)
        events: dict[str, Any] = dict(data["events"])
        changed = []
        owned = dict(data["owned"])
        for e in items:
            if "@removed" in e:
                events.pop(e.get("id", ""), None)
                owned.pop(e.get("id", ""), None)
                continue
            events[e["id"]] = slim(e)
            changed.append(events[e["id"]])
        new = dict(data, delta=link, events=events, masters=dict(data["masters"]), owned=owned)
        self._extras(new, changed)
        self._save_cache(new)
        return new

    def snapshot(self, start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        self.connect()
        self._cycle_deadline = self._monotonic() + self.retry.budget
        self._window = (start, end)
        told = f"{self.name}: Microsoft Graph asked for a full read"
        data = jsoncache.current(self._load_cache(), start, end, self._full_read, self._incremental, FullSyncRequired, told)
        return self._build(data, start, end, tz)

    def history(self, start: datetime, end: datetime, tz: ZoneInfo) -> list[Occurrence]:
        """The past (``leads``): a plain ``calendarView`` of ``[start, end)``, page by page; the delta
        link and the cache of the window stay as they are."""
        self.connect()
        self._cycle_deadline = self._monotonic() + self.retry.budget
        url: str = f"{self._base()}/calendarView"
        query: dict[str, str] | None = {"startDateTime": utc_text(start), "endDateTime": utc_text(end)}
        items: list[dict[str, Any]] = []
        while True:
            resp = self._call("history", "GET", url, query, page_size=PAGE_SIZE) or {}
            items += resp.get("value") or []
            if not resp.get("@odata.nextLink"):
                break
            url, query = resp["@odata.nextLink"], None
        uids: dict[str, str] = {}  # a series' occurrences each have their own iCalUId: the series' is the master's
        for mid in sorted({e["seriesMasterId"] for e in items if e.get("seriesMasterId")}):
            try:
                m = self._call("series", "GET", f"{self._base()}/events/{mid}", {"$select": "iCalUId"})
            except Gone:
                continue
            uids[mid] = str((m or {}).get("iCalUId") or mid)
        out: list[Occurrence] = []
        for e in items:
            uid = uids.get(e.get("seriesMasterId") or "") or e.get("iCalUId") or e.get("id", "")
            try:
                occ = occurrence(slim(e), tz, self.owner_emails, uid, {})
            except (KeyError, ValueError, TypeError):
                continue
            if occ.status != "CANCELLED" and OWNED_CATEGORY not in (e.get("categories") or ()) and start <= occ.start < end:
                out.append(occ)
        return out

    def _built(self, e: dict[str, Any], tz: ZoneInfo, uid: str, props: dict[str, str]) -> Occurrence | Skipped:
        """One cached event's occurrence, or why it cannot be read."""
        try:
            return occurrence(e, tz, self.owner_emails, uid, props)
        except (KeyError, ValueError, TypeError) as err:
            return Skipped(uid=str(uid)[:200], reason=f"unreadable Microsoft event ({err})")

    def _prepare(self, data: dict[str, Any], tz: ZoneInfo) -> tuple[Any, ...]:
        """What the cache ``data`` says, window aside: per readable event (in the cache's order) its
        occurrence, id, master, etag and categories; the unreadable ones; boundaryd's events (uid,
        block, stored hash) and their Graph ids and hashes. Made once per version of the cache, each
        event built once per version of it and of its series' UID and properties."""
        kept = jsoncache.built(self.cache_file, (tz, self.owner_emails))
        if kept.data is data:
            return kept.prepared  # type: ignore[no-any-return]
        rows: list[tuple[Any, ...]] = []
        skipped: list[Skipped] = []
        owned: dict[str, tuple[str, str]] = {}
        owned_ids: dict[str, set[str]] = {}
        owned_fp: dict[str, str] = {}
        for eid, e in data["events"].items():
            mid = e.get("seriesMasterId")
            master = data["masters"].get(mid, {}) if mid else {}
            props = master.get("props", {}) if mid else data["owned"].get(e["id"], {})
            uid = master.get("uid") or e.get("iCalUId") or e["id"]
            if props.get("block"):
                ouid = props.get("uid") or uid
                owned_ids.setdefault(ouid, set()).add(mid or e["id"])
                owned_fp[ouid] = props.get("hash", "")
                owned.setdefault(ouid, (props["block"], props.get("hash", "")))
            made = kept.events.get(eid)
            if made is None or made[0] is not e or made[1] != uid or made[2] != props:
                made = kept.events[eid] = (e, uid, props, self._built(e, tz, uid, props))
            if isinstance(made[3], Skipped):
                skipped.append(made[3])
            else:
                rows.append((made[3], e["id"], mid, etag_of(e), tuple(str(c) for c in e.get("categories") or ())))
        kept.prune(data["events"])
        kept.data, kept.prepared = data, (rows, tuple(skipped), owned, owned_ids, owned_fp)
        return kept.prepared  # type: ignore[no-any-return]

    def _build(self, data: dict[str, Any], start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        rows, skipped, stored, owned_ids, owned_fp = self._prepare(data, tz)
        self._owned_ids = {uid: set(ids) for uid, ids in owned_ids.items()}
        self._owned_fp = dict(owned_fp)
        owned: list[OwnedEvent] = []
        for ouid, (block, stored_hash) in stored.items():
            fp, _, extra = stored_hash.partition(".")
            if extra.startswith("until-") and extra[6:] < (end + REFILL).date().isoformat():
                fp += ".stale"  # single events over a horizon the window nears: the planner writes more
            owned.append(OwnedEvent(uid=ouid, block=block, fingerprint=fp))
        self._index = {}
        occs: list[Occurrence] = []
        for occ, eid, mid, etag, categories in rows:
            if start <= occ.start < end:
                occs.append(occ)
                self._index[occ.key] = {"id": eid, "master": mid, "etag": etag, "categories": list(categories)}
                if mid:  # the series itself (declining a standing conflict at once)
                    self._index.setdefault((occ.uid, ""), {"id": mid, "master": None, "series": True})
        occs.sort(key=lambda o: (o.start, o.uid, o.key[1]))
        return Snapshot(tuple(occs), tuple(owned), skipped, self.capabilities)
