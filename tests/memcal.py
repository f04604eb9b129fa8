"""The memory backend (``calendars/memory.py``) as the state machine uses it.

It records what boundaryd asked of it (``declined``, ``flagged``), shows the whole calendar as one
iCalendar object (``cal``) for the invariants, and lets others (organizers) replace an event the
way an iTIP REQUEST replaces the attendee's copy. Every change lands at once, as on a CalDAV server
(no transaction: a sync that dies halfway leaves half its changes), so a crash test sees the harder case.
"""

from __future__ import annotations

import icalendar

from boundaryd.calendars import memory
from boundaryd.core import ical
from boundaryd.core.model import Capabilities, Occurrence


class MemoryCalendar(memory.MemoryBackend):
    def __init__(self, capabilities: Capabilities = Capabilities()) -> None:  # noqa: B008 - frozen
        super().__init__(memory.MemoryCalendar("state-machine", capabilities))
        self.declined: set[tuple[str, str]] = set()  # occurrences boundaryd asked to decline
        self.flagged: set[tuple[str, str]] = set()  # and to flag

    @property
    def writes(self) -> int:
        """Calls that changed something on the calendar."""
        return self.store.writes

    @property
    def cal(self) -> icalendar.Calendar:
        whole = ical.new_calendar()
        for text in self.store.items.values():
            for comp in icalendar.Calendar.from_ical(text).subcomponents:
                if comp.name == "VEVENT":
                    whole.add_component(comp)
        whole.add_missing_timezones()
        return whole

    # -- what others do ----------------------------------------------------------------------
    def replace_event(self, uid: str, comps: list[icalendar.Component]) -> None:
        one = ical.new_calendar()
        for c in comps:
            one.add_component(c)
        one.add_missing_timezones()
        self.store.put(uid, one.to_ical())

    # -- what boundaryd asks -------------------------------------------------------------------
    def decline(self, occ: Occurrence, owner_emails: tuple[str, ...], comment: str) -> None:
        self.declined.add(occ.key)
        super().decline(occ, owner_emails, comment)

    def flag(self, occ: Occurrence) -> None:
        self.flagged.add(occ.key)
        super().flag(occ)
