"""The contract every calendar backend keeps. The planner never sees a backend; the executor does."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from boundaryd.core.model import BlockEvent, Occurrence, Snapshot


class SyncState(Protocol):
    """Small persistent key/value store (the journal) for sync tokens, ETags, capability memos."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str | None) -> None: ...


class CalendarBackend(Protocol):
    #: a short name for logs and errors, e.g. "ics:/home/a/calendar.ics"
    name: str
    #: True when the server itself tells organizers about our declines (Google, CalDAV scheduling)
    tells_organizer: bool

    def snapshot(self, start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        """Every occurrence starting in ``[start, end)``, expanded in ``tz``, plus owned events.

        Raises BadInput when the calendar cannot be read at all, RuntimeFailure when unreachable.
        One broken event goes into ``Snapshot.skipped``, not an exception.
        """
        ...

    def put_block(self, event: BlockEvent) -> None:
        """Create or replace the owned event ``event.uid``. Idempotent."""
        ...

    def delete_block(self, uid: str) -> None:
        """Delete the owned event ``uid``; deleting a missing one is not an error."""
        ...

    def decline(self, occ: Occurrence, owner_emails: tuple[str, ...], comment: str) -> None:
        """Set the owner's PARTSTAT=DECLINED on this occurrence only, with ``comment``.

        For an instance of a series: an override (RECURRENCE-ID) — the series is untouched.
        SEQUENCE is not bumped. Idempotent.
        """
        ...

    def flag(self, occ: Occurrence) -> None:
        """Mark the owner's copy of this occurrence as a conflict, where the backend can. Idempotent."""
        ...

    def flush(self) -> None:
        """Make every change so far durable (the ICS backend writes its file here, atomically)."""
        ...
