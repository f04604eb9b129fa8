"""CalDAV (Nextcloud, Fastmail, iCloud, Radicale, Xandikos) through the caldav client's HTTP layer.

A cycle with nothing new costs one request: a sync-collection REPORT (RFC 6578) with the token
from the last cycle, asking for ETags and calendar data of whatever changed. The resources read
so far, their ETags and the token are kept together in the journal (one JSON value under
``caldav:<hash of the URL>``), so they never disagree. A server without sync-collection gets a
PROPFIND of the collection's ETags instead, and a calendar-multiget of what changed: still one
request when nothing did, two when something did.
Our own writes are not saved to the journal: the next cycle's REPORT (or PROPFIND) brings them
back from the server, which is the truth, so a sync cut short after a write loses nothing.
Every write is conditional: If-None-Match: * to create, If-Match: <etag> to change or delete. A
412 means someone else changed the event; the executor re-reads and re-plans.
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from boundaryd.calendars.base import SyncState
from boundaryd.core import ical
from boundaryd.core.model import BlockEvent, Occurrence, Skipped, Snapshot
from boundaryd.errors import BadInput, ChangeRefused, Conflict412, RuntimeFailure

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
TIMEOUT = 15  # seconds, each request; well under the daemon's watchdog interval
REQUESTS = {"count": 0}  # every HTTP request made, for tests and bench/

SYNC_BODY = """<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:sync-token>{token}</d:sync-token>
  <d:sync-level>1</d:sync-level>
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
</d:sync-collection>"""

PROPFIND_BODY = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:resourcetype/></d:prop></d:propfind>"""

PRINCIPAL_BODY = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>"""

ADDRESSES_BODY = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><c:calendar-user-address-set/></d:prop>
</d:propfind>"""

MULTIGET_BODY = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  {hrefs}
</c:calendar-multiget>"""


@dataclass
class _Resource:
    etag: str
    data: str


class CaldavBackend:
    def __init__(
        self,
        url: str,
        username: str | None,
        password: str | None,
        state: SyncState | None,
        timeout: int | None = None,
        owner_emails: Sequence[str] = (),
    ) -> None:
        from caldav.davclient import DAVClient

        self.url = url if url.endswith("/") else url + "/"
        self.name = f"caldav:{self.url}"
        self.state = state
        self.owner_emails = frozenset(e.lower() for e in owner_emails)
        self.client = DAVClient(
            url=self.url,
            username=username,
            password=password,
            auth_type="basic" if username else None,
            timeout=timeout if timeout is not None else TIMEOUT,  # read at call time: tests lower it
            require_tls=False,
            enable_rfc6764=False,
        )
        self._key = "caldav:" + hashlib.sha256(self.url.encode()).hexdigest()[:16]
        self._items: dict[str, _Resource] = {}
        self._token = ""
        self._uid_href: dict[str, str] = {}
        self._tz: ZoneInfo | None = None
        self._tells: bool | None = None
        self._by_etags = False  # the server has no sync-collection: list ETags with PROPFIND
        self._stale: set[str] = set()  # written by us in this sync: re-read before another edit
        self._no_flag_marks = False  # the server refused CATEGORIES on an attendee's copy

    @classmethod
    def from_rules(cls, rules: Any, url: str, sync_state: SyncState | None) -> CaldavBackend:
        from boundaryd.secrets import read_secret

        cfg = rules.calendar.caldav if rules.calendar is not None else None
        username = password = None
        if cfg is not None:
            username = cfg.username
            password = read_secret(
                file=cfg.password_file, env=cfg.password_env, credential="caldav-password", what="CalDAV password"
            )
            if username and password is None:
                raise BadInput(
                    f"caldav {url}: username {username!r} has no password (set password_env or password_file)"
                )
        return cls(url, username, password, sync_state, owner_emails=rules.owner.emails)

    # -- HTTP -----------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        href: str,
        body: str = "",
        headers: dict[str, str] | None = None,
        *,
        refused_ok: bool = False,
        not_implemented_ok: bool = False,
    ) -> Any:
        from caldav.lib import error as dav_error

        # hrefs are kept decoded (as listed by the server); they are encoded on the wire only
        url = (
            href
            if href.startswith(("http://", "https://"))
            else urllib.parse.urljoin(self.url, urllib.parse.quote(href, safe="/:@!$&'()*+,;=-._~"))
        )
        REQUESTS["count"] += 1
        try:
            resp = self.client.request(url, method, body, headers or {})
        except dav_error.AuthorizationError as e:
            if refused_ok:  # a 403 to a sync token may only mean the token expired
                raise _Refused(_status_of(e)) from None
            raise RuntimeFailure(self._bad_credentials) from None
        except dav_error.RateLimitError:
            raise RuntimeFailure(f"caldav {self.url}: the server asks us to slow down (will retry)") from None
        except Exception as e:  # noqa: BLE001 - connection refused, timeout, reset, TLS: all one line
            raise RuntimeFailure(f"caldav {self.url}: {method} failed ({_describe(e)})") from None
        if resp.status >= 500 and not (not_implemented_ok and resp.status == 501):
            raise RuntimeFailure(f"caldav {self.url}: the server answered {resp.status} to {method} (will retry)")
        return resp

    @property
    def _bad_credentials(self) -> str:
        return f"caldav {self.url}: the server refused the credentials (check username and password_env/password_file)"

    # -- reading ------------------------------------------------------------------------------
    def _load_state(self) -> None:
        raw = self.state.get(self._key) if self.state is not None else None
        if raw:
            try:
                saved = json.loads(raw)
                self._token = saved.get("token", "")
                self._items = {h: _Resource(v["etag"], v["data"]) for h, v in saved.get("items", {}).items()}
                self._tells = saved.get("scheduling")
                self._by_etags = saved.get("mode") == "etags"
                return
            except (ValueError, KeyError, TypeError):
                pass
        self._token, self._items, self._tells, self._by_etags = "", {}, None, False

    def _save_state(self) -> None:
        if self.state is None:
            return
        blob = {
            "token": self._token,
            "scheduling": self._tells,
            "mode": "etags" if self._by_etags else "sync-collection",
            "items": {h: {"etag": r.etag, "data": r.data} for h, r in sorted(self._items.items())},
        }
        self.state.set(self._key, json.dumps(blob, sort_keys=True))

    def _sync_report(self, token: str) -> Any:
        """The sync-collection REPORT, or None when the server refuses it (401 is raised)."""
        try:
            return self._request(
                "REPORT",
                self.url,
                SYNC_BODY.format(token=_xml_escape(token)),
                {"Depth": "0"},  # RFC 6578 3.2: Depth 0; the depth is sync-level
                refused_ok=True,
                not_implemented_ok=True,
            )
        except _Refused as e:
            if e.args and e.args[0] == "401":
                raise RuntimeFailure(self._bad_credentials) from None
            return None

    def _sync(self) -> bool:
        """Bring the cache up to date. Returns whether anything changed."""
        if self._by_etags:
            return self._sync_by_etags()
        resp = self._sync_report(self._token)
        if self._token and (resp is None or resp.status in (400, 403, 409, 412)):
            # the token is no longer valid (RFC 6578 3.2: 403 valid-sync-token; Xandikos says 412,
            # others 400/409): read everything again
            self._token, self._items = "", {}
            resp = self._sync_report("")
        if resp is not None and resp.status == 404:
            raise BadInput(f"caldav {self.url}: no calendar at this URL (check the calendar's URL)")
        if resp is None or resp.status in (400, 403, 405, 415, 501):
            # no sync-collection here (or not on this collection): compare ETags instead
            self._token, self._items, self._by_etags = "", {}, True
            self._sync_by_etags()
            return True
        if resp.status not in (200, 207):
            raise RuntimeFailure(f"caldav {self.url}: the server answered {resp.status} to REPORT sync-collection")
        token, changed, gone = _parse_multistatus(_raw(resp))
        missing = [h for h, r in changed.items() if r.data == ""]
        if missing:  # a server that lists changes without their data: fetch them in one more request
            fetched = self._multiget(missing)
            changed.update(fetched)
        for h in gone:
            self._items.pop(h, None)
        self._items.update({h: r for h, r in changed.items() if r.data})
        dirty = bool(changed or gone or token != self._token)
        self._token = token or self._token
        return dirty

    def _sync_by_etags(self) -> bool:
        """PROPFIND the collection's ETags; fetch what is new or changed in one multiget."""
        resp = self._request("PROPFIND", self.url, PROPFIND_BODY, {"Depth": "1"})
        if resp.status == 404:
            raise BadInput(f"caldav {self.url}: no calendar at this URL (check the calendar's URL)")
        if resp.status not in (200, 207):
            raise RuntimeFailure(f"caldav {self.url}: the server answered {resp.status} to PROPFIND")
        _, listed, _ = _parse_multistatus(_raw(resp))
        etags = {h: r.etag for h, r in listed.items() if h.endswith(".ics") or r.etag}
        changed = [h for h, e in etags.items() if h not in self._items or not e or self._items[h].etag != e]
        gone = [h for h in self._items if h not in etags]
        for h in gone:
            del self._items[h]
        if changed:
            self._items.update({h: r for h, r in self._multiget(changed).items() if r.data})
        return bool(changed or gone)

    def _multiget(self, hrefs: list[str]) -> dict[str, _Resource]:
        body = MULTIGET_BODY.format(hrefs="".join(f"<d:href>{_xml_escape(h)}</d:href>" for h in hrefs))
        resp = self._request("REPORT", self.url, body, {"Depth": "1"})
        _, found, _ = _parse_multistatus(_raw(resp))
        return found

    def snapshot(self, start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        self._tz = tz
        self._load_state()
        if self._tells is None:  # asked once, with the first full read
            _ = self.tells_organizer
        if self._sync():
            self._save_state()
        combined = ical.new_calendar()
        zones: set[str] = set()
        skipped: list[Skipped] = []
        self._uid_href = {}
        for href, res in sorted(self._items.items()):
            try:
                cal = ical.parse_calendar(res.data, href)
            except BadInput as e:
                skipped.append(Skipped(uid=href.rsplit("/", 1)[-1], reason=e.problems[0]))
                continue
            for comp in cal.subcomponents:
                if comp.name == "VTIMEZONE":
                    tzid = str(comp.get("TZID"))
                    if tzid in zones:
                        continue
                    zones.add(tzid)
                elif comp.name == "VEVENT":
                    self._uid_href.setdefault(str(comp.get("UID", "")).strip(), href)
                combined.add_component(comp)
        occs, owned, bad = ical.occurrences_of(combined, start, end, tz)
        return Snapshot(tuple(occs), tuple(owned), tuple(skipped + bad))

    @property
    def tells_organizer(self) -> bool:
        """Whether the server tells organizers of our declines: asked once, then remembered.

        It does when it does CalDAV scheduling (RFC 6638: ``calendar-auto-schedule`` in the DAV
        header) and the account's calendar user addresses include one of the owner's: a server
        only replies for its own user, so for an owner it does not know, boundaryd replies."""
        if self._tells is None:
            resp = self._request("OPTIONS", self.url)
            dav = ",".join(str(v) for k, v in resp.headers.items() if k.lower() == "dav")
            self._tells = "calendar-auto-schedule" in dav
            if self._tells and self.owner_emails:
                addresses = self._user_addresses()
                if addresses is not None:  # unreadable: trust the DAV header
                    self._tells = bool(addresses & self.owner_emails)
            self._save_state()
        return bool(self._tells)

    def _user_addresses(self) -> frozenset[str] | None:
        """The e-mail addresses in the principal's calendar-user-address-set (RFC 6638 2.4.1)."""
        resp = self._request("PROPFIND", self.url, PRINCIPAL_BODY, {"Depth": "0"})
        if resp.status != 207:
            return None
        root = _xml(_raw(resp))
        href = root.findtext(f".//{{{DAV}}}current-user-principal/{{{DAV}}}href") if root is not None else None
        if not href:
            return None
        resp = self._request("PROPFIND", urllib.parse.unquote(href.strip()), ADDRESSES_BODY, {"Depth": "0"})
        root = _xml(_raw(resp)) if resp.status == 207 else None
        if root is None:
            return None
        found = root.findall(f".//{{{CALDAV}}}calendar-user-address-set/{{{DAV}}}href")
        return frozenset(
            urllib.parse.unquote(h.text.strip()).lower().removeprefix("mailto:")
            for h in found
            if h.text and h.text.strip().lower().startswith("mailto:")
        )

    # -- writing --------------------------------------------------------------------------------
    def _put(self, href: str, cal: icalendar.Calendar, *, create: bool) -> None:
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if create:
            headers["If-None-Match"] = "*"
        else:
            headers.update(self._if_match(href))
        data = cal.to_ical().decode("utf-8")
        resp = self._request("PUT", href, data, headers)
        if resp.status in (403, 409, 412) and (pre := _precondition(_raw(resp))):
            raise _Precondition(pre)
        if resp.status == 412:
            raise Conflict412(f"caldav {self.url}: {href} was changed by someone else (the next sync re-reads it)")
        if resp.status not in (200, 201, 204):
            raise RuntimeFailure(f"caldav {self.url}: the server answered {resp.status} to PUT {href}")
        # A scheduling server may rewrite what we stored (RFC 6638), so the ETag of our PUT need
        # not be the stored one: a second edit in this sync reads the resource again first.
        self._items[href] = _Resource("", data)
        self._stale.add(href)

    def _if_match(self, href: str) -> dict[str, str]:
        """``If-Match`` with the ETag we read. A weak ETag (``W/"..."``, e.g. behind a proxy that
        compresses) can never match (RFC 9110 13.1.1): then a GET just before the write checks
        that the resource is still what we read, and the write goes without the header."""
        etag = self._items[href].etag
        if etag and not etag.startswith("W/"):
            return {"If-Match": etag}
        resp = self._request("GET", href)
        changed = f"caldav {self.url}: {href} was changed by someone else (the next sync re-reads it)"
        if resp.status in (404, 410):
            raise Conflict412(changed)
        if resp.status != 200:
            raise RuntimeFailure(f"caldav {self.url}: the server answered {resp.status} to GET {href}")
        now = resp.headers.get("ETag") or ""
        if etag and now:
            same = now.removeprefix("W/") == etag.removeprefix("W/")  # the weak comparison
        else:
            same = _raw(resp).decode("utf-8", "replace").replace("\r\n", "\n").strip() == (
                self._items[href].data.replace("\r\n", "\n").strip()
            )
        if not same:
            raise Conflict412(changed)
        return {}

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
            self._items[href] = _Resource(resp.headers.get("ETag") or "", _raw(resp).decode("utf-8", "replace"))
            self._stale.discard(href)
        return href, ical.parse_calendar(self._items[href].data, href)

    def put_block(self, event: BlockEvent) -> None:
        found = self._resource(event.uid)
        cal = ical.block_calendar(event, datetime.now(timezone.utc))
        if found is None:
            href = urllib.parse.urlparse(self.url).path + _resource_name(event.uid)
            if href in self._items:  # already there from an interrupted sync: replace it
                self._put(href, cal, create=False)
            else:
                self._put(href, cal, create=True)
            self._uid_href[event.uid] = href
        else:
            self._put(found[0], cal, create=False)

    def delete_block(self, uid: str) -> None:
        href = self._uid_href.get(uid)
        if href is None or href not in self._items:
            return
        resp = self._request("DELETE", href, "", self._if_match(href))
        if resp.status == 412:
            raise Conflict412(f"caldav {self.url}: {href} was changed by someone else (the next sync re-reads it)")
        if resp.status not in (200, 204, 404, 410):
            raise RuntimeFailure(f"caldav {self.url}: the server answered {resp.status} to DELETE {href}")
        self._items.pop(href, None)
        self._uid_href.pop(uid, None)

    def decline(self, occ: Occurrence, owner_emails: tuple[str, ...], comment: str) -> None:
        """PARTSTAT=DECLINED with the message as COMMENT; where a scheduling server refuses that
        (RFC 6638 3.1), PARTSTAT alone. Xandikos refuses an attendee's override for one instance
        of a series whatever it holds: that is a ChangeRefused, reported once."""
        for text in (comment, None):
            found = self._resource(occ.uid)
            if found is None or self._tz is None:
                return
            href, cal = found
            try:
                if ical.decline_in(cal, occ, owner_emails, text, self._tz):
                    self._put(href, cal, create=False)
                return
            except _Precondition as e:
                if e.name == "attendee-allowed" and text is not None:
                    continue  # try again with PARTSTAT alone
                raise ChangeRefused(
                    f"caldav {self.url}: the server refuses the decline of {occ.uid}"
                    + (f" on {occ.start:%Y-%m-%d %H:%M}" if occ.recurrence_id is not None else "")
                    + f" ({e.name}: it lets an attendee change only their reply to the whole event)"
                ) from None

    def flag(self, occ: Occurrence) -> None:
        """CATEGORIES:Conflict, where the server lets the attendee change it."""
        if self._no_flag_marks:
            return
        found = self._resource(occ.uid)
        if found is None or self._tz is None:
            return
        href, cal = found
        try:
            if ical.flag_in(cal, occ, self._tz):
                self._put(href, cal, create=False)
        except _Precondition as e:
            if e.name != "attendee-allowed":
                raise RuntimeFailure(f"caldav {self.url}: the server refused the flag on {href} ({e.name})") from None
            self._no_flag_marks = True  # CATEGORIES is the organizer's here; the notice lists the flag

    def flush(self) -> None:
        """Every change was already written, one conditional request each."""


class _Refused(Exception):
    """401/403 from the server (caldav raises instead of returning)."""


class _Precondition(Exception):
    """The server refused a write for a CalDAV/WebDAV precondition (not an ETag mismatch)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _precondition(body: bytes) -> str | None:
    """The name of the precondition in an error body (``attendee-allowed``), if there is one."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if not root.tag.endswith("}error"):
        return None
    for child in root:
        name = child.tag.rsplit("}", 1)[-1]
        if name != "responsedescription":
            return name
    return None


def _status_of(e: BaseException) -> str:
    """The HTTP status of a caldav AuthorizationError ("401" or "403"), as far as it tells."""
    for attr in ("status", "reason"):
        text = str(getattr(e, attr, "") or "")
        for code in ("401", "403"):
            if code in text:
                return code
    text = str(e)
    return "401" if "401" in text or "Unauthorized" in text else "403" if "403" in text or "Forbidden" in text else ""


def _xml(data: bytes) -> ET.Element | None:
    try:
        return ET.fromstring(data)
    except ET.ParseError:
        return None


def _raw(resp: Any) -> bytes:
    raw = resp.raw
    return raw.encode("utf-8") if isinstance(raw, str) else bytes(raw or b"")


def _parse_multistatus(data: bytes) -> tuple[str, dict[str, _Resource], list[str]]:
    """(new sync token, {href: resource} changed or present, [hrefs gone])."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise RuntimeFailure(f"caldav: the server's answer is not XML ({e})") from None
    token = (root.findtext(f"{{{DAV}}}sync-token") or "").strip()
    changed: dict[str, _Resource] = {}
    gone: list[str] = []
    for r in root.findall(f"{{{DAV}}}response"):
        href = urllib.parse.unquote((r.findtext(f"{{{DAV}}}href") or "").strip())
        if not href or href.endswith("/"):
            continue
        status = r.findtext(f"{{{DAV}}}status") or ""
        if " 404" in status or " 410" in status:
            gone.append(href)
            continue
        etag = data_text = ""
        for ps in r.findall(f"{{{DAV}}}propstat"):
            if " 200" not in (ps.findtext(f"{{{DAV}}}status") or ""):
                continue
            prop = ps.find(f"{{{DAV}}}prop")
            if prop is None:
                continue
            etag = (prop.findtext(f"{{{DAV}}}getetag") or etag).strip()
            data_text = prop.findtext(f"{{{CALDAV}}}calendar-data") or data_text
        changed[href] = _Resource(etag, data_text)
    return token, changed, gone


def _resource_name(uid: str) -> str:
    """A file name for a new resource: the UID where it is safe, else its hash."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in uid)
    return (safe if safe == uid.replace("@", "-") else hashlib.sha256(uid.encode()).hexdigest()[:32]) + ".ics"


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _describe(e: BaseException) -> str:
    text = " ".join(str(e).split())
    name = type(e).__name__
    if "timed out" in text.lower() or "timeout" in name.lower():
        return "timed out"
    if "refused" in text.lower():
        return "connection refused"
    return f"{name}: {text[:200]}" if text else name
