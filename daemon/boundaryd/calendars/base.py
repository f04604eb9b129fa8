"""The contract every calendar backend keeps. The planner never sees a backend; the executor does.

A backend is opened without I/O. ``connect()`` resolves what it can do (:class:`Capabilities`)
once — the network is asked at most then, and the answer may be remembered in the journal — and
``snapshot()`` connects first when nobody did. After that ``capabilities`` is a plain value.
Backends make no policy and no wording: what to write, and the words on it, come in with the call.

The contract is checked by ``tests/test_contract_*.py``, the same scenarios for every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from boundaryd.core.model import BlockEvent, Capabilities, Occurrence, Snapshot


class SyncState(Protocol):
    """Small persistent key/value store (the journal) for sync tokens, ETags, capability memos."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str | None) -> None: ...


class CalendarBackend(Protocol):
    #: a short name for logs and errors, e.g. "ics:/home/a/calendar.ics"
    name: str
    #: what this calendar can do; final once ``connect()`` (or the first ``snapshot()``) returned
    capabilities: Capabilities

    def connect(self) -> Capabilities:
        """Resolve ``capabilities`` (once; later calls return the same value without I/O).

        Raises RuntimeFailure when the calendar cannot be reached.
        """
        ...

    def snapshot(self, start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        """Every occurrence starting in ``[start, end)``, expanded in ``tz``, plus owned events.

        Connects first if needed; ``Snapshot.capabilities`` is ``capabilities``.
        Raises BadInput when the calendar cannot be read at all, RuntimeFailure when unreachable.
        One broken event goes into ``Snapshot.skipped``, not an exception. Where the backend has
        change tokens, a snapshot of an unchanged calendar does not read it in full again.
        """
        ...

    def put_block(self, event: BlockEvent) -> None:
        """Create or replace the owned event ``event.uid``. Idempotent."""
        ...

    def delete_block(self, uid: str) -> None:
        """Delete the owned event ``uid``; deleting a missing one is not an error, and an event
        boundaryd does not own is never deleted."""
        ...

    def decline(self, occ: Occurrence, owner_emails: tuple[str, ...], comment: str) -> None:
        """Set the owner's PARTSTAT=DECLINED on this occurrence only, with ``comment``.

        For an instance of a series: an override (RECURRENCE-ID) — the series is untouched.
        SEQUENCE is not bumped. Idempotent.
        """
        ...

    def answer(self, occ: Occurrence, owner_emails: tuple[str, ...], partstat: str) -> None:
        """Set the owner's PARTSTAT back from DECLINED to ``partstat`` on this occurrence (or, with
        no recurrence id, the series): the undo of a decline. The decline's comment comes off.
        Where the server tells organizers, it tells them; SEQUENCE is not bumped. Idempotent: an
        occurrence the owner did not decline is left alone."""
        ...

    def flag(self, occ: Occurrence) -> None:
        """Mark the owner's copy of this occurrence as a conflict, where the backend can. Idempotent."""
        ...

    def unflag(self, occ: Occurrence) -> None:
        """Take the conflict mark off the owner's copy of this occurrence (the conflict ended).
        Idempotent: an occurrence without the mark is left alone."""
        ...

    def flush(self) -> None:
        """Make every change so far durable (the ICS backend writes its file here, atomically).

        Conflict412 when someone else changed the calendar since the snapshot.
        """
        ...


class HistoryReader(Protocol):
    """What a backend that can read the past keeps besides the contract above (``leads``: who the
    owner has met). Read once per calendar; it must not disturb ``snapshot``'s tokens and caches."""

    def history(self, start: datetime, end: datetime, tz: ZoneInfo) -> Sequence[Occurrence]:
        """Every occurrence starting in ``[start, end)``, expanded in ``tz``: boundaryd's own events
        left out, unreadable ones skipped. Nothing is remembered from it."""
        ...


def read_history(backend: object, start: datetime, end: datetime, tz: ZoneInfo) -> Sequence[Occurrence] | None:
    """The backend's history of ``[start, end)``; None where the backend cannot read one (then no
    one counts as a new contact: nobody is taken for a lead by mistake)."""
    reader = getattr(backend, "history", None)
    if reader is None:
        return None
    found: Sequence[Occurrence] = reader(start, end, tz)
    return found
