"""The flag on a Microsoft calendar: the category "Conflict" on the owner's copy of an event that
boundaryd does not own, put on and taken off without ever clobbering the owner's own categories.

Graph's ``categories`` is one list, written whole by a PATCH. So every PATCH is conditional: it
carries ``If-Match`` with the event's etag (``@odata.etag``, else ``W/"changeKey"``) as this cycle's
read left it, and the list sent is the one read plus or minus ours. Graph answers 412 when the
owner or the organizer changed the event since: the event is read again (its categories and etag
only), the list recomputed from what it holds now (every category the owner has kept, only ours
added or taken off) and the PATCH sent once more. A second 412 leaves the event for the next cycle
(a log line says so): the planner sees the mark still missing (or still there) and plans it again.

boundaryd's own events (blocks, holds, make-up, mirrors) are never PATCHed: a changed one is
deleted and created again (:mod:`graph_backend`), so this is the only PATCH boundaryd sends.
"""

from __future__ import annotations

import logging
from typing import Any

from boundaryd.calendars.graph_events import FLAG_CATEGORY, etag_of
from boundaryd.calendars.graph_http import Gone, GraphApi
from boundaryd.calendars.graph_written import GraphWritten
from boundaryd.core.model import Occurrence
from boundaryd.errors import Conflict412, RuntimeFailure

log = logging.getLogger("boundaryd.microsoft")


def with_flag(current: list[str], on: bool) -> list[str] | None:
    """``current`` with our category added (``on``) or taken off; None when it is already so."""
    if on:
        return None if FLAG_CATEGORY in current else [*current, FLAG_CATEGORY]
    return [c for c in current if c != FLAG_CATEGORY] if FLAG_CATEGORY in current else None


class GraphCategories(GraphWritten, GraphApi):
    """The flag half of :class:`GraphBackend` (a base class: its attributes are set there)."""

    _index: dict[tuple[str, str], dict[str, Any]]

    def _base(self) -> str:
        raise NotImplementedError

    def _gone(self, occ: Occurrence) -> RuntimeFailure:
        return RuntimeFailure(f"{self.name}: event {occ.uid} at {occ.start.isoformat()} is no longer on the calendar")

    def _reread(self, occ: Occurrence, eid: str) -> tuple[list[str], str | None]:
        """The event's categories and etag as Graph has them now."""
        try:
            now = self._call(f"read {occ.uid}", "GET", f"{self._base()}/events/{eid}",
                             {"$select": "categories,changeKey"}) or {}
        except Gone:
            raise self._gone(occ) from None
        return [str(c) for c in now.get("categories") or ()], etag_of(now)

    def _set_flag(self, occ: Occurrence, on: bool) -> None:
        hit = self._index.get(occ.key)
        if hit is None:
            raise self._gone(occ)
        eid = str(hit["id"])
        current, etag = list(hit.get("categories", occ.categories)), hit.get("etag")
        if with_flag(current, on) is None:
            return
        if etag is None:  # read before etags were kept (an older cache): read it now
            current, etag = self._reread(occ, eid)
        for attempt in (1, 2):
            wanted = with_flag(current, on)
            if wanted is None:  # as we want it already (the owner did it, or an earlier try)
                return
            try:
                done = self._call(f"flag {occ.uid}", "PATCH", f"{self._base()}/events/{eid}",
                                  body={"categories": wanted}, if_match=etag or "*")
            except Gone:
                raise self._gone(occ) from None
            except Conflict412:
                if attempt == 2:
                    log.warning("%s: event %s at %s changed again while boundaryd %s its %r category;"
                                " left for the next cycle", self.name, occ.uid, occ.start.isoformat(),
                                "added" if on else "removed", FLAG_CATEGORY)
                    return
                log.info("%s: event %s changed since it was read (412); reading it again", self.name, occ.uid)
                current, etag = self._reread(occ, eid)
                continue
            hit["categories"], hit["etag"] = wanted, etag_of(done or {})
            self._remember_answer(hit)
            return

    def flag(self, occ: Occurrence) -> None:
        """The category "Conflict" on the owner's copy (nobody is told)."""
        self._set_flag(occ, True)

    def unflag(self, occ: Occurrence) -> None:
        self._set_flag(occ, False)

    def has_flag(self, occ: Occurrence) -> bool:
        return FLAG_CATEGORY in occ.categories
