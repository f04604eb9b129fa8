"""CalDAV (Nextcloud, Fastmail, iCloud, Radicale, Xandikos) through the caldav client's HTTP layer.

Reading is :mod:`caldav_reader`'s (one request on a quiet cycle). ``connect()`` asks the server
once whether it tells organizers of the owner's declines (RFC 6638 scheduling, for the owner's
address) and remembers the answer in the journal with the collection's state.
Our own writes are not saved to the journal: the next cycle's REPORT (or PROPFIND) brings them
back from the server, which is the truth, so a sync cut short after a write loses nothing.
Every write is conditional: If-None-Match: * to create, If-Match: <etag> to change or delete. A
412 on an answer or mark is re-read and retried (EDIT_ATTEMPTS) while the event is materially
the same; otherwise, and for blocks, someone else changed it: the executor re-reads and re-plans.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from boundaryd.calendars import caldav_cache, caldav_history
from boundaryd.calendars.base import SyncState
from boundaryd.calendars.caldav_discovery import check_url, find_calendar
from boundaryd.calendars.caldav_http import DavHttp
from boundaryd.calendars.caldav_reader import CollectionReader
from boundaryd.calendars.caldav_writes import Precondition, changed, if_match, put
from boundaryd.calendars.caldav_xml import Resource, raw, resource_name
from boundaryd.calendars.ical_edits import answer_in, material, unflag_in
from boundaryd.core import ical
from boundaryd.core.model import BlockEvent, Capabilities, Occurrence, Snapshot
from boundaryd.errors import BadInput, ChangeRefused, Conflict412, RuntimeFailure

TIMEOUT = 15  # seconds, each request; well under the daemon's watchdog interval
EDIT_ATTEMPTS = 3  # PUTs of one decline or mark when each gets a 412 for a change that is not material
#: scheduling servers whose reply to the organizer leaves out the attendee's COMMENT (README: interoperability)
DROP_COMMENT = frozenset({"sabre", "davical"})
#: scheduling servers whose reply to an instance's decline declines the whole series for the organizer
WIDENS_INSTANCES = frozenset({"davical"})
#: scheduling servers that reply to the organizer for a CATEGORIES change even with ``Schedule-Reply: F``
TALKATIVE_MARKS = frozenset({"davical"})
#: RFC 6638 8.1: this PUT is no reply; a mark must never reach the organizer (sabre/dav honours it)
QUIET = {"Schedule-Reply": "F"}


class CaldavBackend:
    writes_when_made = True  # each write is durable when its call returns (engine/journal_batch.py)
    def __init__(
        self,
        url: str,
        username: str | None,
        password: str | None,
        state: SyncState | None,
        timeout: int | None = None,
        owner_emails: Sequence[str] = (),
    ) -> None:
        self.url = check_url(url) if url.endswith("/") else check_url(url) + "/"
        self.name = f"caldav:{self.url}"
        self.owner_emails = frozenset(e.lower() for e in owner_emails)
        # the timeout is read at call time: tests lower it
        self.http = DavHttp(self.url, username, password, timeout if timeout is not None else TIMEOUT)
        self.reader = CollectionReader(self.http, self.url, state)
        #: final after connect(); until then what a server without scheduling can do
        self.capabilities = Capabilities(tells_organizer=False, flag_mark="categories")
        self._connected = False
        self._uid_href: dict[str, str] = {}
        self._tz: ZoneInfo | None = None
        self._stale: set[str] = set()  # written by us in this sync: re-read before another edit
        self._no_flag_marks = False  # the server refused CATEGORIES on an attendee's copy

    @classmethod
    def open(cls, url: str, section: Any, context: Any) -> CaldavBackend:
        """The registry's constructor, from the rules' ``calendar: caldav:`` section."""
        from boundaryd.secrets import read_secret

        username = password = None
        if section is not None:
            username = section.username
            password = read_secret(
                file=section.password_file, env=section.password_env, credential="caldav-password", what="CalDAV password"
            )
            if username and password is None:
                raise BadInput(
                    f"caldav {url}: username {username!r} has no password (set password_env or password_file)"
                )
        return cls(url, username, password, context.sync_state, owner_emails=context.owner_emails)

    @property
    def client(self) -> Any:
        return self.http.client

    def _request(self, method: str, href: str, body: str = "", headers: dict[str, str] | None = None) -> Any:
        return self.http.request(method, href, body, headers)

    # -- connecting, reading ----------------------------------------------------------------------
    def connect(self) -> Capabilities:
        """Ask once whether the server tells organizers, and which server it is (remembered in the
        journal). sabre/dav and DAViCal send the organizer a reply without the owner's COMMENT
        (``decline_comment`` False: boundaryd's iMIP reply carries it); DAViCal also replies for
        a mere CATEGORIES change and ignores ``Schedule-Reply: F``, so it gets no mark at all."""
        if not self._connected:
            self.reader.load()
            kind = self._memo("server")
            if self.reader.scheduling is None or kind is None:
                self.reader.scheduling, kind = self.http.scheduling(self.owner_emails)
                self.reader.save()
                if self.reader.state is not None:
                    self.reader.state.set(f"{self.reader.key}:server", kind)
            tells = bool(self.reader.scheduling)
            marks = self._memo("flags") != "refused" and not (tells and kind in TALKATIVE_MARKS)
            self._no_flag_marks = not marks
            self.capabilities = Capabilities(
                tells_organizer=tells,
                decline_comment=not (tells and kind in DROP_COMMENT),
                instance_replies=not (tells and kind in WIDENS_INSTANCES),
                flag_mark="categories" if marks else "",
            )
            self._connected = True
        return self.capabilities

    def _sync(self) -> bool:
        """The reader's sync; where the URL never read as a calendar fails, it may be a principal or
        a calendar home (what settings pages show): then the calendar is found from it and read."""
        fresh = not self.reader.token and not self.reader.items
        try:
            changed = self.reader.sync()
        except (RuntimeFailure, BadInput) as first:
            if not fresh:
                raise
            found = find_calendar(self.http, self.url)  # BadInput when there are several, or none
            if found == self.url:
                raise first from None
        else:
            # A principal or a home answers a sync with nothing: asked once, on a first empty read.
            if not fresh or self.reader.items:
                return changed
            try:
                found = find_calendar(self.http, self.url)
            except RuntimeFailure:  # no answer to the question: the URL read fine, keep it
                return changed
            if found == self.url:
                return changed
        state = self.reader.state
        self.url = found
        self.http = DavHttp(found, self.http.username, self.http.password, self.http.timeout)
        self.reader = CollectionReader(self.http, found, state)
        self.reader.load()
        self.reader.scheduling = self.capabilities.tells_organizer
        return self.reader.sync() or True

    def _memo(self, what: str) -> str | None:
        state = self.reader.state
        return state.get(f"{self.reader.key}:{what}") if state is not None else None

    def snapshot(self, start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        self._tz = tz
        self.connect()
        self.reader.load()
        self.reader.scheduling = self.capabilities.tells_organizer
        if self._sync():
            self.reader.save()
        # only the resources whose text changed since the last cycle are parsed (caldav_cache)
        occs, owned, skipped, self._uid_href = caldav_cache.read(self.url, self.reader.items, start, end, tz)
        return Snapshot(tuple(occs), tuple(owned), tuple(skipped), self.capabilities)

    def history(self, start: datetime, end: datetime, tz: ZoneInfo) -> list[Occurrence]:
        """The past (``leads``): see :func:`caldav_history.history`."""
        self.connect()
        return caldav_history.history(self, start, end, tz)

    # -- writing --------------------------------------------------------------------------------
    @property
    def _items(self) -> dict[str, Resource]:
        return self.reader.items

    def _put(self, href: str, cal: icalendar.Calendar, *, create: bool, quiet: bool = False) -> None:
        data = cal.to_ical().decode("utf-8")
        match = None if create else self._if_match(href)
        put(self._request, self.http, self.url, href, data, match, QUIET if quiet else None)
        # A scheduling server may rewrite what we stored (RFC 6638), so the ETag of our PUT need
        # not be the stored one: a second edit in this sync reads the resource again first.
        self._items[href] = Resource("", data)
        self._stale.add(href)

    def _if_match(self, href: str) -> dict[str, str]:
        return if_match(self._request, self.url, href, self._items[href])

    def _resource(self, uid: str) -> tuple[str, icalendar.Calendar] | None:
        href = self._uid_href.get(uid)
        if href is None or href not in self._items:
            return None
        if href in self._stale:
            resp = self._request("GET", href)
            if resp.status == 404:
                self._items.pop(href, None)
                return None
            if resp.status != 200:
                raise RuntimeFailure(f"caldav {self.url}: the server answered {resp.status} to GET {href}")
            self._items[href] = Resource(resp.headers.get("ETag") or "", raw(resp).decode("utf-8", "replace"))
            self._stale.discard(href)
        return href, ical.parse_calendar(self._items[href].data, href)

    def put_block(self, event: BlockEvent) -> None:
        found = self._resource(event.uid)
        cal = ical.block_calendar(event, datetime.now(timezone.utc))
        if found is None:
            href = urllib.parse.urlparse(self.url).path + resource_name(event.uid)
            # already there from an interrupted sync: replace it
            self._put(href, cal, create=href not in self._items)
            self._uid_href[event.uid] = href
        else:
            self._put(found[0], cal, create=False)

    def delete_block(self, uid: str) -> None:
        """Delete our event ``uid``; one that is gone, or not ours, is left alone."""
        try:
            found = self._resource(uid)
        except BadInput:  # unreadable: no telling it is ours, so it is left alone
            return
        if found is None or not any(ical.BLOCK_PROP in c for c in ical._components(found[1], uid)):
            return
        href = found[0]
        resp = self._request("DELETE", href, "", self._if_match(href))
        if resp.status == 412:
            raise changed(self.url, href)
        if resp.status in (401, 403):
            raise RuntimeFailure(self.http.bad_credentials if resp.status == 401 else self.http.forbidden)
        if resp.status not in (200, 204, 404, 410):
            raise RuntimeFailure(f"caldav {self.url}: the server answered {resp.status} to DELETE {href}")
        self._items.pop(href, None)
        self._uid_href.pop(uid, None)

    def decline(self, occ: Occurrence, owner_emails: tuple[str, ...], comment: str) -> None:
        """PARTSTAT=DECLINED with the message as COMMENT; where a scheduling server refuses that
        (RFC 6638 3.1), PARTSTAT alone. Xandikos refuses an attendee's override for one instance
        of a series whatever it holds: that is a ChangeRefused, reported once."""
        for text in (comment, None):

            def change(cal: icalendar.Calendar, tz: ZoneInfo, text: str | None = text) -> bool:
                return ical.decline_in(cal, occ, owner_emails, text, tz)

            try:
                self._edit(occ, change)
                return
            except Precondition as e:
                if e.name == "attendee-allowed" and text is not None:
                    continue  # try again with PARTSTAT alone
                raise ChangeRefused(
                    f"caldav {self.url}: the server refuses the decline of {occ.uid}"
                    + (f" on {occ.start:%Y-%m-%d %H:%M}" if occ.recurrence_id is not None else "")
                    + f" ({e.name}: it lets an attendee change only their reply to the whole event)"
                ) from None

    def _edit(
        self, occ: Occurrence, change: Callable[[icalendar.Calendar, ZoneInfo], bool], *, quiet: bool = False
    ) -> None:
        """Apply ``change`` to the event as stored. A 412 (a server-side change: schedule-tag,
        SCHEDULE-STATUS, another client's alarm) means re-read and apply it again, up to
        EDIT_ATTEMPTS times, as long as what the plan decided on is unchanged; otherwise the
        Conflict412 stands and the next sync re-plans."""
        found = self._resource(occ.uid)
        if found is None or self._tz is None:
            return
        decided = material(found[1], occ.uid)
        for attempt in range(1, EDIT_ATTEMPTS + 1):
            href, cal = found
            if not change(cal, self._tz):
                return
            try:
                self._put(href, cal, create=False, quiet=quiet)
                return
            except Conflict412:
                self._stale.add(href)
                found = self._resource(occ.uid)
                if attempt == EDIT_ATTEMPTS or found is None or material(found[1], occ.uid) != decided:
                    raise

    def answer(self, occ: Occurrence, owner_emails: tuple[str, ...], partstat: str) -> None:
        """The owner's answer back from DECLINED to ``partstat`` (a scheduling server tells the organizer)."""
        self._edit(occ, lambda cal, tz: answer_in(cal, occ, owner_emails, partstat, tz))

    def flag(self, occ: Occurrence) -> None:
        """CATEGORIES:Conflict, where the server lets the attendee change it; never a reply to the organizer."""
        self._mark(occ, lambda cal, tz: ical.flag_in(cal, occ, tz))

    def unflag(self, occ: Occurrence) -> None:
        """CATEGORIES without Conflict, where the server let the attendee set it."""
        self._mark(occ, lambda cal, tz: unflag_in(cal, occ, tz))

    def _mark(self, occ: Occurrence, change: Callable[[icalendar.Calendar, ZoneInfo], bool]) -> None:
        if self._no_flag_marks:
            return
        try:
            self._edit(occ, change, quiet=True)
        except Precondition as e:
            if e.name != "attendee-allowed":
                raise RuntimeFailure(f"caldav {self.url}: the server refused the mark on {occ.uid} ({e.name})") from None
            self._no_flag_marks = True  # CATEGORIES is the organizer's here; the notice lists the flag
            if self.reader.state is not None:  # remembered: the next connect says flag_mark ""
                self.reader.state.set(f"{self.reader.key}:flags", "refused")

    def flush(self) -> None:
        """Every change was already written, one conditional request each."""
