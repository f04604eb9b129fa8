"""The process's heap: what a daemon gives back to the system after a big piece of work."""

from __future__ import annotations


def give_back() -> None:
    """Return the heap left free by a big parse or a sync that changed much (glibc keeps it
    otherwise: a daemon's resident size would stay at its busiest cycle's peak for months)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass
