"""A calendar server in memory, for tests: the backend contract over one iCalendar object.

Every change lands at once, as on a CalDAV server (no transaction: a sync that dies halfway leaves
half its changes), so a crash test sees the harder case. The edits are the same ``core.ical``
functions the ICS backend uses. Others (organizers) change it with :meth:`replace_event`, the way
an iTIP REQUEST replaces the attendee's copy.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import icalendar

from boundaryd.core import ical
from boundaryd.core.model import BlockEvent, Capabilities, Occurrence, Snapshot

STAMP = datetime(2026, 11, 1, tzinfo=timezone.utc)


class MemoryCalendar:
    def __init__(self, capabilities: Capabilities = Capabilities()) -> None:  # noqa: B008 - frozen
        self.cal = ical.new_calendar()
        self.capabilities = capabilities
        self.name = "memory:test"
        self._tz: ZoneInfo | None = None
        self.writes = 0  # calls that changed something
        self.declined: set[tuple[str, str]] = set()  # occurrences boundaryd asked to decline
        self.flagged: set[tuple[str, str]] = set()  # and to flag

    # -- what others do ----------------------------------------------------------------------
    def events_of(self, uid: str) -> list[icalendar.Component]:
        return [c for c in self.cal.subcomponents if c.name == "VEVENT" and str(c.get("UID", "")) == uid]

    def replace_event(self, uid: str, comps: list[icalendar.Component]) -> None:
        for c in self.events_of(uid):
            self.cal.subcomponents.remove(c)
        for c in comps:
            self.cal.add_component(c)
        self.cal.add_missing_timezones()

    # -- the backend contract ------------------------------------------------------------------
    def snapshot(self, start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        self._tz = tz
        occs, owned, skipped = ical.occurrences_of(self.cal, start, end, tz)
        return Snapshot(tuple(occs), tuple(owned), tuple(skipped), self.capabilities)

    def _zone(self) -> ZoneInfo:
        if self._tz is None:
            raise RuntimeError("snapshot() must come before changes")
        return self._tz

    def put_block(self, event: BlockEvent) -> None:
        self._zone()
        ical.put_block_in(self.cal, event, STAMP)
        self.writes += 1

    def delete_block(self, uid: str) -> None:
        self._zone()
        if any(ical.BLOCK_PROP in c for c in self.events_of(uid)):
            self.writes += ical.remove_uid(self.cal, uid)

    def decline(self, occ: Occurrence, owner_emails: tuple[str, ...], comment: str) -> None:
        self.declined.add(occ.key)
        self.writes += ical.decline_in(self.cal, occ, owner_emails, comment, self._zone())

    def flag(self, occ: Occurrence) -> None:
        self.flagged.add(occ.key)
        self.writes += ical.flag_in(self.cal, occ, self._zone())

    def flush(self) -> None:
        self._zone()
