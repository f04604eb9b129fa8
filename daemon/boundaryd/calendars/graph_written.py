"""What boundaryd wrote to a Microsoft calendar, remembered so that the next read need not ask Graph
about it again.

The reader learns a series' UID and boundaryd's extended properties by reading the series master
(for boundaryd's single events: the event itself) when the delta shows it changed. For what
boundaryd has just created it knows both already: the POST's answer gives the id, the type and the
iCalUId, and the properties are the ones it sent (Graph does not echo them). So each create is
remembered here, saved with the cache at the end of the cycle (:meth:`GraphWritten.flush`: the same
delta link, so the journal's token still matches), and the next delta that lists the event takes
them from here, without a GET.

An answer or a flag on a series (or one of its occurrences) changes what the delta lists, never the
master's UID or properties: a master already read is marked the same way, so the delta that shows
the answer does not read it again.

When in doubt the reader reads: an entry is used once, for the first delta that lists the event,
and only where what the delta shows fits it (a series entry for the master of occurrences, a single
entry for a single event carrying the category "boundaryd"); a create whose answer lacks an id or
names another type than the one sent is not remembered; an entry not listed within :data:`CYCLES`
deltas with changes is forgotten; a write that fails before the cycle's end saves none.
"""

from __future__ import annotations

from typing import Any

from boundaryd.calendars import jsoncache
from boundaryd.calendars.graph_events import props_of

#: deltas with changes an entry waits for its event to be listed (Graph may list a write a little late)
CYCLES = 3


def take_master(written: dict[str, Any], masters: dict[str, Any], mid: str) -> bool:
    """Whether the series master ``mid`` is known from our own write (and now in ``masters``)."""
    entry = written.get(mid)
    if entry is None:
        return False
    if entry["kind"] == "series":
        masters[mid] = {"uid": entry["uid"], "props": dict(entry["props"])}
        return True
    return entry["kind"] == "answered" and mid in masters


def take_single(written: dict[str, Any], owned: dict[str, Any], eid: str) -> bool:
    """Whether our single event ``eid`` is known from our own write (and now in ``owned``)."""
    entry = written.get(eid)
    if entry is None or entry["kind"] != "single":
        return False
    owned[eid] = dict(entry["props"])
    return True


def aged(written: dict[str, Any], used: set[str]) -> dict[str, Any]:
    """``written`` after a delta with changes: the entries used gone, the others one delta older."""
    out = {}
    for eid, entry in written.items():
        if eid not in used and entry.get("left", 0) > 1:
            out[eid] = {**entry, "left": entry["left"] - 1}
    return out


class GraphWritten:
    """The remembering half of :class:`GraphBackend` (a base class: its attributes are set there)."""

    PROVIDER: str
    cache_file: Any
    _cache: dict[str, Any] | None
    _written_now: dict[str, Any]

    def _remember_create(self, created: dict[str, Any], sent: dict[str, Any]) -> None:
        """A create's answer and what was sent: what the reader would otherwise GET."""
        series = bool(sent.get("recurrence"))
        kind = str(created.get("type") or ("seriesMaster" if series else "singleInstance"))
        eid = created.get("id")
        if not eid or kind != ("seriesMaster" if series else "singleInstance"):
            return  # an answer that does not say what we made: the reader reads it
        props = props_of(created) or props_of(sent)
        self._written_now[str(eid)] = {"kind": "series" if series else "single", "left": CYCLES,
                                       "uid": str(created.get("iCalUId") or props.get("uid") or eid), "props": props}

    def _remember_answer(self, hit: dict[str, Any] | None) -> None:
        """An answer or a flag on ``hit`` (a snapshot index entry): its series master, if any, is unchanged."""
        if not hit:
            return
        mid = hit.get("master") or (hit.get("id") if hit.get("series") else None)
        if mid and str(mid) not in self._written_now:
            self._written_now[str(mid)] = {"kind": "answered", "left": CYCLES}

    def _forget(self, eid: str) -> None:
        self._written_now.pop(eid, None)

    def flush(self) -> None:
        """What this cycle wrote, saved with the cache it belongs to (the delta link read this cycle)."""
        if not self._written_now:
            return
        now, self._written_now = self._written_now, {}
        if self._cache is None:
            return
        data = dict(self._cache, written={**(self._cache.get("written") or {}), **now})
        jsoncache.save(self.cache_file, data, self.PROVIDER)
        self._cache = data
