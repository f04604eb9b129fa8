"""Google Calendar (API v3) backend.

Reading: one ``events.list`` with ``singleEvents=true`` over the window (plus a margin), then
incremental reads with the ``syncToken`` kept in the journal and a local cache of the events, so a
calendar that did not change costs one request. ``410`` means a full read again.

Writing: each block event is one recurring Google event with a deterministic client-chosen id
(a retried insert answers 409, never makes a duplicate), written by insert-then-patch (never a full
update). Declines patch the one instance with ``attendeesOmitted`` and the owner's entry only,
``sendUpdates=all``, so Google tells the organizer. Decline blocks without exceptions become
Google focus-time events where the account has them.

The Google client libraries are imported only here, and this module only by ``open_backend``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from boundaryd.core.model import Attendee, BlockEvent, Occurrence, OwnedEvent, Skipped, Snapshot
from boundaryd.errors import BadInput, RuntimeFailure
from boundaryd.fsutil import write_atomic

if TYPE_CHECKING:
    from boundaryd.calendars.base import SyncState
    from boundaryd.core.rules import Block, Rules

log = logging.getLogger("boundaryd.google")

UTC = timezone.utc
BLOCK_KEY = "boundarydBlock"
HASH_KEY = "boundarydHash"
UID_KEY = "boundarydUid"
FLAG_COLOR = "11"  # "Tomato" in Google's event colours
FLAG_CATEGORY = "Conflict"
#: how far past the asked window the full read goes, so the window can slide for a week on one token
MARGIN = timedelta(days=7)
PAGE_SIZE = 2500
_PARTSTAT = {"needsAction": "NEEDS-ACTION", "accepted": "ACCEPTED", "declined": "DECLINED", "tentative": "TENTATIVE"}
_RETRY_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "backendError", "internalError"}


class _FullSyncRequired(Exception):
    pass


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded in total so a cycle stays well inside the watchdog."""

    base: float = 0.5
    cap: float = 8.0
    budget: float = 20.0  # seconds of retrying per cycle (sleeps plus failed attempts)
    quota_backoff: float = 900.0  # what the daemon should wait after 403 quotaExceeded

    def delay(self, attempt: int) -> float:
        return float(min(self.cap, self.base * (2**attempt)) * (0.5 + random.random() / 2))


def event_id_for(uid: str, variant: str = "") -> str:
    """Google's event id for the owned event ``uid``: base32hex (a-v, 0-9), 5-1024 characters."""
    digest = hashlib.sha256(f"boundaryd:{variant}:{uid}".encode()).digest()[:20]
    return "bd" + variant + base64.b32hexencode(digest).decode().lower().rstrip("=")


def render_static_message(template: str, block: Block) -> str:
    """The decline message Google sends by itself for focus time (no per-meeting alternatives)."""

    class _Words(dict):  # type: ignore[type-arg]
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    words = _Words(
        alternatives="at another time",
        block="a prior commitment" if block.private else block.label,
        next_call_return="during my call-return time",
    )
    try:
        return template.format_map(words)[:1000]
    except (ValueError, IndexError):
        return template[:1000]


class GoogleBackend:
    """A Google calendar through google-api-python-client. See the module docstring."""

    tells_organizer = True

    def __init__(
        self,
        calendar_id: str,
        token_file: Path,
        cache_file: Path,
        tz: ZoneInfo,
        owner_emails: Iterable[str] = (),
        blocks: Iterable[Block] = (),
        focus_time: str = "auto",
        messages: dict[str, str] | None = None,
        policies: dict[str, str] | None = None,
        sync_state: SyncState | None = None,
        api_endpoint: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.calendar_id = calendar_id
        self.name = f"google:{calendar_id}"
        self.token_file = Path(token_file)
        self.cache_file = Path(cache_file)
        self.tz = tz
        self.owner_emails = tuple(e.lower() for e in owner_emails)
        self.blocks = {b.id: b for b in blocks}
        self.focus_time = focus_time
        self.messages = messages or {}
        self.policies = policies or {}
        self.sync_state = sync_state
        self.api_endpoint = api_endpoint
        self.timeout = timeout
        self.retry = retry
        self._sleep = sleep
        self._monotonic = monotonic
        self._service: Any = None
        self._creds: Any = None
        self._cycle_deadline = monotonic() + retry.budget
        self._cache: dict[str, Any] | None = None
        #: occurrence key -> the Google instance it came from (id, the owner's attendee email)
        self._index: dict[tuple[str, str], dict[str, Any]] = {}
        #: owned uid -> Google ids that carry it
        self._owned_ids: dict[str, set[str]] = {}
        self._owned_types: dict[str, str] = {}

    @classmethod
    def from_rules(cls, rules: Rules, calendar_id: str, state_dir: str | Path, sync_state: SyncState | None) -> GoogleBackend:
        from boundaryd.calendars.google_auth import default_token_file

        g = rules.calendar.google if rules.calendar is not None else None
        token = Path(g.token_file).expanduser() if g is not None and g.token_file else default_token_file(state_dir)
        safe = hashlib.sha256(calendar_id.encode()).hexdigest()[:12]
        return cls(
            calendar_id=calendar_id,
            token_file=token,
            cache_file=Path(state_dir) / f"google-cache-{safe}.json",
            tz=rules.tz,
            owner_emails=rules.owner.emails,
            blocks=rules.blocks,
            focus_time=g.focus_time if g is not None else "auto",
            messages={b.id: rules.message_of(b) for b in rules.blocks},
            policies={b.id: rules.policy_of(b) for b in rules.blocks},
            sync_state=sync_state,
            api_endpoint=g.api_endpoint if g is not None else None,
        )

    # --- plumbing -----------------------------------------------------------------------------

    def _key(self, what: str) -> str:
        return f"google:{self.calendar_id}:{what}"

    def _state_get(self, what: str) -> str | None:
        return self.sync_state.get(self._key(what)) if self.sync_state is not None else None

    def _state_set(self, what: str, value: str | None) -> None:
        if self.sync_state is not None:
            self.sync_state.set(self._key(what), value)

    def _events(self) -> Any:
        if self._service is None:
            import google_auth_httplib2
            import httplib2
            from googleapiclient.discovery import build

            from boundaryd.calendars.google_auth import load_credentials

            self._creds = load_credentials(self.token_file, timeout=self.timeout)
            http = google_auth_httplib2.AuthorizedHttp(self._creds, http=httplib2.Http(timeout=self.timeout))
            options = {"api_endpoint": self.api_endpoint} if self.api_endpoint else None
            self._service = build(
                "calendar", "v3", http=http, client_options=options, static_discovery=True, cache_discovery=False
            )
        elif self._creds is not None and not self._creds.valid:
            from boundaryd.calendars.google_auth import refresh

            refresh(self._creds, self.token_file, self.timeout)
        return self._service.events()

    def _execute(self, what: str, make: Callable[[Any], Any]) -> Any:
        """Run one API request with bounded retries; map failures to BoundarydError."""
        from google.auth.exceptions import RefreshError, TransportError
        from googleapiclient.errors import HttpError

        attempt = 0
        while True:
            transient: str
            try:
                return make(self._events()).execute(num_retries=0)
            except HttpError as e:
                status = int(e.resp.status)
                reason, message = _error_reason(e)
                if status in (404, 410) and what.startswith("delete"):
                    return None
                if status == 410 and reason in ("fullSyncRequired", "updatedMinTooLongAgo", "") and what == "list-sync":
                    raise _FullSyncRequired() from None
                if status == 404 and what.startswith("list"):
                    raise BadInput(f"{self.name}: Google has no such calendar (check calendar_id in the rules file)") from None
                if status == 401:
                    raise RuntimeFailure(f"{self.token_file}: Google refused the saved token (run boundaryd auth google)") from None
                if status == 403 and reason in ("quotaExceeded", "dailyLimitExceeded"):
                    err = RuntimeFailure(
                        f"{self.name}: Google Calendar quota exceeded ({message}); waiting"
                        f" {int(self.retry.quota_backoff // 60)} minutes before trying again"
                    )
                    err.retry_after = self.retry.quota_backoff  # type: ignore[attr-defined]
                    raise err from None
                retryable = status == 429 or status >= 500 or (status == 403 and reason in _RETRY_REASONS)
                if not retryable:
                    raise _HttpFailure(status, reason, message, f"{self.name}: {what}: Google answered {status} {reason or ''}: {message}".replace("  ", " ")) from None
                transient = f"Google answered {status} {reason}".strip()
            except RefreshError:
                raise RuntimeFailure(f"{self.token_file}: Google refused the saved token (run boundaryd auth google)") from None
            except (TransportError, OSError, TimeoutError) as e:
                transient = f"cannot reach Google ({type(e).__name__}: {e})" if str(e) else f"cannot reach Google ({type(e).__name__})"
            except Exception as e:
                import httplib2

                if isinstance(e, httplib2.HttpLib2Error):
                    transient = f"cannot reach Google ({e})"
                else:
                    raise
            delay = self.retry.delay(attempt)
            now = self._monotonic()
            if now + delay >= self._cycle_deadline:
                raise RuntimeFailure(f"{self.name}: {transient} (gave up after {attempt + 1} tries; retrying next cycle)")
            log.warning("%s: %s; retrying in %.1fs", self.name, transient, delay)
            self._sleep(delay)
            attempt += 1

    # --- reading --------------------------------------------------------------------------------

    def _load_cache(self) -> dict[str, Any] | None:
        if self._cache is not None:
            return self._cache
        try:
            data = json.loads(self.cache_file.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("calendar") != self.calendar_id or data.get("v") != 1:
            return None
        token = self._state_get("synctoken") if self.sync_state is not None else data.get("token")
        if not token or token != data.get("token"):
            return None  # the journal and the cache disagree: start over
        self._cache = data
        return data

    def _save_cache(self, data: dict[str, Any]) -> None:
        self._cache = data
        try:
            write_atomic(self.cache_file, json.dumps(data, separators=(",", ":")).encode(), mode=0o600)
        except OSError as e:
            raise RuntimeFailure(f"{self.cache_file}: cannot save the Google cache ({e.strerror})") from None
        self._state_set("synctoken", data["token"])

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
        items, token = self._list_all("list", timeMin=_rfc3339(lo), timeMax=_rfc3339(hi))
        data = {
            "v": 1,
            "calendar": self.calendar_id,
            "token": token,
            "window": [lo.isoformat(), hi.isoformat()],
            "events": {e["id"]: _slim(e) for e in items if e.get("status") != "cancelled"},
        }
        self._save_cache(data)
        return data

    def _incremental(self, data: dict[str, Any]) -> dict[str, Any]:
        items, token = self._list_all("list-sync", syncToken=data["token"])
        if token == data["token"] and not items:
            return data
        events: dict[str, Any] = dict(data["events"])
        lo = datetime.fromisoformat(data["window"][0])
        hi = datetime.fromisoformat(data["window"][1])
        for e in items:
            eid = e.get("id", "")
            if e.get("status") == "cancelled":
                events.pop(eid, None)
                for k in [k for k, v in events.items() if v.get("recurringEventId") == eid]:
                    events.pop(k)
                continue
            s, en = _bounds(e)
            if s is None or en is None or (en > lo and s < hi):
                events[eid] = _slim(e)
            else:
                events.pop(eid, None)
        new = dict(data, token=token, events=events)
        self._save_cache(new)
        return new

    def snapshot(self, start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        self._cycle_deadline = self._monotonic() + self.retry.budget
        data = self._load_cache()
        fits = False
        if data is not None:
            lo = datetime.fromisoformat(data["window"][0])
            hi = datetime.fromisoformat(data["window"][1])
            fits = lo <= start and end <= hi
        if data is None or not fits:
            data = self._full_read(start, end)
        else:
            try:
                data = self._incremental(data)
            except _FullSyncRequired:
                log.info("%s: Google asked for a full sync", self.name)
                data = self._full_read(start, end)
        return self._build(data, start, end, tz)

    def _build(self, data: dict[str, Any], start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        occs: list[Occurrence] = []
        skipped: list[Skipped] = []
        owned: dict[str, OwnedEvent] = {}
        self._index = {}
        self._owned_ids = {}
        self._owned_types = {}
        for e in data["events"].values():
            priv = (e.get("extendedProperties") or {}).get("private") or {}
            block = priv.get(BLOCK_KEY)
            if block:
                series = e.get("recurringEventId") or e["id"]
                uid = priv.get(UID_KEY) or series
                self._owned_ids.setdefault(uid, set()).add(series)
                self._owned_types[series] = e.get("eventType", "default")
                owned.setdefault(uid, OwnedEvent(uid=uid, block=block, fingerprint=self._read_hash(block, priv.get(HASH_KEY, ""))))
            try:
                occ = self._occurrence(e, tz)
            except (KeyError, ValueError, TypeError) as err:
                skipped.append(Skipped(uid=str(e.get("iCalUID") or e.get("id", "?"))[:200], reason=f"unreadable Google event ({err})"))
                continue
            if start <= occ.start < end:
                occs.append(occ)
                self._index[occ.key] = {"id": e["id"], "self": _self_email(e, self.owner_emails)}
        occs.sort(key=lambda o: (o.start, o.uid, o.key[1]))
        return Snapshot(occurrences=tuple(occs), owned=tuple(owned.values()), skipped=tuple(skipped))

    def _occurrence(self, e: dict[str, Any], tz: ZoneInfo) -> Occurrence:
        start, all_day = _when(e["start"], tz)
        end, _ = _when(e["end"], tz)
        rid: datetime | date | None = None
        if e.get("recurringEventId") and e.get("originalStartTime"):
            ost = e["originalStartTime"]
            rid = date.fromisoformat(ost["date"]) if ost.get("date") else _when(ost, tz)[0]
        org = e.get("organizer") or {}
        organizer = self._me(org.get("email", ""), bool(org.get("self")))
        attendees = tuple(
            Attendee(
                email=self._me(a.get("email", ""), bool(a.get("self"))),
                partstat=_PARTSTAT.get(a.get("responseStatus", "needsAction"), "NEEDS-ACTION"),
                name=str(a.get("displayName", ""))[:256],
            )
            for a in e.get("attendees") or []
            if a.get("email")
        )
        priv = (e.get("extendedProperties") or {}).get("private") or {}
        return Occurrence(
            uid=str(e.get("iCalUID") or e["id"])[:1024],
            recurrence_id=rid,
            summary=str(e.get("summary", ""))[:1024],
            description=str(e.get("description", ""))[:8192],
            start=start,
            end=max(end, start),
            all_day=all_day,
            organizer=organizer,
            organizer_name=str(org.get("displayName", ""))[:256],
            attendees=attendees,
            status=str(e.get("status", "confirmed")).upper(),
            transparent=e.get("transparency") == "transparent",
            owned_block=priv.get(BLOCK_KEY) or None,
            categories=(FLAG_CATEGORY,) if e.get("colorId") == FLAG_COLOR else (),
            sequence=int(e.get("sequence", 0) or 0),
        )

    def _me(self, email: str, is_self: bool) -> str:
        """Google's ``self`` marks the owner's entry; show it with an owner address the rules know."""
        email = email.lower()
        if is_self and self.owner_emails and email not in self.owner_emails:
            return self.owner_emails[0]
        return email

    # --- writing blocks -------------------------------------------------------------------------

    def _wants_focus(self, block_id: str, all_day: bool) -> bool:
        if self.focus_time != "auto" or all_day or self._state_get("focustime") == "unsupported":
            return False
        b = self.blocks.get(block_id)
        if b is None:
            return False
        policy = self.policies.get(block_id, b.policy)
        return policy == "decline" and not b.allow.people and not b.allow.keywords

    def _extra(self, block_id: str, event_type: str) -> str:
        """Google-only parts of a block event's definition, hashed into boundarydHash."""
        b = self.blocks.get(block_id)
        msg = render_static_message(self.messages.get(block_id, ""), b) if (b is not None and event_type == "focusTime") else ""
        return hashlib.sha256(json.dumps([event_type, msg]).encode()).hexdigest()[:8]

    def _read_hash(self, block_id: str, stored: str) -> str:
        """The planner's fingerprint when the Google-only parts still match the rules, else the raw hash
        (which then differs from every fingerprint, so the planner updates the event)."""
        fp, _, extra = stored.partition(".")
        b = self.blocks.get(block_id)
        if b is None:
            return fp
        kind = "focusTime" if self._wants_focus(block_id, b.all_day) else "default"
        return fp if extra == self._extra(block_id, kind) else stored

    def _body(self, event: BlockEvent, focus: bool) -> dict[str, Any]:
        import icalendar

        try:
            comp: Any = icalendar.Event.from_ical(event.ical)
        except ValueError as e:
            raise BadInput(f"{self.name}: block {event.block}: the block event cannot be parsed ({e})") from None
        dtstart = comp["DTSTART"]
        tzid = str(dtstart.params.get("TZID") or self.tz.key)
        start = dtstart.dt
        if comp.get("DTEND") is not None:
            end = comp["DTEND"].dt
        elif comp.get("DURATION") is not None:
            end = start + comp["DURATION"].dt
        else:
            end = start + timedelta(days=1) if not isinstance(start, datetime) else start
        all_day = not isinstance(start, datetime)
        recurrence = [
            line
            for line in _unfolded(event.ical)
            if re.split(r"[;:]", line, maxsplit=1)[0].upper() in ("RRULE", "EXDATE", "RDATE", "EXRULE")
        ]
        kind = "focusTime" if focus else "default"
        body: dict[str, Any] = {
            "summary": str(comp.get("SUMMARY", event.title)),
            "start": _edt(start, tzid),
            "end": _edt(end, tzid),
            "recurrence": recurrence,
            "transparency": "opaque",
            "visibility": "private",
            "status": "confirmed",
            "extendedProperties": {
                "private": {
                    BLOCK_KEY: str(comp.get("X-BOUNDARYD-BLOCK", event.block)),
                    HASH_KEY: f"{event.fingerprint}.{self._extra(event.block, kind)}",
                    UID_KEY: event.uid,
                }
            },
        }
        if comp.get("DESCRIPTION") is not None:
            body["description"] = str(comp["DESCRIPTION"])
        if focus:
            b = self.blocks[event.block]
            body["eventType"] = "focusTime"
            body["focusTimeProperties"] = {
                "autoDeclineMode": "declineOnlyNewConflictingInvitations",
                "declineMessage": render_static_message(self.messages.get(event.block, ""), b),
                "chatStatus": "doNotDisturb",
            }
        del all_day
        return body

    def put_block(self, event: BlockEvent) -> None:
        self._events()
        b = self.blocks.get(event.block)
        focus = self._wants_focus(event.block, bool(b and b.all_day)) and b is not None
        body = self._body(event, focus)
        if focus and body["start"].get("date"):
            focus = False
            body = self._body(event, False)
        eid = event_id_for(event.uid, "f" if focus else "")
        try:
            written = self._write(eid, body)
        except _HttpFailure as e:
            if not (focus and e.status == 400):
                raise RuntimeFailure(e.line) from None
            log.info("%s: focus time refused (%s); using ordinary events from now on", self.name, e.message)
            self._state_set("focustime", "unsupported")
            focus = False
            body = self._body(event, False)
            eid = event_id_for(event.uid, "")
            try:
                written = self._write(eid, body)
            except _HttpFailure as e2:
                raise RuntimeFailure(e2.line) from None
        if focus and written is not None and written.get("eventType", "default") != "focusTime":
            log.info("%s: focus time came back as an ordinary event; using ordinary events from now on", self.name)
            self._state_set("focustime", "unsupported")
            stored = f"{event.fingerprint}.{self._extra(event.block, 'default')}"
            self._execute(
                "patch",
                lambda ev: ev.patch(
                    calendarId=self.calendar_id, eventId=eid,
                    body={"extendedProperties": {"private": {HASH_KEY: stored}}}, sendUpdates="none",
                ),
            )
        for old in sorted(self._owned_ids.get(event.uid, set()) - {eid}):
            self._delete(old)
        self._owned_ids[event.uid] = {eid}

    def _write(self, eid: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Insert with our id; if it exists (409: a retried insert, or an update) patch it instead."""
        try:
            return self._execute(  # type: ignore[no-any-return]
                "insert",
                lambda ev: ev.insert(calendarId=self.calendar_id, body={"id": eid, **body}, sendUpdates="none"),
            )
        except _HttpFailure as e:
            if e.status != 409:
                raise
        patch = {k: v for k, v in body.items() if k != "eventType"}
        return self._execute(  # type: ignore[no-any-return]
            "patch", lambda ev: ev.patch(calendarId=self.calendar_id, eventId=eid, body=patch, sendUpdates="none")
        )

    def delete_block(self, uid: str) -> None:
        ids = self._owned_ids.get(uid) or {event_id_for(uid, ""), event_id_for(uid, "f")}
        if re.fullmatch(r"[a-v0-9]{5,1024}", uid) and uid not in self._owned_ids:
            ids = {uid}
        for eid in sorted(ids):
            self._delete(eid)
        self._owned_ids.pop(uid, None)

    def _delete(self, eid: str) -> None:
        """Delete one Google event; one already gone (404/410) is fine."""

        def request(ev: Any) -> Any:
            return ev.delete(calendarId=self.calendar_id, eventId=eid, sendUpdates="none")

        try:
            self._execute("delete", request)
        except _HttpFailure as e:
            raise RuntimeFailure(e.line) from None

    # --- answering ------------------------------------------------------------------------------

    def _instance(self, occ: Occurrence) -> dict[str, Any]:
        hit = self._index.get(occ.key)
        if hit is not None:
            return hit
        # not from this backend's last snapshot: find it by iCalUID around its start
        lo = (occ.start - timedelta(minutes=1)).astimezone(UTC)
        hi = (max(occ.end, occ.start) + timedelta(minutes=1)).astimezone(UTC)
        items, _ = self._list_all("find", iCalUID=occ.uid, timeMin=_rfc3339(lo), timeMax=_rfc3339(hi))
        for e in items:
            o = self._occurrence(e, self.tz)
            if o.key == occ.key:
                return {"id": e["id"], "self": _self_email(e, self.owner_emails)}
        raise RuntimeFailure(f"{self.name}: event {occ.uid} at {occ.start.isoformat()} is no longer on the calendar")

    def decline(self, occ: Occurrence, owner_emails: tuple[str, ...], comment: str) -> None:
        owners = {e.lower() for e in owner_emails} | set(self.owner_emails)
        if any(a.email in owners and a.partstat == "DECLINED" for a in occ.attendees):
            return
        self._events()
        inst = self._instance(occ)
        email = inst.get("self") or next((a.email for a in occ.attendees if a.email in owners), None)
        if not email:
            raise RuntimeFailure(f"{self.name}: event {occ.uid}: you are not among its attendees; nothing to decline")
        body = {
            "attendeesOmitted": True,
            "attendees": [{"email": email, "responseStatus": "declined", "comment": comment[:1000]}],
        }
        try:
            self._execute(
                "patch", lambda ev: ev.patch(calendarId=self.calendar_id, eventId=inst["id"], body=body, sendUpdates="all")
            )
        except _HttpFailure as e:
            raise RuntimeFailure(e.line) from None

    def flag(self, occ: Occurrence) -> None:
        if FLAG_CATEGORY in occ.categories:
            return
        self._events()
        inst = self._instance(occ)
        try:
            self._execute(
                "patch",
                lambda ev: ev.patch(calendarId=self.calendar_id, eventId=inst["id"], body={"colorId": FLAG_COLOR}, sendUpdates="none"),
            )
        except _HttpFailure as e:
            raise RuntimeFailure(e.line) from None

    def flush(self) -> None:
        """Every write went to Google when it was made: nothing to do."""


# --- helpers ------------------------------------------------------------------------------------


class _HttpFailure(RuntimeFailure):
    def __init__(self, status: int, reason: str, message: str, line: str) -> None:
        super().__init__(line)
        self.status = status
        self.reason = reason
        self.message = message
        self.line = line


def _error_reason(e: Any) -> tuple[str, str]:
    try:
        err = json.loads(e.content.decode("utf-8", "replace")).get("error", {})
        errors = err.get("errors") or [{}]
        return str(errors[0].get("reason", "")), str(err.get("message", ""))[:300]
    except (ValueError, AttributeError):
        return "", str(getattr(e, "reason", ""))[:300]


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(edt: dict[str, Any], tz: ZoneInfo) -> tuple[datetime, bool]:
    if edt.get("date"):
        return datetime.combine(date.fromisoformat(edt["date"]), datetime.min.time(), tz), True
    dt = datetime.fromisoformat(str(edt["dateTime"]).replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(edt.get("timeZone") or "UTC"))
    return dt.astimezone(tz), False


def _bounds(e: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    try:
        return _when(e["start"], ZoneInfo("UTC"))[0], _when(e["end"], ZoneInfo("UTC"))[0]
    except (KeyError, ValueError, TypeError):
        return None, None


def _edt(value: date | datetime, tzid: str) -> dict[str, Any]:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(tzid))
        return {"dateTime": value.isoformat(), "timeZone": tzid}
    return {"date": value.isoformat(), "timeZone": tzid}


def _unfolded(ical: str) -> list[str]:
    return [ln for ln in re.sub(r"\r?\n[ \t]", "", ical).splitlines() if ln]


def _self_email(e: dict[str, Any], owners: tuple[str, ...]) -> str | None:
    for a in e.get("attendees") or []:
        if a.get("self") or str(a.get("email", "")).lower() in owners:
            return str(a.get("email"))
    return None


_KEEP = (
    "id", "iCalUID", "status", "summary", "description", "start", "end", "originalStartTime", "recurringEventId",
    "organizer", "attendees", "transparency", "extendedProperties", "eventType", "colorId", "sequence",
)


def _slim(e: dict[str, Any]) -> dict[str, Any]:
    """What the cache keeps of an event (what the planner's view needs)."""
    out = {k: e[k] for k in _KEEP if k in e}
    if "description" in out:
        out["description"] = str(out["description"])[:8192]
    return out
