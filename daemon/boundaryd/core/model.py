"""The planner's view of the world: frozen values shared by the planner, backends and executor.

Nothing here does I/O. Backends turn their calendars into a :class:`Snapshot`; the planner turns
rules + snapshot into a :class:`Plan`; the executor applies a plan through a backend.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from boundaryd.core.actions import Action, Decline, Flag, Notify, RemoveBlock, Reply, Undo, WriteBlock


class Decision(str, enum.Enum):
    """What boundaryd does with an occurrence that lands on a block. Ordered by strictness."""

    KEEP = "keep"  # only keep-policy blocks were hit: reported, nothing done
    ALLOW = "allow"
    FLAG = "flag"
    DECLINE = "decline"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Decision.KEEP: 0, Decision.ALLOW: 1, Decision.FLAG: 2, Decision.DECLINE: 3}
PAST_TENSE = {Decision.DECLINE: "declined", Decision.FLAG: "flagged", Decision.ALLOW: "allowed", Decision.KEEP: "noted"}


def counts_text(decisions: Iterable[Decision]) -> str:
    """ "2 declined, 1 flagged": the counts a notice's subject and summary give, strictest first."""
    counts = Counter(decisions)
    return ", ".join(f"{counts[d]:,} {PAST_TENSE[d]}" for d in sorted(counts, key=lambda d: -d.rank))


@dataclass(frozen=True, slots=True)
class Attendee:
    email: str  # lower-case, without "mailto:"
    partstat: str = "NEEDS-ACTION"  # RFC 5545 PARTSTAT, upper-case
    name: str = ""
    schedule_status: str = ""  # RFC 6638 SCHEDULE-STATUS a scheduling server set on it ("" when none)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of a calendar event, as the planner sees it.

    ``start``/``end`` are aware datetimes in the rules' zone. For all-day events they are local
    midnights and ``all_day`` is true.
    """

    uid: str
    recurrence_id: datetime | date | None  # original start, for an instance of a series
    summary: str
    start: datetime
    end: datetime
    all_day: bool = False
    description: str = ""
    organizer: str = ""  # lower-case email, "" when none
    organizer_name: str = ""
    attendees: tuple[Attendee, ...] = ()
    status: str = "CONFIRMED"  # TENTATIVE | CONFIRMED | CANCELLED
    transparent: bool = False
    owned_block: str | None = None  # X-BOUNDARYD-BLOCK / boundarydBlock
    categories: tuple[str, ...] = ()
    sequence: int = 0
    zone: str = ""  # the IANA zone the invitation's DTSTART names (the organizer's), "" when none
    #: RFC 6638 SCHEDULE-STATUS on ORGANIZER: on an attendee's copy, whether the server delivered
    #: the attendee's last reply ("1.2" delivered, "3.7" / "5.x" not); "" when none
    schedule_status: str = ""
    comment: str = ""  # COMMENT: on the owner's copy, the message of their last reply
    _key: tuple[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        """Stable identity of this occurrence across syncs (made once: the planner asks often)."""
        key = self._key
        if key is None:
            key = (self.uid, "" if self.recurrence_id is None else self.recurrence_id.isoformat())
            object.__setattr__(self, "_key", key)
        return key


@dataclass(frozen=True)
class OwnedEvent:
    """An event boundaryd wrote for a block (one per block time)."""

    uid: str
    block: str
    fingerprint: str  # hash of the definition it was written from; differs => update


@dataclass(frozen=True)
class Skipped:
    """An event that could not be read; reported, never touched."""

    uid: str
    reason: str


@dataclass(frozen=True)
class BusyEvent:
    """An event of one of the owner's other calendars (``busy_from``): busy time, never written.

    ``start``/``end`` as for :class:`Occurrence`; ``summary`` is for the owner's eyes only.
    """

    source: str  # the source's name
    uid: str
    recurrence_id: str  # the original start's isoformat for an instance of a series, else ""
    summary: str
    start: datetime
    end: datetime
    all_day: bool = False


@dataclass(frozen=True)
class Snapshot:
    """What a backend read: the occurrences in the window plus the events boundaryd owns."""

    occurrences: tuple[Occurrence, ...]
    owned: tuple[OwnedEvent, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    #: what the backend that read it can do (resolved when it connected)
    capabilities: Capabilities = field(default_factory=lambda: Capabilities())
    #: the events of the ``busy_from`` calendars (read by the engine, not by this backend)
    busy: tuple[BusyEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class BlockInstance:
    block: str
    title: str
    kind: str
    start: datetime
    end: datetime
    all_day: bool = False


@dataclass(frozen=True)
class BlockEvent:
    """The iCalendar definition of one owned event to write for a block.

    ``ical`` is the serialized VEVENT (with RRULE/EXDATE, TZID) — the single source from which
    both the calendar event and the block's instances are produced.
    """

    uid: str
    block: str
    title: str
    fingerprint: str
    ical: str
    #: write it as the provider's focus time (decided by the planner from capabilities and rules)
    focus: bool = False
    #: the decline message a focus-time event carries (the provider declines with it by itself)
    decline_message: str = ""


@dataclass(frozen=True, slots=True)
class BlockVerdict:
    """What one block instance an occurrence lands on says about it (a line of ``why``)."""

    block: str
    label: str
    start: datetime
    end: datetime
    all_day: bool
    policy: str  # decline | flag | keep
    decision: Decision | None  # None: the policy is keep, the block decides nothing
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Trace:
    """Why the planner decided what it did: the block-by-block verdicts and any further steps."""

    verdicts: tuple[BlockVerdict, ...] = ()
    steps: tuple[str, ...] = ()

    def plus(self, *steps: str) -> Trace:
        return Trace(self.verdicts, self.steps + steps)


@dataclass(frozen=True, slots=True)
class Conflict:
    occurrence: Occurrence
    block: str  # the block that gave the winning decision
    blocks: tuple[str, ...]  # every block hit
    decision: Decision
    reason: str
    message: str = ""  # the decline message, for declines
    alternatives: tuple[datetime, ...] = ()
    trace: Trace = Trace()  # how the decision was reached (what ``why`` prints)
    ref: str = ""  # six letters and digits that name this occurrence (or series) on the command line
    series: bool = False  # a standing conflict: stands for every occurrence of the series in the window
    #: a new lead's conflict (core/leads.py): the sentence the owner is told at once; "" for any other
    lead: str = ""


@dataclass(frozen=True)
class Notice:
    to: str
    subject: str
    conflicts: tuple[Conflict, ...] = ()
    keys: tuple[str, ...] = ()  # journal keys that make this notice unique


@dataclass(frozen=True)
class Plan:
    """Everything one sync decides: the typed actions the executor carries out, plus what the
    planner saw (the blocks, every conflict with its decision, the events it could not read)."""

    now: datetime
    window_start: datetime
    window_end: datetime
    blocks: tuple[BlockInstance, ...]
    conflicts: tuple[Conflict, ...]
    actions: tuple[Action, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def declines(self) -> tuple[Conflict, ...]:
        """Every conflict decided as a decline (a decline a server refused for good included)."""
        return tuple(c for c in self.conflicts if c.decision is Decision.DECLINE)

    @property
    def flags(self) -> tuple[Conflict, ...]:
        return tuple(c for c in self.conflicts if c.decision is Decision.FLAG)

    @property
    def calendar_changes(self) -> tuple[WriteBlock | RemoveBlock, ...]:
        from boundaryd.core.actions import RemoveBlock, WriteBlock

        return tuple(a for a in self.actions if isinstance(a, (WriteBlock, RemoveBlock)))

    @property
    def decline_actions(self) -> tuple[Decline, ...]:
        from boundaryd.core.actions import Decline

        return tuple(a for a in self.actions if isinstance(a, Decline))

    @property
    def undo_actions(self) -> tuple[Undo, ...]:
        from boundaryd.core.actions import Undo

        return tuple(a for a in self.actions if isinstance(a, Undo))

    @property
    def flag_actions(self) -> tuple[Flag, ...]:
        from boundaryd.core.actions import Flag

        return tuple(a for a in self.actions if isinstance(a, Flag))

    @property
    def messages(self) -> tuple[Reply | Notify, ...]:
        """The replies and notices this plan sends, in the order they are held and queued."""
        from boundaryd.core.actions import Notify, Reply

        return tuple(a for a in self.actions if isinstance(a, (Reply, Notify)))

    @property
    def notices(self) -> tuple[Notice, ...]:
        from boundaryd.core.actions import Notify

        return tuple(a.notice for a in self.actions if isinstance(a, Notify))

    def week(self, days: int = 7) -> tuple[tuple[BlockInstance, ...], tuple[Conflict, ...]]:
        """The blocks and conflicts that start in the ``days`` days from ``now`` (``week``, the preview)."""
        end = self.now + timedelta(days=days)
        return (
            tuple(b for b in self.blocks if b.start < end),
            tuple(c for c in self.conflicts if c.occurrence.start < end),
        )


@dataclass(frozen=True)
class AllowEntry:
    """An ``allow`` command: let every occurrence of ``uid`` (starting before ``until``) through."""

    uid: str
    until: date | None = None
    recurrence_id: str | None = None  # isoformat; None = every occurrence

    def covers(self, occ: Occurrence) -> bool:
        if occ.uid != self.uid:
            return False
        if self.recurrence_id is not None and occ.key[1] != self.recurrence_id:
            return False
        return self.until is None or occ.start.date() <= self.until


@dataclass(frozen=True, slots=True)
class Hold:
    """A slot offered in a decline, held on the calendar for its organizer until taken or ``expires``."""

    key: str  # the conflict's ref and the slot's index ("k3f9q2-1"): the owned event's key
    occurrence: tuple[str, str]  # the declined occurrence's key (uid, recurrence id)
    organizer: str  # who it is held for, as the title names them
    summary: str  # the declined meeting's title
    start: datetime
    end: datetime
    expires: datetime
    all_day: bool = False


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """A fact of a week a later sync can no longer read once it is past, kept once in the journal for
    the planner (make-up, flexible moves) and the weekly report: a meeting that landed on blocks, with
    its organizer and the decision boundaryd made (``meeting``), a make-up event (``makeup``), a
    flexible instance moved (``flex``)."""

    kind: str  # meeting | makeup | flex
    block: str  # the block that decided a meeting; the block a make-up or moved instance is of
    key: str  # what it is: "uid|recurrence id" (meeting), the owned event's key (makeup, flex)
    start: datetime
    end: datetime
    uid: str = ""  # a meeting's occurrence
    rid: str = ""
    all_day: bool = False
    person: str = ""  # a meeting's organizer (the owner for their own events)
    decision: str = ""  # a meeting's Decision value
    blocks: tuple[str, ...] = ()  # every block a meeting landed on


@dataclass(frozen=True)
class Memory:
    """What the journal tells the planner.

    ``allowed``: ``allow`` exceptions; ``notified``: notice keys of conflicts already notified;
    ``messages``: keys of replies and notices already held or queued; ``refused``: occurrences
    whose decline a server refused for good (reported once, never tried again).
    """

    allowed: Collection[AllowEntry] = ()
    notified: Collection[str] = ()
    messages: Collection[str] = ()
    refused: Collection[tuple[str, str]] = ()
    #: blocks already applied, by "block:fingerprint": the occurrence keys on the calendar then;
    #: None: no journal keeps this (every meeting counts as one that arrived after its block)
    applied: Mapping[str, Collection[tuple[str, str]]] | None = None
    #: refs already given, by occurrence key (uid, recurrence id; "" for a series)
    refs: Mapping[tuple[str, str], str] = field(default_factory=dict)
    #: occurrences boundaryd declined: key -> (the owner's answer before, how the organizer was told)
    declined: Mapping[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    #: ``boundaryd decline`` commands: occurrence keys (recurrence id "" for a whole series)
    decline_now: Collection[tuple[str, str]] = ()
    #: who the owner has met (``leads``: core/leads.py); None: unknown, so no one is a new contact
    contacts: Collection[str] | None = None
    #: keyword exceptions journaled: (person, uid, recurrence id, when granted)
    keyword_uses: Collection[tuple[str, str, str, datetime]] = ()
    #: held offers still standing (engine/journal_holds.py)
    holds: Collection[Hold] = ()
    #: the record of the weeks' past (the last six weeks and ahead): meetings on blocks with their
    #: organizer and decision, make-up events, moved flexible instances (the report reads it too)
    ledger: Collection[LedgerRow] = ()
    #: occurrences boundaryd marked as a conflict (their mark comes off when the conflict ends)
    flagged: Collection[tuple[str, str]] = ()


@dataclass(frozen=True)
class Capabilities:
    """What a calendar backend can do, resolved once when it connects. The planner reads these;
    backends never decide policy or wording.
    """

    #: the server tells organizers about the owner's declines (Google; CalDAV with RFC 6638 scheduling)
    tells_organizer: bool = False
    #: a decline can carry the owner's message to the organizer (False: the scheduling server drops
    #: COMMENT from the reply it sends, as sabre/dav and DAViCal do: boundaryd's iMIP reply carries it)
    decline_comment: bool = True
    #: the server's reply for one declined instance of a series names that instance (False: DAViCal
    #: tells the organizer the whole series was declined; boundaryd's iMIP reply names the instance)
    instance_replies: bool = True
    #: a decline can carry a proposed new time (Microsoft Graph)
    proposed_new_time: bool = False
    #: the provider has native focus-time events that decline on their own (Google)
    focus_time: bool = False
    #: how a flag shows on the owner's copy: "categories" (iCalendar/CalDAV), "colour" (Google), "" (none:
    #: the server refuses it, or would tell the organizer of it; the notice alone reports the flag)
    flag_mark: str = "categories"
