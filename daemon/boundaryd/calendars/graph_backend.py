"""Microsoft 365 / Outlook.com (Microsoft Graph v1.0) backend.

Reading is :mod:`graph_reader`'s (calendarView delta, one request on an unchanged cycle), requests
and their failures :mod:`graph_http`'s, sign-in :mod:`graph_auth`'s, the JSON mapping
:mod:`graph_events`'.

Writing: each block event is one Graph series (``patternedRecurrence``), busy, private, without a
reminder, tagged with single-value extended properties (``boundarydBlock``, ``boundarydHash``,
``boundarydUid``); its skipped dates are deleted as occurrences. A block with several times a day
arrives as several block events, so it is several series. A rule Graph cannot express (see
:func:`graph_recur.pattern_of`) is written as single events over the next :data:`HORIZON` days;
their stored fingerprint carries the horizon's end, and the reader reports it stale before the
window reaches it, so the planner writes the next stretch. Creates carry a ``transactionId``
derived from the uid and the fingerprint, so a retried or raced create never makes a duplicate.
A changed block is deleted and created again (Graph keeps no exceptions across a new pattern).

Answers: declines go to ``POST .../events/{id}/decline`` on the occurrence (the series master for a
whole series) with the message as comment, the first alternative as ``proposedNewTime`` and
``sendResponse: true``: Outlook shows the organizer the proposed time. Undo: accept or
tentativelyAccept (Graph cannot take an answer back to "none": the owner's earlier "no answer yet"
comes back as tentative). Flags: the category "Conflict" on the owner's copy, by a conditional PATCH
(:mod:`graph_flags`: ``If-Match``, 412 read again and retried once, the owner's categories kept).

Every write went to Graph when it was made; what it made is remembered (:mod:`graph_written`) and
saved with the cache at :meth:`flush`, so the next cycle does not read it back.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from boundaryd.calendars.graph_auth import DEFAULT_API, DEFAULT_AUTHORITY, TokenSource, default_token_file, resolve
from boundaryd.calendars.graph_events import (
    block_body,
    graph_time,
    parse_block,
    parse_time,
    recurrence_of,
    utc_text,
)
from boundaryd.calendars.graph_flags import GraphCategories
from boundaryd.calendars.graph_http import Gone, RetryPolicy
from boundaryd.calendars.graph_reader import GraphReader
from boundaryd.core.model import BlockEvent, Capabilities, Occurrence
from boundaryd.errors import BadInput, RuntimeFailure

if TYPE_CHECKING:
    from boundaryd.calendars.base import SyncState

__all__ = ["GraphBackend", "RetryPolicy"]

#: how far ahead a block Graph cannot express as a series is written as single events
HORIZON = timedelta(days=92)
DEFAULT_RETRY = RetryPolicy()
_ACTION = {"ACCEPTED": "accept", "TENTATIVE": "tentativelyAccept", "NEEDS-ACTION": "tentativelyAccept"}


class GraphBackend(GraphCategories, GraphReader):
    """A Microsoft calendar through Graph. See the module docstring."""

    writes_when_made = True  # each write is durable when its call returns (engine/journal_batch.py)

    def __init__(
        self,
        calendar: str,
        tokens: TokenSource,
        cache_file: Path,
        tz: ZoneInfo,
        owner_emails: Iterable[str] = (),
        sync_state: SyncState | None = None,
        api_endpoint: str = DEFAULT_API,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.calendar = calendar
        self.name = f"microsoft:{calendar}"
        self.tokens = tokens
        self.cache_file = Path(cache_file)
        self.tz = tz
        self.owner_emails = tuple(e.lower() for e in owner_emails)
        self.sync_state = sync_state
        self.api_endpoint = api_endpoint if api_endpoint.endswith("/") else api_endpoint + "/"
        self.retry = retry
        self._sleep = sleep
        self._monotonic = monotonic
        self._cycle_deadline = monotonic() + retry.budget
        self._cache = None
        self._calendar_path: str | None = None
        self.capabilities = Capabilities(tells_organizer=True, decline_comment=True, proposed_new_time=True,
                                         focus_time=False, flag_mark="categories")
        self._index: dict[tuple[str, str], dict[str, Any]] = {}
        self._owned_ids: dict[str, set[str]] = {}
        self._owned_fp: dict[str, str] = {}
        self._window: tuple[datetime, datetime] | None = None
        self._written_now = {}

    @classmethod
    def open(cls, calendar: str, section: Any, context: Any) -> GraphBackend:
        """The registry's constructor, from the rules' ``calendar: microsoft:`` section."""
        state_dir = context.state_dir
        token = Path(section.token_file).expanduser() if section is not None and section.token_file else default_token_file(state_dir)
        api = section.api_endpoint if section is not None else DEFAULT_API
        authority, scopes = resolve(section.authority if section is not None else DEFAULT_AUTHORITY, api)
        tokens = TokenSource(token, section.client_id if section is not None else None,
                             section.tenant if section is not None else "common", authority, scopes)
        safe = hashlib.sha256(calendar.encode()).hexdigest()[:12]
        return cls(calendar, tokens, Path(state_dir) / f"microsoft-cache-{safe}.json", context.tz,
                   owner_emails=context.owner_emails, sync_state=context.sync_state,
                   api_endpoint=api)

    # --- the calendar ---------------------------------------------------------------------------

    def connect(self) -> Capabilities:
        """Finds the calendar (by name: one request, remembered in the journal); the capabilities are fixed."""
        if self._calendar_path is None:
            self._calendar_path = self._resolve()
        return self.capabilities

    def _resolve(self) -> str:
        if self.calendar.lower() == "primary":
            return "me/calendar"
        memo = self._state_get("calendar-id")
        if memo:
            return f"me/calendars/{memo}"
        if re.fullmatch(r"[A-Za-z0-9_=+/-]{40,}", self.calendar):  # a Graph id
            return f"me/calendars/{self.calendar}"
        resp = self._call("calendars", "GET", "me/calendars", {"$select": "id,name", "$top": "200"}) or {}
        found = [c for c in resp.get("value") or [] if str(c.get("name", "")).casefold() == self.calendar.casefold()]
        if not found:
            names = ", ".join(sorted(str(c.get("name")) for c in resp.get("value") or []))
            raise BadInput(f"{self.name}: no calendar of that name (yours: {names or 'none'}; or use primary)")
        self._state_set("calendar-id", str(found[0]["id"]))
        return f"me/calendars/{found[0]['id']}"

    def _base(self) -> str:
        self.connect()
        assert self._calendar_path is not None
        return self._calendar_path

    # --- blocks ---------------------------------------------------------------------------------

    def put_block(self, event: BlockEvent) -> None:
        if event.uid in self._owned_ids and self._owned_fp.get(event.uid, "").partition(".")[0] == event.fingerprint:
            if not self._owned_fp[event.uid].partition(".")[2]:
                return  # written already (a retried sync)
        b = parse_block(event, self.tz, self.name)
        rec = recurrence_of(b)
        for old in sorted(self._owned_ids.get(event.uid, set())):
            self._call("delete", "DELETE", f"{self._base()}/events/{old}")
            self._forget(old)
        ids: set[str] = set()
        stored = event.fingerprint
        if b["rrule"] is None or rec is not None:
            created = self._create(event, b, b["start"], b["end"], rec, stored, 0)
            ids.add(created["id"])
            if rec is not None and b["exdates"]:
                self._delete_occurrences(created["id"], b)
        else:  # a rule Graph cannot express: single events over the horizon (module docstring)
            first = b["start"] if not isinstance(b["start"], datetime) else b["start"].date()
            since = max(first, self._window[0].date()) if self._window else first  # from the window read last
            until = since + HORIZON
            stored = f"{event.fingerprint}.until-{until.isoformat()}"
            for i, (s, e) in enumerate(_expand(b, since, until)):
                ids.add(self._create(event, b, s, e, None, stored, i)["id"])
        self._owned_ids[event.uid] = ids
        self._owned_fp[event.uid] = stored

    def _create(self, event: BlockEvent, b: dict[str, Any], start: datetime | date, end: datetime | date,
                rec: dict[str, Any] | None, stored: str, n: int) -> dict[str, Any]:
        body = block_body(event, b, start, end, rec)
        body["singleValueExtendedProperties"][1]["value"] = stored
        body["transactionId"] = hashlib.sha256(f"boundaryd:{event.uid}:{stored}:{n}".encode()).hexdigest()[:40]
        created = self._call(f"create {event.uid}", "POST", f"{self._base()}/events", body=body)
        if not isinstance(created, dict) or not created.get("id"):
            raise RuntimeFailure(f"{self.name}: Microsoft Graph created block {event.uid} without an id")
        self._remember_create(created, body)
        return created

    def _delete_occurrences(self, master: str, b: dict[str, Any]) -> None:
        """Skipped dates: the occurrences on them, deleted."""
        days = sorted(d.date() if isinstance(d, datetime) else d for d in b["exdates"])
        lo = datetime.combine(days[0] - timedelta(days=1), datetime.min.time(), self.tz)
        hi = datetime.combine(days[-1] + timedelta(days=2), datetime.min.time(), self.tz)
        resp = self._call("instances", "GET", f"{self._base()}/events/{master}/instances",
                          {"startDateTime": utc_text(lo), "endDateTime": utc_text(hi), "$select": "id,originalStart"}) or {}
        for inst in resp.get("value") or []:
            orig = parse_time({"dateTime": inst.get("originalStart", ""), "timeZone": "UTC"}).astimezone(ZoneInfo(b["zone"]))
            if orig.date() in days or (b["all_day"] and str(inst.get("originalStart", ""))[:10] in {d.isoformat() for d in days}):
                self._call("delete", "DELETE", f"{self._base()}/events/{inst['id']}")

    def delete_block(self, uid: str) -> None:
        """Delete the Graph events that carry our ``uid`` (known from the snapshot: only ours)."""
        for eid in sorted(self._owned_ids.pop(uid, set())):
            self._call("delete", "DELETE", f"{self._base()}/events/{eid}")
            self._forget(eid)
        self._owned_fp.pop(uid, None)

    # --- answers --------------------------------------------------------------------------------

    def _target(self, occ: Occurrence) -> str:
        hit = self._index.get(occ.key)
        if hit is None:
            raise RuntimeFailure(f"{self.name}: event {occ.uid} at {occ.start.isoformat()} is no longer on the calendar")
        return str(hit["id"])

    def _act(self, occ: Occurrence, action: str, body: dict[str, Any]) -> None:
        try:
            self._call(f"{action} {occ.uid}", "POST", f"{self._base()}/events/{self._target(occ)}/{action}", body=body)
        except Gone:
            raise RuntimeFailure(f"{self.name}: event {occ.uid} at {occ.start.isoformat()} is no longer on the calendar") from None
        self._remember_answer(self._index.get(occ.key))

    def _mine(self, occ: Occurrence, owner_emails: tuple[str, ...]) -> str:
        owners = {e.lower() for e in owner_emails} | set(self.owner_emails)
        return next((a.partstat for a in occ.attendees if a.email in owners), "NEEDS-ACTION")

    def decline(self, occ: Occurrence, owner_emails: tuple[str, ...], comment: str,
                proposed: datetime | None = None) -> None:
        """Decline this occurrence (or the whole series) telling the organizer, with ``comment``
        and, where given, ``proposed`` (a start; the meeting's own length) as the new time."""
        if self._mine(occ, owner_emails) == "DECLINED":
            return
        # Graph's parameter names as its OpenAPI description (and Microsoft's own SDKs) spell them
        body: dict[str, Any] = {"Comment": comment, "SendResponse": True}
        if proposed is not None and not occ.all_day:
            zone = self.tz.key
            body["ProposedNewTime"] = {"start": graph_time(proposed, zone),
                                       "end": graph_time(proposed + (occ.end - occ.start), zone)}
        self._act(occ, "decline", body)

    def answer(self, occ: Occurrence, owner_emails: tuple[str, ...], partstat: str) -> None:
        """The owner's answer back from declined (Graph tells the organizer)."""
        series = bool(self._index.get(occ.key, {}).get("series"))
        if self._mine(occ, owner_emails) != "DECLINED" and not series:
            return
        self._act(occ, _ACTION.get(partstat, "tentativelyAccept"), {"Comment": "", "SendResponse": True})


def _expand(b: dict[str, Any], since: date, until: date) -> list[tuple[datetime | date, datetime | date]]:
    """The block's instances from ``since`` to ``until`` (for a rule Graph cannot express)."""
    import icalendar
    from dateutil.rrule import rrulestr

    start, end = b["start"], b["end"]
    length = end - start
    text = icalendar.vRecur(b["rrule"]).to_ical().decode()  # type: ignore[no-untyped-call]
    naive = start.replace(tzinfo=None) if isinstance(start, datetime) else datetime.combine(start, datetime.min.time())
    skip = {d.date() if isinstance(d, datetime) else d for d in b["exdates"]}
    out: list[tuple[datetime | date, datetime | date]] = []
    lo = max(naive, datetime.combine(since, datetime.min.time()))
    for dt in rrulestr(text, dtstart=naive, ignoretz=True).between(lo, datetime.combine(until, datetime.min.time()), inc=True):
        if dt.date() in skip:
            continue
        if isinstance(start, datetime):
            s = dt.replace(tzinfo=start.tzinfo)
            out.append((s, s + length))
        else:
            out.append((dt.date(), dt.date() + length))
    return out
