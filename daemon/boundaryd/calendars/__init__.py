"""Calendar backends, behind one contract (:class:`boundaryd.calendars.base.CalendarBackend`).

The registry maps a scheme to its backend and to the backend's own section of the rules'
``calendar:`` (never the whole rules): a backend is built by ``open(location, section, context)``.
Backends are imported lazily, so the ICS user never imports the Google client or caldav.
``memory:NAME`` (an in-process calendar) is registered for tests and is not a public scheme.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from boundaryd.errors import BadInput

if TYPE_CHECKING:
    from boundaryd.calendars.base import CalendarBackend, SyncState
    from boundaryd.core.rules import CalendarSection, Rules


@dataclass(frozen=True)
class Context:
    """What every backend may know besides its own section: no rules, no policy."""

    owner_emails: tuple[str, ...]
    tz: ZoneInfo
    state_dir: str
    sync_state: SyncState | None = None


@dataclass(frozen=True)
class Registered:
    scheme: str
    #: "module:Class" with a classmethod ``open(location, section, context)``
    target: str
    #: the backend's own section of ``calendar:`` (None when the rules have none)
    section: Callable[[CalendarSection | None], Any]
    public: bool = True

    def load(self) -> Any:
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)


BACKENDS: dict[str, Registered] = {
    r.scheme: r
    for r in (
        Registered("ics", "boundaryd.calendars.ics:IcsBackend", lambda c: c.ics if c else None),
        Registered("caldav", "boundaryd.calendars.caldav_backend:CaldavBackend", lambda c: c.caldav if c else None),
        Registered("google", "boundaryd.calendars.google_backend:GoogleBackend", lambda c: c.google if c else None),
        Registered("microsoft", "boundaryd.calendars.graph_backend:GraphBackend", lambda c: c.microsoft if c else None),
        Registered("memory", "boundaryd.calendars.memory:MemoryBackend", lambda c: None, public=False),
    )
}


def open_backend(
    rules: Rules, uri: str | None, state_dir: str, sync_state: SyncState | None = None
) -> CalendarBackend:
    """The backend named by ``--calendar URI`` or else the rules' ``calendar:`` section. No I/O:
    capabilities are resolved by the backend's ``connect()`` (or its first snapshot)."""
    from boundaryd.core.rules import CalendarURI

    scheme, _, rest = (uri or "").partition(":")
    if uri and scheme in BACKENDS and not BACKENDS[scheme].public and rest:
        scheme, location = scheme, rest
    else:
        target = CalendarURI.parse(uri) if uri else rules.calendar_target(state_dir)
        scheme, location = target.scheme, target.location
    entry = BACKENDS.get(scheme)
    if entry is None:
        raise BadInput(f"--calendar: unknown scheme {scheme!r} (use ics:PATH, caldav:URL, google:CALENDAR_ID or microsoft:CALENDAR)")
    context = Context(tuple(rules.owner.emails), rules.tz, state_dir, sync_state)
    backend: CalendarBackend = entry.load().open(location, entry.section(rules.calendar), context)
    return backend
