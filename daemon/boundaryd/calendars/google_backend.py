"""Google Calendar (API v3) backend.

Reading: one ``events.list`` with ``singleEvents=true`` over the window (plus a margin), then
incremental reads with the ``syncToken`` kept in the journal and a local cache of the events, so a
calendar that did not change costs one request. ``410`` means a full read again.

Writing: each block event is one recurring Google event with a deterministic client-chosen id
(a retried insert answers 409, never makes a duplicate), written by insert-then-patch (never a full
update). Declines patch the one instance with ``attendeesOmitted`` and the owner's entry only,
``sendUpdates=all``, so Google tells the organizer. A block event the planner marks ``focus``
becomes Google focus time carrying the planner's decline message, where the account has it
(capability ``focus_time``; an account that refuses it is remembered in the journal).

Reading is :mod:`google_reader`'s, requests and their failures :mod:`google_http`'s, the JSON
mapping :mod:`google_events`'.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from boundaryd.calendars.google_events import (
    FLAG_CATEGORY,
    FLAG_COLOR,
    UTC,
    block_body,
    event_id_for,
    occurrence,
    rfc3339,
    self_email,
)
from boundaryd.calendars.google_http import HttpFailure, RetryPolicy
from boundaryd.calendars.google_reader import GoogleReader
from boundaryd.core.model import BlockEvent, Capabilities, Occurrence
from boundaryd.errors import RuntimeFailure

if TYPE_CHECKING:
    from boundaryd.calendars.base import SyncState

__all__ = ["GoogleBackend", "RetryPolicy", "event_id_for"]

log = logging.getLogger("boundaryd.google")

DEFAULT_RETRY = RetryPolicy()


#: the owner's PARTSTAT as Google's responseStatus
_RESPONSE = {"ACCEPTED": "accepted", "TENTATIVE": "tentative", "NEEDS-ACTION": "needsAction", "DECLINED": "declined"}


class GoogleBackend(GoogleReader):
    """A Google calendar through google-api-python-client. See the module docstring."""

    writes_when_made = True  # each write is durable when its call returns (engine/journal_batch.py)

    def __init__(
        self,
        calendar_id: str,
        token_file: Path,
        cache_file: Path,
        tz: ZoneInfo,
        owner_emails: Iterable[str] = (),
        focus_time: str = "auto",
        sync_state: SyncState | None = None,
        api_endpoint: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.calendar_id = calendar_id
        self.name = f"google:{calendar_id}"
        self.token_file = Path(token_file)
        self.cache_file = Path(cache_file)
        self.tz = tz
        self.owner_emails = tuple(e.lower() for e in owner_emails)
        self.focus_time = focus_time  # the rules' "auto" | "off"
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
        #: Google tells organizers; focus time until connect() knows better
        self.capabilities = Capabilities(tells_organizer=True, decline_comment=True, focus_time=False, flag_mark="colour")
        self._connected = False
        self._focus_refused = False  # learned in this cycle; the journal has it for the next
        #: occurrence key -> the Google instance it came from (id, the owner's attendee email)
        self._index: dict[tuple[str, str], dict[str, Any]] = {}
        #: owned uid -> Google ids that carry it
        self._owned_ids: dict[str, set[str]] = {}

    @classmethod
    def open(cls, calendar_id: str, section: Any, context: Any) -> GoogleBackend:
        """The registry's constructor, from the rules' ``calendar: google:`` section."""
        from boundaryd.calendars.google_auth import default_token_file

        state_dir = context.state_dir
        token = Path(section.token_file).expanduser() if section is not None and section.token_file else default_token_file(state_dir)
        safe = hashlib.sha256(calendar_id.encode()).hexdigest()[:12]
        return cls(
            calendar_id=calendar_id,
            token_file=token,
            cache_file=Path(state_dir) / f"google-cache-{safe}.json",
            tz=context.tz,
            owner_emails=context.owner_emails,
            focus_time=section.focus_time if section is not None else "auto",
            sync_state=context.sync_state,
            api_endpoint=section.api_endpoint if section is not None else None,
        )

    # --- plumbing -----------------------------------------------------------------------------


    def connect(self) -> Capabilities:
        """No request: focus time is on unless the rules turned it off or the account refused it."""
        if not self._connected:
            focus = self.focus_time == "auto" and self._state_get("focustime") != "unsupported"
            self.capabilities = replace(self.capabilities, focus_time=focus)
            self._connected = True
        return self.capabilities

    # --- writing blocks -------------------------------------------------------------------------

    def _focus_unsupported(self, why: str) -> None:
        log.info("%s: %s; using ordinary events from now on", self.name, why)
        self._state_set("focustime", "unsupported")
        self._focus_refused = True

    def put_block(self, event: BlockEvent) -> None:
        self.connect()
        self._events()
        focus = event.focus and self.capabilities.focus_time and not self._focus_refused
        body = block_body(event, focus, self.tz, self.name)
        if focus and body["start"].get("date"):  # Google has no all-day focus time
            focus, body = False, block_body(event, False, self.tz, self.name)
        eid = event_id_for(event.uid, "f" if focus else "")
        try:
            written = self._write(eid, body)
        except HttpFailure as e:
            if not (focus and e.status == 400):
                raise RuntimeFailure(e.line) from None
            self._focus_unsupported(f"focus time refused ({e.message})")
            focus, eid = False, event_id_for(event.uid, "")
            try:
                written = self._write(eid, block_body(event, False, self.tz, self.name))
            except HttpFailure as e2:
                raise RuntimeFailure(e2.line) from None
        if focus and written is not None and written.get("eventType", "default") != "focusTime":
            self._focus_unsupported("focus time came back as an ordinary event")
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
        except HttpFailure as e:
            if e.status != 409:
                raise
        patch = {k: v for k, v in body.items() if k != "eventType"}
        return self._execute(  # type: ignore[no-any-return]
            "patch", lambda ev: ev.patch(calendarId=self.calendar_id, eventId=eid, body=patch, sendUpdates="none")
        )

    def delete_block(self, uid: str) -> None:
        """Delete the Google events that carry our ``uid``. Ids are derived from the uid, so an
        event someone else made is never among them."""
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
        except HttpFailure as e:
            raise RuntimeFailure(e.line) from None

    # --- answering ------------------------------------------------------------------------------

    def _instance(self, occ: Occurrence) -> dict[str, Any]:
        hit = self._index.get(occ.key)
        if hit is not None:
            return hit
        # not from this backend's last snapshot: find it by iCalUID around its start
        lo = (occ.start - timedelta(minutes=1)).astimezone(UTC)
        hi = (max(occ.end, occ.start) + timedelta(minutes=1)).astimezone(UTC)
        items, _ = self._list_all("find", iCalUID=occ.uid, timeMin=rfc3339(lo), timeMax=rfc3339(hi))
        for e in items:
            if occurrence(e, self.tz, self.owner_emails).key == occ.key:
                return {"id": e["id"], "self": self_email(e, self.owner_emails)}
        raise RuntimeFailure(f"{self.name}: event {occ.uid} at {occ.start.isoformat()} is no longer on the calendar")

    def _patch(self, occ: Occurrence, body: dict[str, Any], send: str) -> None:
        self._events()
        inst = self._instance(occ)
        if "attendees" in body and not body["attendees"][0]["email"]:
            email = inst.get("self")
            if not email:
                raise RuntimeFailure(f"{self.name}: event {occ.uid}: you are not among its attendees; nothing to decline")
            body["attendees"][0]["email"] = email
        try:
            self._execute(
                "patch", lambda ev: ev.patch(calendarId=self.calendar_id, eventId=inst["id"], body=body, sendUpdates=send)
            )
        except HttpFailure as e:
            raise RuntimeFailure(e.line) from None

    def decline(self, occ: Occurrence, owner_emails: tuple[str, ...], comment: str) -> None:
        owners = {e.lower() for e in owner_emails} | set(self.owner_emails)
        if any(a.email in owners and a.partstat == "DECLINED" for a in occ.attendees):
            return
        hit = self._index.get(occ.key, {}).get("self")
        email = hit or next((a.email for a in occ.attendees if a.email in owners), "")
        entry = {"email": email, "responseStatus": "declined", "comment": comment[:1000]}
        self._patch(occ, {"attendeesOmitted": True, "attendees": [entry]}, "all")

    def answer(self, occ: Occurrence, owner_emails: tuple[str, ...], partstat: str) -> None:
        """The owner's answer back from declined to ``partstat``; Google tells the organizer."""
        owners = {e.lower() for e in owner_emails} | set(self.owner_emails)
        declined = any(a.email in owners and a.partstat == "DECLINED" for a in occ.attendees)
        series = bool(self._index.get(occ.key, {}).get("series"))  # its instances may not show the answer
        if not declined and not series:
            return
        hit = self._index.get(occ.key, {}).get("self")
        email = hit or next((a.email for a in occ.attendees if a.email in owners), "")
        status = _RESPONSE.get(partstat, "needsAction")
        self._patch(occ, {"attendeesOmitted": True, "attendees": [{"email": email, "responseStatus": status, "comment": ""}]}, "all")

    def flag(self, occ: Occurrence) -> None:
        """The flag colour on the owner's copy (Google tells no one)."""
        if FLAG_CATEGORY not in occ.categories:
            self._patch(occ, {"colorId": FLAG_COLOR}, "none")

    def unflag(self, occ: Occurrence) -> None:
        """The flag colour off again (the event's own colour was replaced by it)."""
        if FLAG_CATEGORY in occ.categories:
            self._patch(occ, {"colorId": None}, "none")

    def flush(self) -> None:
        """Every write went to Google when it was made: nothing to do."""
