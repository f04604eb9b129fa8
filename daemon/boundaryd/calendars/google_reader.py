"""Reading a Google calendar: one full ``events.list`` of the window (plus a margin), then the
changes since the sync token kept in the journal, applied to a local cache of the events, so a
calendar that did not change costs one request. ``410`` means a full read again."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from boundaryd.calendars import jsoncache
from boundaryd.calendars.google_events import (
    BLOCK_KEY,
    HASH_KEY,
    UID_KEY,
    UTC,
    bounds,
    occurrence,
    rfc3339,
    self_email,
    slim,
    stored_fingerprint,
)
from boundaryd.calendars.google_http import FullSyncRequired, GoogleApi
from boundaryd.core.model import Capabilities, Occurrence, OwnedEvent, Skipped, Snapshot
from boundaryd.errors import RuntimeFailure

if TYPE_CHECKING:
    from boundaryd.calendars.base import SyncState


#: how far past the asked window the full read goes, so the window can slide for a week on one token
MARGIN = timedelta(days=7)
PAGE_SIZE = 2500


class GoogleReader(jsoncache.TokenCached, GoogleApi):
    """The reading half of :class:`GoogleBackend` (a base class: its attributes are set there)."""

    PROVIDER, PROVIDER_KEY, TOKEN_FIELD, TOKEN_STATE = "Google", "google", "token", "synctoken"

    calendar_id: str
    cache_file: Path
    owner_emails: tuple[str, ...]
    sync_state: SyncState | None
    capabilities: Capabilities
    _cache: dict[str, Any] | None
    _index: dict[tuple[str, str], dict[str, Any]]
    _owned_ids: dict[str, set[str]]

    def connect(self) -> Capabilities:
        raise NotImplementedError

    def _calendar_key(self) -> str:
        return self.calendar_id

    def _list_all(self, what: str, **params: Any) -> tuple[list[dict[str, Any]], str]:
        items: list[dict[str, Any]] = []
        page: str | None = None
        while True:
            extra = {"pageToken": page} if page else {}

            def request(ev: Any, extra: dict[str, str] = extra) -> Any:
                return ev.list(calendarId=self.calendar_id, singleEvents=True, maxResults=PAGE_SIZE, **params, **extra)

            resp = self._execute(what, request)
            items.extend(resp.get("items", []))
            page = resp.get("nextPageToken")
            if not page:
                token = resp.get("nextSyncToken")
                if not token:
                    raise RuntimeFailure(f"{self.name}: Google gave no sync token on the last page")
                return items, token

    def _full_read(self, start: datetime, end: datetime) -> dict[str, Any]:
        lo, hi = start.astimezone(UTC), (end + MARGIN).astimezone(UTC)
        items, token = self._list_all("list", timeMin=rfc3339(lo), timeMax=rfc3339(hi))
        data = {
            "v": 1,
            "calendar": self.calendar_id,
            "token": token,
            "window": [lo.isoformat(), hi.isoformat()],
            "events": {e["id"]: slim(e) for e in items if e.get("status") != "cancelled"},
        }
        self._save_cache(data)
        return data

    def _incremental(self, data: dict[str, Any]) -> dict[str, Any]:
        items, token = self._list_all("list-sync", syncToken=data["token"])
        if not items:
            return self._quiet(data, token)
        events: dict[str, Any] = dict(data["events"])
        lo = datetime.fromisoformat(data["window"][0])
        hi = datetime.fromisoformat(data["window"][1])
        before = len(events)
        changed = False  # what the cache keeps changed (not: something happened outside the window)
        for e in items:
            eid = e.get("id", "")
            if e.get("status") == "cancelled":
                events.pop(eid, None)
                for k in [k for k, v in events.items() if v.get("recurringEventId") == eid]:
                    events.pop(k)
                continue
            s, en = bounds(e)
            if s is None or en is None or (en > lo and s < hi):
                kept = slim(e)
                if events.get(eid) != kept:
                    events[eid], changed = kept, True
            else:
                events.pop(eid, None)
        if not changed and len(events) == before:
            return self._quiet(data, token)
        new = dict(data, token=token, events=events)
        self._save_cache(new)
        return new

    def snapshot(self, start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        self.connect()
        self._cycle_deadline = self._monotonic() + self.retry.budget
        told = f"{self.name}: Google asked for a full sync"
        data = jsoncache.current(self._load_cache(), start, end, self._full_read, self._incremental, FullSyncRequired, told)
        return self._build(data, start, end, tz)

    def history(self, start: datetime, end: datetime, tz: ZoneInfo) -> list[Occurrence]:
        """The past (``leads``): ``events.list`` of ``[start, end)``, single events, page by page; the
        sync token and the cache of the window stay as they are."""
        self.connect()
        self._cycle_deadline = self._monotonic() + self.retry.budget
        bounds_ = {"timeMin": rfc3339(start.astimezone(UTC)), "timeMax": rfc3339(end.astimezone(UTC))}
        out: list[Occurrence] = []
        page: str | None = None
        while True:
            extra = {"pageToken": page} if page else {}

            def request(ev: Any, extra: dict[str, str] = extra) -> Any:
                return ev.list(calendarId=self.calendar_id, singleEvents=True, maxResults=PAGE_SIZE, **bounds_, **extra)

            resp = self._execute("list-history", request) or {}
            for e in resp.get("items", []):
                try:
                    occ = occurrence(e, tz, self.owner_emails)
                except (KeyError, ValueError, TypeError):
                    continue
                if e.get("status") != "cancelled" and occ.owned_block is None and start <= occ.start < end:
                    out.append(occ)
            page = resp.get("nextPageToken")
            if not page:
                return out

    def _built(self, e: dict[str, Any], tz: ZoneInfo) -> tuple[Occurrence | Skipped, str | None]:
        """One cached event's occurrence (or why it cannot be read) and the owner's attendee email."""
        try:
            return occurrence(e, tz, self.owner_emails), self_email(e, self.owner_emails)
        except (KeyError, ValueError, TypeError) as err:
            return Skipped(uid=str(e.get("iCalUID") or e.get("id", "?"))[:200], reason=f"unreadable Google event ({err})"), None

    def _prepare(self, data: dict[str, Any], tz: ZoneInfo) -> tuple[list[tuple[Any, ...]], tuple[Skipped, ...],
                                                                      tuple[OwnedEvent, ...], dict[str, set[str]]]:
        """What the cache ``data`` says, window aside: per readable event (in the cache's order) its
        occurrence, id, owner's attendee email and series; the unreadable ones; the owned events and
        their Google ids. Made once per version of the cache, each event built once per version."""
        kept = jsoncache.built(self.cache_file, (tz, self.owner_emails))
        if kept.data is data:
            return kept.prepared  # type: ignore[no-any-return]
        rows: list[tuple[Any, ...]] = []
        skipped: list[Skipped] = []
        owned: dict[str, OwnedEvent] = {}
        owned_ids: dict[str, set[str]] = {}
        for eid, e in data["events"].items():
            priv = (e.get("extendedProperties") or {}).get("private") or {}
            block = priv.get(BLOCK_KEY)
            if block:
                series = e.get("recurringEventId") or e["id"]
                uid = priv.get(UID_KEY) or series
                owned_ids.setdefault(uid, set()).add(series)
                fingerprint = stored_fingerprint(priv.get(HASH_KEY, ""))
                owned.setdefault(uid, OwnedEvent(uid=uid, block=block, fingerprint=fingerprint))
            made = kept.events.get(eid)
            if made is None or made[0] is not e:
                made = kept.events[eid] = (e, *self._built(e, tz))
            if isinstance(made[1], Skipped):
                skipped.append(made[1])
            else:
                rows.append((made[1], e["id"], made[2], e.get("recurringEventId")))
        kept.prune(data["events"])
        kept.data, kept.prepared = data, (rows, tuple(skipped), tuple(owned.values()), owned_ids)
        return kept.prepared  # type: ignore[no-any-return]

    def _build(self, data: dict[str, Any], start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        rows, skipped, owned, owned_ids = self._prepare(data, tz)
        self._owned_ids = {uid: set(ids) for uid, ids in owned_ids.items()}
        self._index = {}
        occs: list[Occurrence] = []
        for occ, eid, me, series in rows:
            if start <= occ.start < end:
                occs.append(occ)
                self._index[occ.key] = {"id": eid, "self": me}
                if series:  # the series itself (declining a standing conflict at once)
                    self._index.setdefault((occ.uid, ""), {"id": series, "self": me, "series": True})
        occs.sort(key=lambda o: (o.start, o.uid, o.key[1]))
        return Snapshot(tuple(occs), owned, skipped, self.capabilities)
