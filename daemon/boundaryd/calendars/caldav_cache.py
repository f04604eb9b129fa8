"""CalDAV resources kept parsed and expanded, per href, for as long as their text is unchanged.

A quiet cycle's sync-collection REPORT brings nothing new; the snapshot is then made from what
each resource gave last time (its occurrences pre-expanded a little beyond the window, as
:class:`boundaryd.core.ical_read.Part` per UID), parsing nothing. A resource is parsed again only
when its text changed (compared by hash, not by ETag: a server that reuses an ETag cannot make
it serve stale data), when the window moved past what was expanded, or for another time zone.

Each resource is read on its own; a UID that several resources hold (RFC 4791 forbids it, some
servers allow it) is read from all of them together, as one calendar would have it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from boundaryd.calendars import progress
from boundaryd.calendars.caldav_xml import Resource
from boundaryd.calendars.ical_edits import combine, ical_uid_in
from boundaryd.calendars.ics_chunks import MARGIN
from boundaryd.core import ical
from boundaryd.core.ical_read import Expanded, Part, _uid, expand_parts
from boundaryd.core.model import Occurrence, OwnedEvent, Skipped
from boundaryd.errors import BadInput


@dataclass(frozen=True)
class Parsed:
    """What one resource's text gave: per UID, for ``[lo, hi)`` in ``tz``."""

    digest: bytes
    tz: ZoneInfo
    lo: datetime
    hi: datetime
    parts: dict[str, Part]
    uids: tuple[str, ...]  # its VEVENTs' UIDs, as the backend finds resources by them
    unreadable: Skipped | None = None


@dataclass
class Stats:
    parsed: int = 0
    reused: int = 0


_cache: dict[tuple[str, str], Parsed] = {}
_lock = threading.Lock()
stats = Stats()


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _parse(href: str, text: str, digest: bytes, start: datetime, end: datetime, tz: ZoneInfo) -> Parsed:
    stats.parsed += 1
    lo, hi = start, end + MARGIN
    try:
        cal = ical.parse_calendar(text, href)
    except BadInput as e:
        bad = Skipped(uid=(ical_uid_in(text) or href.rsplit("/", 1)[-1])[:200], reason=e.problems[0])
        return Parsed(digest, tz, lo, hi, {}, (), bad)
    uids = tuple(str(c.get("UID", "")).strip() for c in cal.subcomponents if c.name == "VEVENT")
    return Parsed(digest, tz, lo, hi, expand_parts(cal, lo, hi, tz), uids)


def read(
    url: str, items: Mapping[str, Resource], start: datetime, end: datetime, tz: ZoneInfo
) -> tuple[list[Occurrence], list[OwnedEvent], list[Skipped], dict[str, str]]:
    """The collection's occurrences in ``[start, end)``, owned and unreadable events, and the href
    of each UID; only resources whose text changed since the last read are parsed."""
    got: list[tuple[str, Parsed]] = []
    shown = progress.on_terminal(f"caldav {url}")
    with _lock:
        for n, href in enumerate(sorted(items), 1):
            text = items[href].data
            digest = _digest(text)
            p = _cache.get((url, href))
            if p is None or p.digest != digest or p.tz != tz or not (p.lo <= start and end <= p.hi):
                p = _cache[(url, href)] = _parse(href, text, digest, start, end, tz)
                if shown is not None:
                    shown.read(n, len(items))
            else:
                stats.reused += 1
            got.append((href, p))
        for key in [k for k in _cache if k[0] == url and k[1] not in items]:
            del _cache[key]
    if shown is not None:
        shown.close()
    holders: dict[str, list[str]] = {}
    for href, p in got:
        for uid in p.parts:
            holders.setdefault(uid, []).append(href)
    parts: dict[str, Part] = {}
    unreadable: list[Skipped] = []
    uid_href: dict[str, str] = {}
    for href, p in got:
        if p.unreadable is not None:
            unreadable.append(p.unreadable)
        for uid in p.uids:
            uid_href.setdefault(uid, href)
        for uid, part in p.parts.items():
            if uid in parts:
                continue
            shared = holders[uid]
            parts[uid] = part if len(shared) == 1 else _together(uid, shared, items, start, end, tz)
    occs, owned, skipped = Expanded(start, end, parts).window(start, end)
    return occs, owned, unreadable + skipped, uid_href


def _together(uid: str, hrefs: list[str], items: Mapping[str, Resource], start: datetime, end: datetime,
              tz: ZoneInfo) -> Part:
    """One UID that several resources hold, read from all of them as one calendar."""
    cal, _, _ = combine((h, h, items[h].data) for h in hrefs)
    cal.subcomponents = [c for c in cal.subcomponents if c.name != "VEVENT" or _uid(c) == uid]
    return expand_parts(cal, start, end + MARGIN, tz).get(uid, Part())


def forget() -> None:
    with _lock:
        _cache.clear()
