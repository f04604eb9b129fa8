"""The ``schedule`` library, running on an injected clock in one time zone.

``schedule`` is the timing engine of the daemon's wall-clock jobs (``every().sunday.at("18:00")``),
but it reads the time itself, through ``datetime.datetime.now()`` of its own module. So each
``WallClock`` loads a private copy of the ``schedule`` module whose ``datetime`` is a twin of the
standard one with ``datetime.now()`` answered by our ``Clock``: naive "now" is the wall time in
the zone we are given (the rules' zone), so ``.at("18:00")`` means 18:00 there, without pytz and
without depending on the machine's zone. Nothing else in the process is touched: the ``schedule``
in ``sys.modules`` stays as it was.

Across a daylight-saving change the engine's naive times behave as a wall clock does: a job at a
time that does not exist that night (02:30 in spring) runs when the clock jumps past it (03:00);
a time that happens twice (01:30 in autumn) runs once.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from boundaryd.service.clock import Clock


def _clocked_datetime(owner: WallClock) -> type[_dt.datetime]:
    class ClockedDatetime(_dt.datetime):
        """``datetime`` whose ``now()`` comes from ``owner``'s clock (naive: wall time in its zone)."""

        @classmethod
        def now(cls, tz: _dt.tzinfo | None = None) -> ClockedDatetime:
            t = owner.read(tz if tz is not None else owner.zone)
            if tz is None:
                t = t.replace(tzinfo=None)
            return cls(t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond, t.tzinfo, fold=t.fold)

    return ClockedDatetime


def _private_schedule(datetime_module: ModuleType) -> ModuleType:
    spec = importlib.util.find_spec("schedule")
    if spec is None or spec.loader is None:  # a dependency of boundaryd: only a broken install lands here
        raise ModuleNotFoundError("the schedule library is not installed", name="schedule")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    setattr(module, "datetime", datetime_module)  # noqa: B010 - the name the engine reads the time through
    return module


class WallClock:
    """A factory of ``schedule.Scheduler`` objects that read ``clock`` in ``zone``.

    ``scheduler()`` makes a fresh one (after a rules reload); ``CancelJob`` is this engine's
    (a job returns it to run only once). Inside ``pinned(moment)`` the engine reads ``moment`` as
    the time, so jobs added there count their first run from ``moment``.
    """

    def __init__(self, clock: Clock, zone: _dt.tzinfo) -> None:
        self.clock = clock
        self.zone = zone
        self._pinned: _dt.datetime | None = None
        twin = ModuleType("datetime")
        twin.__dict__.update({k: v for k, v in vars(_dt).items() if not k.startswith("__")})
        setattr(twin, "datetime", _clocked_datetime(self))  # noqa: B010 - a module's attribute, set by name
        self._engine = _private_schedule(twin)
        self.CancelJob: Any = self._engine.CancelJob

    def scheduler(self) -> Any:
        return self._engine.Scheduler()

    def read(self, tz: _dt.tzinfo) -> _dt.datetime:
        """What the engine takes for the time now, aware, in ``tz``."""
        if self._pinned is not None:
            return self._pinned.astimezone(tz)
        return self.clock.now(tz)

    @contextmanager
    def pinned(self, moment: _dt.datetime) -> Iterator[None]:
        """The engine's clock stands at ``moment`` (aware) inside the block."""
        if moment.tzinfo is None:
            raise ValueError("WallClock.pinned needs an aware time")
        self._pinned = moment
        try:
            yield
        finally:
            self._pinned = None

    def now(self) -> _dt.datetime:
        """The wall time in this engine's zone, aware."""
        return self.clock.now(self.zone)

    def aware(self, naive: _dt.datetime) -> _dt.datetime:
        """A time the engine reports (naive, in its zone) as an aware time."""
        return _dt.datetime.combine(naive.date(), naive.time(), self.zone)
