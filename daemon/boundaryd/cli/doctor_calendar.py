"""``doctor``'s calendar line: reachable, readable, writable, and the right collection.

ics: the file (or its folder) is writable. CalDAV: the URL (or what it leads to) is a calendar
collection that holds events (``supported-calendar-component-set`` names VEVENT) and the account
may write to it (``current-user-privilege-set``). Google: see :mod:`doctor_google`. Reads a day of
the calendar; writes nothing anywhere.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from boundaryd.core.model import Capabilities
from boundaryd.errors import BadInput, BoundarydError
from boundaryd.presentation.doctor import Finding

_COLLECTION_BODY = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:resourcetype/><c:supported-calendar-component-set/><d:current-user-privilege-set/></d:prop>
</d:propfind>"""
_WRITE = {"write", "write-content", "all", "bind"}


def check(rules: Any, state_dir: Path, uri: str | None, now: datetime) -> tuple[Finding, Capabilities | None]:
    """The calendar's line, and what the calendar can do (None when it could not be reached)."""
    from boundaryd.calendars import open_backend

    try:
        backend = open_backend(rules, uri, str(state_dir))
        caps = backend.connect()
        kind = backend.name.partition(":")[0]
        if kind == "google":
            from boundaryd.cli import doctor_google

            return doctor_google.calendar(backend, now), backend.capabilities
        backend.snapshot(now, now + timedelta(days=1), rules.tz)
    except BadInput as e:
        return Finding("calendar", "misconfigured", "calendar.bad", "; ".join(e.problems)), None
    except BoundarydError as e:
        return Finding("calendar", "unreachable", "calendar.down", str(e)), None
    if kind == "caldav":
        return _caldav(backend, uri or rules.calendar.caldav.url), caps
    path = getattr(backend, "path", None)
    if isinstance(path, Path):
        if not path.exists():
            return Finding("calendar", "ok", "calendar.new", str(path)), caps
        if not os.access(path.parent, os.W_OK) or not os.access(path, os.W_OK):
            return Finding("calendar", "misconfigured", "calendar.readonly", str(path)), caps
    return Finding("calendar", "ok", "calendar.writable" if isinstance(path, Path) else "calendar.ok", backend.name), caps


def _caldav(backend: Any, configured: str) -> Finding:
    from boundaryd.calendars.caldav_xml import CALDAV, DAV, parse_xml, raw

    url = backend.url
    try:
        resp = backend.http.request("PROPFIND", url, _COLLECTION_BODY, {"Depth": "0"})
    except BoundarydError as e:
        return Finding("calendar", "unreachable", "calendar.down", str(e))
    root = parse_xml(raw(resp)) if resp.status == 207 else None
    if root is None:
        return Finding("calendar", "ok", "calendar.ok", f"{backend.name} (the server does not describe the collection)")
    if root.find(f".//{{{DAV}}}resourcetype/{{{CALDAV}}}calendar") is None:
        return Finding("calendar", "misconfigured", "caldav.notcalendar", url)
    comps = [(c.get("name") or "").upper() for c in root.findall(f".//{{{CALDAV}}}supported-calendar-component-set/{{{CALDAV}}}comp")]
    if comps and "VEVENT" not in comps:
        return Finding("calendar", "misconfigured", "caldav.noevents", f"{url} ({', '.join(comps)})")
    privileges = _privileges(root, DAV)
    found = "" if url.rstrip("/") == configured.rstrip("/") else f" (found from {configured}: put this URL in the rules)"
    if privileges is None:
        return Finding("calendar", "ok", "caldav.unsure", f"{backend.name}{found}")
    if not privileges & _WRITE:
        return Finding("calendar", "misconfigured", "caldav.readonly", f"{url} (you may: {', '.join(sorted(privileges))})")
    return Finding("calendar", "ok", "caldav.ok", f"{backend.name}{found}")


def _privileges(root: ET.Element, dav: str) -> set[str] | None:
    """The privilege names the server grants this account, or None when it does not say."""
    held = root.find(f".//{{{dav}}}current-user-privilege-set")
    if held is None or not len(held):
        return None
    return {child.tag.rpartition("}")[2] for p in held.findall(f"{{{dav}}}privilege") for child in p}
