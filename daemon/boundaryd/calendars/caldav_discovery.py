"""From the URL a person has to the calendar collection (RFC 4791 6.2.1, RFC 5397).

Servers' settings pages show the principal or the calendar home more often than the calendar.
Given such a URL, the calendar is found through ``current-user-principal`` →
``calendar-home-set`` → the home's calendars that hold events; with one, that is the calendar;
with several, which one is the person's choice: they are listed with their URLs (BadInput, exit 2).
"""

from __future__ import annotations

import urllib.parse
import xml.etree.ElementTree as ET

from boundaryd.calendars.caldav_http import DavHttp, Refused
from boundaryd.calendars.caldav_xml import CALDAV, DAV, parse_xml, raw
from boundaryd.errors import BadInput

_WHAT_BODY = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:resourcetype/><d:current-user-principal/><c:calendar-home-set/></d:prop>
</d:propfind>"""

_LIST_BODY = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:resourcetype/><d:displayname/><c:supported-calendar-component-set/></d:prop>
</d:propfind>"""


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host; else BadInput naming it (exit 2)."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError as e:
        raise BadInput(f"caldav url {url!r} is not a valid URL ({e}); use the calendar's https://… address") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput(
            f"caldav url {url!r} is not an http:// or https:// URL with a host; use the calendar's https://… address"
        )
    return url


def _propfind(http: DavHttp, url: str, body: str, depth: str) -> ET.Element | None:
    try:
        resp = http.request("PROPFIND", url, body, {"Depth": depth}, refused_ok=True)
    except Refused:  # the reader's own request says what is wrong, in its words
        return None
    return parse_xml(raw(resp)) if resp.status == 207 else None


def _is_calendar(resp: ET.Element) -> bool:
    if resp.find(f".//{{{DAV}}}resourcetype/{{{CALDAV}}}calendar") is None:
        return False
    comps = resp.findall(f".//{{{CALDAV}}}supported-calendar-component-set/{{{CALDAV}}}comp")
    return not comps or any((c.get("name") or "").upper() == "VEVENT" for c in comps)


def _href(root: ET.Element, prop: str) -> str | None:
    text = root.findtext(f".//{prop}/{{{DAV}}}href")
    return urllib.parse.unquote(text.strip()) if text and text.strip() else None


def _calendars(http: DavHttp, home: str) -> list[tuple[str, str]]:
    """(URL, display name) of the event calendars directly in ``home``."""
    root = _propfind(http, home, _LIST_BODY, "1")
    out = []
    for resp in root.findall(f"{{{DAV}}}response") if root is not None else []:
        href = resp.findtext(f"{{{DAV}}}href")
        if href and _is_calendar(resp):
            url = urllib.parse.urljoin(home, href.strip())
            out.append((url if url.endswith("/") else url + "/", (resp.findtext(f".//{{{DAV}}}displayname") or "").strip()))
    return sorted(set(out))


def find_calendar(http: DavHttp, url: str) -> str:
    """The calendar collection ``url`` leads to: itself when it is one (one request)."""
    root = _propfind(http, url, _WHAT_BODY, "0")
    if root is None:
        return url  # not a WebDAV answer: the reader's own request says what is wrong
    first = root.find(f"{{{DAV}}}response")
    if first is not None and _is_calendar(first):
        return url
    homes = [url]
    home = _href(root, f"{{{CALDAV}}}calendar-home-set")
    principal = _href(root, f"{{{DAV}}}current-user-principal")
    if home is None and principal is not None:
        found = _propfind(http, urllib.parse.urljoin(url, principal), _WHAT_BODY, "0")
        home = _href(found, f"{{{CALDAV}}}calendar-home-set") if found is not None else None
    if home is not None:
        homes.append(urllib.parse.urljoin(url, home))
    for h in homes:
        calendars = _calendars(http, h)
        if len(calendars) == 1:
            return calendars[0][0]
        if calendars:
            listed = "; ".join(f"{name or '(no name)'}: {u}" for u, name in calendars)
            raise BadInput(
                f"caldav url {url} is not a calendar but leads to {len(calendars)}: {listed}. "
                "Put the URL of the one to protect in the rules' calendar: caldav: url"
            )
    raise BadInput(
        f"caldav url {url} is not a calendar and no calendar of this account was found from it; "
        "use the calendar's URL (the server's settings page shows it)"
    )
