"""The process's heap: what a daemon gives back to the system after a big piece of work."""

from __future__ import annotations

_M_ARENA_MAX = -8  # glibc's mallopt parameter


def one_arena() -> None:
    """Every thread allocates from the one heap (glibc gives each thread its own otherwise): the
    daemon's worker thread does the syncs, and a second heap's free pages would stay resident
    beside the first's. Call before the threads start."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, 1)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def give_back() -> None:
    """Return the heap left free by a big parse or a sync that changed much (glibc keeps it
    otherwise: a daemon's resident size would stay at its busiest cycle's peak for months)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass
