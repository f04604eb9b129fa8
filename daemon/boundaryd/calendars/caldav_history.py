"""The past of a CalDAV calendar (``leads``): one calendar-query REPORT with a time-range; the
sync token and the resources kept for ``snapshot`` stay as they are."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from boundaryd.calendars.caldav_xml import QUERY_BODY, parse_multistatus, raw
from boundaryd.calendars.ical_edits import combine
from boundaryd.core import ical
from boundaryd.core.model import Occurrence
from boundaryd.errors import RuntimeFailure

if TYPE_CHECKING:
    from boundaryd.calendars.caldav_backend import CaldavBackend


def history(backend: CaldavBackend, start: datetime, end: datetime, tz: ZoneInfo) -> list[Occurrence]:
    """Every occurrence of others' events in ``[start, end)``, expanded."""
    utc = "%Y%m%dT%H%M%SZ"
    span = {"start": start.astimezone(timezone.utc).strftime(utc), "end": end.astimezone(timezone.utc).strftime(utc)}
    resp = backend._request("REPORT", backend.url, QUERY_BODY.format(**span), {"Depth": "1"})
    if resp.status in (401, 403):
        raise RuntimeFailure(backend.http.bad_credentials if resp.status == 401 else backend.http.forbidden)
    if resp.status not in (200, 207):
        raise RuntimeFailure(f"caldav {backend.url}: the server answered {resp.status} to REPORT calendar-query")
    _, found, _ = parse_multistatus(raw(resp))
    missing = [h for h, r in found.items() if not r.data]
    if missing:  # a server that lists matches without their data
        found.update(backend.reader.multiget(missing))
    combined, _, _ = combine((h, h, r.data) for h, r in sorted(found.items()) if r.data)
    return [o for o in ical.occurrences_of(combined, start, end, tz)[0] if o.owned_block is None]
