"""The conflict mark on the owner's copy of a meeting: put on while it is flagged, taken off when
its conflict ends (the block moved, the meeting moved, an ``allow``).

Pure, part of the planner. Whether an occurrence carries the mark is read from the snapshot
(``Occurrence.categories``: CATEGORIES on iCalendar/CalDAV, the colour on Google), so a mark already
there costs nothing, on every backend. Only marks boundaryd put on come off (``Memory.flagged``):
a ``Conflict`` category the owner set is theirs.
"""

from __future__ import annotations

from collections.abc import Sequence

from boundaryd.core.actions import Flag, Unflag
from boundaryd.core.ical import CONFLICT_CATEGORY as MARK  # as the snapshot shows it on every backend
from boundaryd.core.model import Capabilities, Conflict, Decision, Memory, Occurrence, Trace


def marks(
    conflicts: Sequence[Conflict], occurrences: Sequence[Occurrence], memory: Memory, caps: Capabilities
) -> list[Flag | Unflag]:
    """A Flag for each flagged occurrence not marked yet; an Unflag for each occurrence boundaryd
    marked whose conflict ended. None where the backend marks nothing (``flag_mark`` "": the
    server refuses it, or would send the organizer a reply for it): the notice alone says it."""
    if not caps.flag_mark:
        return []
    out: list[Flag | Unflag] = [
        Flag(c) for c in conflicts if c.decision is Decision.FLAG and MARK not in c.occurrence.categories
    ]
    still = {c.occurrence.key for c in conflicts if c.decision in (Decision.FLAG, Decision.DECLINE)}
    still |= set(memory.declined)  # declined by boundaryd: the plan skips it now, its conflict has not ended
    flagged = set(memory.flagged)
    for o in occurrences:
        if MARK in o.categories and o.key in flagged and o.key not in still:
            out.append(Unflag(o, Trace(steps=("flagged by boundaryd, no longer in conflict: the mark comes off",))))
    return out
