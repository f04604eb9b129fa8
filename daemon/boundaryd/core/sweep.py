"""Which spans (block instances, busy_from events) each occurrence overlaps: one sweep over sorted starts."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from boundaryd.core.model import Occurrence


class Span(Protocol):
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def all_day(self) -> bool: ...


S = TypeVar("S", bound=Span)


def overlaps(
    occs: Sequence[Occurrence], spans: Sequence[S], also: Callable[[Occurrence, S], bool] | None = None
) -> dict[tuple[str, str], list[S]]:
    """The spans each occurrence overlaps by more than zero, by occurrence key; an all-day occurrence
    only all-day spans. ``spans`` sorted by start; ``also``: a further condition on a pair."""
    starts = [s.start for s in spans]
    longest = max((s.end - s.start for s in spans), default=timedelta(0))
    out: dict[tuple[str, str], list[S]] = {}
    for o in occs:
        if o.end <= o.start:
            continue
        lo = bisect.bisect_left(starts, o.start - longest)
        hi = bisect.bisect_left(starts, o.end)
        found = [
            s for s in spans[lo:hi]
            if s.start < o.end and s.end > o.start and (s.all_day or not o.all_day) and (also is None or also(o, s))
        ]
        if found:
            out[o.key] = found
    return out
