"""What one plan made, carried to the next plan of the same process while its inputs are the same.

A daemon plans every minute over the same occurrences: while the calendar is unchanged the
snapshot hands back the very same (immutable) objects. A value the planner makes from one of them
and a few other inputs (a conflict's decision, a notice key) is kept, looked up by the object's
identity (the object is held, so its identity cannot be taken by another) and the other inputs by
value, and made again the moment any of them differs. Nothing outlives the plan after the one that
last used it, so what is carried is bounded by what one plan makes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

V = TypeVar("V")

_ALL: list[Carried[object]] = []


class Carried(Generic[V]):
    """Values made from objects, by identity, for this plan and the one before."""

    def __init__(self) -> None:
        self._last: dict[int, tuple[object, object, V]] = {}
        self._now: dict[int, tuple[object, object, V]] = {}
        _ALL.append(self)  # type: ignore[arg-type]

    def get(self, obj: object, inputs: object, make: Callable[..., V], *args: object) -> V:
        """The value made from ``obj`` and ``inputs`` (by ``make(*args)``): the one made before when both are the same."""
        key = id(obj)
        for kept in (self._now.get(key), self._last.get(key)):
            if kept is not None and kept[0] is obj and kept[1] == inputs:
                self._now[key] = kept
                return kept[2]
        value = make(*args)
        self._now[key] = (obj, inputs, value)
        return value

    def _turn(self) -> None:
        self._last, self._now = self._now, {}


def next_plan() -> None:
    """A plan begins: what the plan before it made and this one does not use again is let go."""
    for c in _ALL:
        c._turn()


@contextmanager
def aside() -> Iterator[None]:
    """Plans made inside find nothing carried and leave nothing behind (as in a fresh process)."""
    kept = [(c._last, c._now) for c in _ALL]
    for c in _ALL:
        c._last, c._now = {}, {}
    try:
        yield
    finally:
        for c, (last, now) in zip(_ALL, kept, strict=True):
            c._last, c._now = last, now
