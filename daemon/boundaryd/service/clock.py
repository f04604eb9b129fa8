"""The daemon's one clock: wall time in a zone, and a monotonic count of seconds.

Everything in ``boundaryd.service`` that asks "what time is it" asks a ``Clock``: the loop (when is
the next sync, the watchdog ping), the job policies (when is Sunday 18:00 in the rules' zone) and
the ``schedule`` engine itself (``wallclock.py`` binds it to a clock). ``SystemClock`` reads the
machine; ``ManualClock`` is moved by hand, so tests never depend on what the machine's clock reads.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Protocol


class Clock(Protocol):
    def now(self, tz: tzinfo | None = None) -> datetime:
        """The current wall time, aware, in ``tz`` (the machine's zone when None)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (its origin means nothing)."""
        ...


def boottime() -> float:
    """Seconds on a monotonic clock that keeps counting during suspend (Linux), else monotonic."""
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    if clock is not None:
        try:
            return float(time.clock_gettime(clock))
        except OSError:
            pass
    return time.monotonic()


class SystemClock:
    """The machine's clocks. Monotonic is CLOCK_BOOTTIME where there is one, so a laptop that slept
    syncs as soon as it wakes."""

    def now(self, tz: tzinfo | None = None) -> datetime:
        return datetime.now(tz) if tz is not None else datetime.now().astimezone()

    def monotonic(self) -> float:
        return boottime()


class ManualClock:
    """A clock that moves only when told to (tests, what-ifs).

    ``advance`` moves wall and monotonic time together; ``set`` jumps the wall clock alone, as an
    administrator (or NTP) setting the machine's time would. ``local`` stands for the machine's zone.
    """

    def __init__(self, start: datetime, local: tzinfo | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware start time")
        self.local: tzinfo = local or start.tzinfo
        self._utc = start.astimezone(timezone.utc)
        self._mono = 1000.0

    def now(self, tz: tzinfo | None = None) -> datetime:
        return self._utc.astimezone(tz or self.local)

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock does not go back; use set() to move the wall clock")
        self._utc += timedelta(seconds=seconds)
        self._mono += seconds

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock.set needs an aware time")
        self._utc = when.astimezone(timezone.utc)
