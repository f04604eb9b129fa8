"""An iCalendar feed over HTTP(S) (``busy_from: - ics_url: ...``): read-only, revalidated each cycle.

One conditional GET a cycle (``If-None-Match`` with the ETag, ``If-Modified-Since`` with the
Last-Modified the server gave): an unchanged feed answers 304 and costs nothing more. The last
good copy is kept in the state dir (``STATE/busy/NAME-HASH.ics``, with what validates it in a
``.meta.json`` beside it) and read through the ICS backend, so an unchanged copy is not even parsed
again (:mod:`boundaryd.calendars.snapcache`).

A feed is a stranger's server, so every fetch is bounded: its size (:data:`Limits.max_bytes`,
refused past it, never truncated), its time (a socket timeout for the connection and each read,
and a deadline for the whole body), its redirects (a few, http(s) only, never https to http, never
``file:`` or another scheme). What comes back must be iCalendar (``BEGIN:VCALENDAR``, whatever the
Content-Type says) that parses; otherwise the copy on disk stays as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.client import HTTPMessage, HTTPResponse
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from boundaryd.core import ical
from boundaryd.core.model import Capabilities, Snapshot
from boundaryd.errors import BadInput, RuntimeFailure
from boundaryd.fsutil import write_atomic

#: a feed tells no one anything and is never marked
CAPABILITIES = Capabilities(tells_organizer=False, decline_comment=False, flag_mark="")
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """How much of a feed boundaryd accepts, and how long it waits for it."""

    max_bytes: int = 10 * 1024 * 1024
    timeout: float = 10.0  # connecting, and each read
    total: float = 30.0  # the whole response
    redirects: int = 5


LIMITS = Limits()


@dataclass(frozen=True)
class Fetched:
    data: bytes
    etag: str | None
    last_modified: str | None


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow a few redirects, to http(s) only, never from https down to http."""

    def http_error_302(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage
    ) -> Any:
        target = headers.get("Location") or headers.get("URI") or ""
        newurl = urllib.parse.urljoin(req.full_url, target)
        old = urllib.parse.urlsplit(req.full_url).scheme.lower()
        new = urllib.parse.urlsplit(newurl).scheme.lower()
        if new not in ("http", "https"):
            raise RuntimeFailure(f"the feed redirects to a {new or 'relative'}: address, which is never followed")
        if old == "https" and new == "http":
            raise RuntimeFailure("the feed redirects from https to plain http, which is never followed")
        if getattr(req, "redirects", 0) >= self.max_redirections:
            raise RuntimeFailure(f"the feed redirects more than {self.max_redirections} times")
        return super().http_error_302(req, fp, code, msg, headers)

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            new.redirects = getattr(req, "redirects", 0) + 1  # type: ignore[attr-defined]
        return new

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _opener(limits: Limits) -> urllib.request.OpenerDirector:
    class _Bounded(_Redirects):
        max_redirections = limits.redirects

    return urllib.request.build_opener(_Bounded())


def looks_like_icalendar(data: bytes) -> bool:
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:15].upper() == b"BEGIN:VCALENDAR"


def _read_bounded(resp: HTTPResponse, limits: Limits, deadline: float, clock: Callable[[], float]) -> bytes:
    length = resp.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) > limits.max_bytes:
        raise RuntimeFailure(f"the feed is {int(length):,} bytes, more than the {limits.max_bytes:,} accepted")
    parts: list[bytes] = []
    size = 0
    while True:
        if clock() > deadline:
            raise RuntimeFailure(f"the feed took more than {limits.total:g} s to arrive")
        chunk = resp.read(_CHUNK)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > limits.max_bytes:
            raise RuntimeFailure(f"the feed is more than the {limits.max_bytes:,} bytes accepted")
        parts.append(chunk)


def fetch(
    url: str,
    etag: str | None = None,
    last_modified: str | None = None,
    limits: Limits = LIMITS,
    clock: Callable[[], float] = time.monotonic,
) -> Fetched | None:
    """GET ``url`` conditionally; None when the server says it is unchanged (304).

    Raises RuntimeFailure (unreachable, refused, too big, too slow) or BadInput (not iCalendar).
    """
    headers = {"Accept": "text/calendar, */*;q=0.5", "User-Agent": "boundaryd (busy_from)"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    req = urllib.request.Request(url, headers=headers)
    deadline = clock() + limits.total
    try:
        with _opener(limits).open(req, timeout=limits.timeout) as resp:
            data = _read_bounded(resp, limits, deadline, clock)
            got_etag, got_lm = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
    except urllib.error.HTTPError as e:
        if e.code == 304:
            return None
        hint = {401: " (it needs a login, or its secret address changed)", 403: " (access refused)",
                404: " (no feed at that address)"}.get(e.code, "")
        raise RuntimeFailure(f"the feed answered HTTP {e.code}{hint}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise RuntimeFailure(f"the feed is unreachable ({reason})") from None
    if not looks_like_icalendar(data):
        raise BadInput("the feed is not iCalendar (it does not begin with BEGIN:VCALENDAR)")
    return Fetched(data, got_etag, got_lm)


def cache_path(state_dir: str | Path, name: str) -> Path:
    """Where a feed's last good copy is kept."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "feed"
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return Path(state_dir) / "busy" / f"{safe}-{digest}.ics"


class FeedBackend:
    """The read half of a calendar backend for a feed; :class:`boundaryd.calendars.sources.ReadOnly`
    wraps it (a source is never written to)."""

    capabilities = CAPABILITIES

    def __init__(self, url: str, cache: Path, label: str, limits: Limits = LIMITS) -> None:
        self.url = url
        self.cache = cache
        self.meta = cache.with_suffix(".meta.json")
        self.name = label
        self.limits = limits

    def connect(self) -> Capabilities:
        return self.capabilities

    def _meta(self) -> dict[str, Any]:
        try:
            data = json.loads(self.meta.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) and data.get("url") == self.url else {}

    def refresh(self) -> bool:
        """Bring the copy on disk up to date: one conditional request. True when it changed."""
        meta = self._meta() if self.cache.exists() else {}
        got = fetch(self.url, meta.get("etag"), meta.get("last_modified"), self.limits)
        if got is None:
            return False
        ical.parse_calendar(got.data, self.name)  # broken: BadInput, and the last good copy stays
        try:
            same = self.cache.read_bytes() == got.data
        except OSError:
            same = False
        try:
            if not same:
                write_atomic(self.cache, got.data)
            new = {"url": self.url, "etag": got.etag, "last_modified": got.last_modified}
            if new != meta:
                write_atomic(self.meta, json.dumps(new).encode())
        except OSError as e:
            raise RuntimeFailure(f"{self.cache}: cannot keep the feed's copy ({e.strerror or e})") from None
        return not same

    def snapshot(self, start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        """Revalidate the feed, then read the copy on disk (the cache answers while it is unchanged)."""
        from boundaryd.calendars.ics import IcsBackend

        self.refresh()
        return IcsBackend(self.cache, create=False).snapshot(start, end, tz)

    def read_cached(self, start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        """The last good copy as it is, without asking the server (the feed is failing)."""
        from boundaryd.calendars.ics import IcsBackend

        return IcsBackend(self.cache, create=False).snapshot(start, end, tz)
