"""The actions a plan holds: what the executor does, each with the trace of why.

Frozen values, no I/O. The planner makes them; the executor carries out each one and journals it;
``why``, ``week``, the digest and the preview read them. The executor decides nothing: whether a
decline is told to its organizer, by whom, with which reply key, is already here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from boundaryd.core.model import BlockEvent, Conflict, Hold, LedgerRow, Notice, Occurrence, Trace


class Telling(str, enum.Enum):
    """How the organizer of a declined meeting learns about it."""

    SERVER = "server"  # the calendar server tells them (Google; CalDAV with scheduling)
    REPLY = "reply"  # boundaryd sends an iTIP REPLY over SMTP (it waits in the outbox while the server is down)
    OUTBOX = "outbox"  # the REPLY stays in the outbox for the owner to send (replies: outbox, or no SMTP)
    NOBODY = "nobody"  # nobody tells them; ``Decline.told_why`` says why


# --- the blocks on the calendar -------------------------------------------------------------


@dataclass(frozen=True)
class WriteBlock:
    """Create or replace an owned event for a block."""

    event: BlockEvent
    op: str  # create | update
    trace: Trace = Trace()

    @property
    def block(self) -> str:
        return self.event.block

    @property
    def uid(self) -> str:
        return self.event.uid


@dataclass(frozen=True)
class RemoveBlock:
    """Delete an owned event whose block is gone from the rules."""

    block: str
    uid: str
    trace: Trace = Trace()
    op: str = "delete"
    event: None = None


# --- the owner's answer on invitations -----------------------------------------------------


@dataclass(frozen=True)
class Decline:
    """Set the owner's answer on one occurrence to declined, with ``message`` as the comment."""

    conflict: Conflict
    told: Telling
    told_why: str  # in words: who tells the organizer, or why nobody does
    reply: str | None = None  # the key of the reply that tells the organizer, when boundaryd sends one
    previous: str = "NEEDS-ACTION"  # the owner's answer before (what ``allow`` sets back)
    #: a new time proposed with the decline (the first alternative), where the calendar carries one
    proposed: datetime | None = None

    @property
    def occurrence(self) -> Occurrence:
        return self.conflict.occurrence

    @property
    def message(self) -> str:
        return self.conflict.message

    @property
    def alternatives(self) -> tuple[datetime, ...]:
        return self.conflict.alternatives

    @property
    def trace(self) -> Trace:
        return self.conflict.trace.plus(f"organizer told: {self.told.value} ({self.told_why})")


@dataclass(frozen=True)
class Flag:
    """Mark the owner's copy of one occurrence as a conflict (where the backend can)."""

    conflict: Conflict

    @property
    def occurrence(self) -> Occurrence:
        return self.conflict.occurrence

    @property
    def trace(self) -> Trace:
        return self.conflict.trace


@dataclass(frozen=True)
class Remember:
    """Journal what this plan saw first: blocks applying for the first time (``block:fingerprint``,
    with the meetings on them then) and the refs given to conflicts."""

    applied: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    refs: tuple[tuple[str, str, str], ...]  # (uid, recurrence id or "" for a series, ref)
    trace: Trace = Trace()


@dataclass(frozen=True)
class RememberOwned:
    """Journal the held offers made (``holds``) and let go (``released``, by key), and the week's
    facts that changed (``ledger`` rows written, ``forgotten`` rows by (kind, key)): journaled
    before the calendar changes they describe."""

    holds: tuple[Hold, ...] = ()
    released: tuple[str, ...] = ()
    ledger: tuple[LedgerRow, ...] = ()
    forgotten: tuple[tuple[str, str], ...] = ()
    trace: Trace = Trace()


# --- messages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """An iTIP REPLY declining ``occurrence``, from the owner to its organizer (same key = same message)."""

    key: str
    occurrence: Occurrence
    comment: str
    owner_email: str  # the owner's address on the invitation
    owner_name: str | None
    send: bool  # False: kept in the outbox for the owner, no transport sends it (replies: outbox)
    trace: Trace = Trace()
    partstat: str = "DECLINED"  # another answer: the undo of boundaryd's decline ("undo-" key)

    @property
    def depends(self) -> tuple[tuple[str, str], ...]:
        """Sent only once the decline it reports is on the calendar (an undo: once it is off again)."""
        return (self.occurrence.key,)


@dataclass(frozen=True)
class NotifiedRow:
    """A conflict a notice reports, recorded in the journal once the notice is queued."""

    key: str
    uid: str
    recurrence_id: str
    block: str
    decision: str
    start: str
    end: str

    def as_dict(self) -> dict[str, str]:
        return {
            "key": self.key,
            "uid": self.uid,
            "recurrence_id": self.recurrence_id,
            "block": self.block,
            "decision": self.decision,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class Notify:
    """Tell the owner about new conflicts: a notice now, or rows for the next digest."""

    key: str
    notice: Notice
    rows: tuple[NotifiedRow, ...]
    depends: tuple[tuple[str, str], ...]  # the declines it reports: queued once one is on the calendar
    digest: bool  # True: collected for the hourly/daily digest instead of sent now
    trace: Trace = Trace()
    #: how declines no Decline action of this plan reports reached their organizers:
    #: (occurrence key, ``Telling`` value, in words), e.g. a decline the server could not deliver
    told: tuple[tuple[tuple[str, str], str, str], ...] = ()


@dataclass(frozen=True)
class Unflag:
    """Take the conflict mark off an occurrence boundaryd flagged whose conflict ended."""

    occurrence: Occurrence
    trace: Trace = Trace()


@dataclass(frozen=True)
class Undo:
    """Set the owner's answer back to ``partstat`` on an occurrence boundaryd declined, told as the decline was."""

    occurrence: Occurrence
    partstat: str
    told: Telling
    trace: Trace = Trace()
    reply: str | None = None  # the key of the reply that tells the organizer, when boundaryd sent the decline's
    ref: str = ""  # the conflict's ref (journal), as the notice that reported the decline showed it


#: held offers, make-up time, moved flexible instances and mirrors are owned events (core/ical_owned.py):
#: WriteBlock/RemoveBlock carry them like blocks
Action = WriteBlock | RemoveBlock | Remember | RememberOwned | Decline | Flag | Reply | Notify | Unflag | Undo
#: actions the planner does not make yet, so no executor step carries them out
NOT_YET_PLANNED: tuple[type, ...] = ()
