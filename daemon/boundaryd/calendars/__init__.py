"""Calendar backends. Each implements :class:`boundaryd.calendars.base.CalendarBackend`.

Backends are imported lazily by :func:`open_backend` so the ICS user never imports the Google
client or caldav.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from boundaryd.errors import BadInput

if TYPE_CHECKING:
    from boundaryd.calendars.base import CalendarBackend, SyncState
    from boundaryd.core.rules import Rules


def open_backend(
    rules: Rules, uri: str | None, state_dir: str, sync_state: SyncState | None = None
) -> CalendarBackend:
    """The backend named by ``--calendar URI`` or else the rules' ``calendar:`` section."""
    from boundaryd.core.rules import CalendarURI

    target = CalendarURI.parse(uri) if uri else rules.calendar_target(state_dir)
    if target.scheme == "ics":
        from boundaryd.calendars.ics import IcsBackend

        return IcsBackend(target.location)
    if target.scheme == "caldav":
        from boundaryd.calendars.caldav_backend import CaldavBackend

        return CaldavBackend.from_rules(rules, target.location, sync_state)
    if target.scheme == "google":
        from boundaryd.calendars.google_backend import GoogleBackend

        return GoogleBackend.from_rules(rules, target.location, state_dir, sync_state)
    raise BadInput(f"--calendar: unknown scheme {target.scheme!r} (use ics:PATH, caldav:URL or google:CALENDAR_ID)")
