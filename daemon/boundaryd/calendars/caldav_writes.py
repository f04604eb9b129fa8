"""CalDAV's conditional writes: a PUT or DELETE goes only onto the version of a resource we read.

``If-None-Match: *`` to create, ``If-Match`` with the ETag read to replace or delete; a 412 (or 409)
means someone changed it meanwhile (the caller re-reads), a precondition element in the answer
means the server refuses the write itself (RFC 4791 / 6638: the caller reports it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from boundaryd.calendars.caldav_http import DavHttp
from boundaryd.calendars.caldav_xml import Resource, precondition, raw
from boundaryd.errors import Conflict412, RuntimeFailure

#: (method, href, body, headers) -> the server's answer
Request = Callable[[str, str, str, "dict[str, str] | None"], Any]


class Precondition(Exception):
    """The server refused a write for a CalDAV/WebDAV precondition (not an ETag mismatch)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def changed(url: str, href: str) -> Conflict412:
    return Conflict412(f"caldav {url}: {href} was changed by someone else (the next sync re-reads it)")


def put(
    request: Request,
    http: DavHttp,
    url: str,
    href: str,
    data: str,
    match: dict[str, str] | None,
    extra: dict[str, str] | None = None,
) -> None:
    """PUT ``data`` at ``href``: created only if absent (``match`` None), else only over what we read;
    ``extra``: more headers (``Schedule-Reply: F`` for a change that must not reach the organizer)."""
    headers = {"Content-Type": "text/calendar; charset=utf-8", **(extra or {})}
    headers.update({"If-None-Match": "*"} if match is None else match)
    resp = request("PUT", href, data, headers)
    if resp.status in (403, 409, 412) and (pre := precondition(raw(resp))):
        raise Precondition(pre)
    if resp.status in (409, 412):
        raise changed(url, href)
    if resp.status in (401, 403):
        raise RuntimeFailure(http.bad_credentials if resp.status == 401 else http.forbidden)
    if resp.status not in (200, 201, 204):
        raise RuntimeFailure(f"caldav {url}: the server answered {resp.status} to PUT {href}")


def if_match(request: Request, url: str, href: str, item: Resource) -> dict[str, str]:
    """``If-Match`` with the ETag we read. A weak ETag (``W/"..."``, e.g. behind a proxy that
    compresses) can never match (RFC 9110 13.1.1): then a GET just before the write checks
    that the resource is still what we read, and the write goes without the header."""
    etag = item.etag
    if etag and not etag.startswith("W/"):
        return {"If-Match": etag}
    resp = request("GET", href, "", None)
    if resp.status in (404, 410):
        raise changed(url, href)
    if resp.status != 200:
        raise RuntimeFailure(f"caldav {url}: the server answered {resp.status} to GET {href}")
    now = resp.headers.get("ETag") or ""
    if etag and now:
        same = now.removeprefix("W/") == etag.removeprefix("W/")  # the weak comparison
    else:
        same = raw(resp).decode("utf-8", "replace").replace("\r\n", "\n").strip() == (
            item.data.replace("\r\n", "\n").strip()
        )
    if not same:
        raise changed(url, href)
    return {}
