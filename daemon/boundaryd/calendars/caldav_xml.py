"""CalDAV on the wire: the request bodies boundaryd sends and the parsing of what comes back."""

from __future__ import annotations

import hashlib
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from boundaryd.errors import RuntimeFailure

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"

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


QUERY_BODY = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
    <c:time-range start="{start}" end="{end}"/>
  </c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"""


@dataclass
class Resource:
    etag: str
    data: str


def precondition(body: bytes) -> str | None:
    """The name of the precondition in an error body (``attendee-allowed``), if there is one."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if not root.tag.endswith("}error"):
        return None
    for child in root:
        ns, _, name = child.tag.rpartition("}")
        # Preconditions are DAV:/CalDAV names (RFC 4918 16, RFC 4791 1.3); a server's own elements
        # (sabre/dav adds s:sabredav-version, s:exception, s:message) are not preconditions.
        # DAViCal names the failed If-Match/If-None-Match itself: that is an ETag mismatch (a 412
        # to re-read and retry), not a refusal.
        if ns.lstrip("{") in _PRECONDITION_NS and name not in _NOT_PRECONDITIONS:
            return name
    return None


_PRECONDITION_NS = ("DAV:", "urn:ietf:params:xml:ns:caldav", "")
_NOT_PRECONDITIONS = ("responsedescription", "if-match", "if-none-match")


def status_of(e: BaseException) -> str:
    """The HTTP status of a caldav AuthorizationError ("401" or "403"), as far as it tells."""
    for attr in ("status", "reason"):
        text = str(getattr(e, attr, "") or "")
        for code in ("401", "403"):
            if code in text:
                return code
    text = str(e)
    return "401" if "401" in text or "Unauthorized" in text else "403" if "403" in text or "Forbidden" in text else ""


def parse_xml(data: bytes) -> ET.Element | None:
    try:
        return ET.fromstring(data)
    except ET.ParseError:
        return None


def raw(resp: Any) -> bytes:
    body = resp.raw
    return body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")


def parse_multistatus(data: bytes) -> tuple[str, dict[str, Resource], list[str]]:
    """(new sync token, {href: resource} changed or present, [hrefs gone])."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise RuntimeFailure(f"caldav: the server's answer is not XML ({e})") from None
    token = (root.findtext(f"{{{DAV}}}sync-token") or "").strip()
    changed: dict[str, Resource] = {}
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
        changed[href] = Resource(etag, data_text)
    return token, changed, gone


def user_addresses(root: ET.Element | None) -> frozenset[str] | None:
    """The e-mail addresses in a calendar-user-address-set answer (RFC 6638 2.4.1)."""
    if root is None:
        return None
    found = root.findall(f".//{{{CALDAV}}}calendar-user-address-set/{{{DAV}}}href")
    return frozenset(
        urllib.parse.unquote(h.text.strip()).lower().removeprefix("mailto:")
        for h in found
        if h.text and h.text.strip().lower().startswith("mailto:")
    )


def resource_name(uid: str) -> str:
    """A file name for a new resource: the UID where it is safe, else its hash."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in uid)
    return (safe if safe == uid.replace("@", "-") else hashlib.sha256(uid.encode()).hexdigest()[:32]) + ".ics"


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def describe(e: BaseException) -> str:
    text = " ".join(str(e).split())
    name = type(e).__name__
    if "timed out" in text.lower() or "timeout" in name.lower():
        return "timed out"
    if "refused" in text.lower():
        return "connection refused"
    return f"{name}: {text[:200]}" if text else name
