"""The owner's other calendars (``busy_from``) in the plan: collisions, their decisions, mirrors.

Pure, part of the planner. The engine reads each source (read-only) and hands its events in with
the snapshot (``Snapshot.busy``). Here:
- a meeting on the main calendar that overlaps a source event is decided by the source's
  ``policy`` as if the event were a block (decline | flag | keep; the strictest across blocks and
  sources wins). An all-day source event is like an all-day block: every meeting of that day
  collides with it; a timed one collides with timed meetings only. The organizer reads "a prior
  commitment" (a source is private: its titles never reach a decline message); the owner reads
  the source and the title ("collides with Family: Recital");
- source events are busy for alternatives (see :func:`spans`);
- a source with ``mirror: true`` gets an owned private busy copy of each event on the main
  calendar (:func:`mirrors`), which the planner diffs like every owned event: moved with the
  event, removed when it goes.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from boundaryd.core import existing, leads, sweep
from boundaryd.core.existing import Baseline
from boundaryd.core.ical_owned import owned_event, role_of
from boundaryd.core.model import BlockEvent, BlockVerdict, BusyEvent, Conflict, Decision, Memory, Occurrence, Trace
from boundaryd.core.rules import Rules
from boundaryd.core.rules_busy import BusySource
from boundaryd.presentation.busy_words import collides
from boundaryd.presentation.owned_words import mirror_description, mirror_title
from boundaryd.presentation.words import NamedBlock

#: a conflict's ``block`` when a source gave its decision: ``busy_from:NAME`` (never a block's slug)
PREFIX = "busy_from:"
#: longest mirror key written as it is; longer ones are hashed
_KEY_LIMIT = 120


def source_id(name: str) -> str:
    return PREFIX + name


def is_source(block_id: str) -> bool:
    return block_id.startswith(PREFIX)


def from_occurrences(source: str, occs: Iterable[Occurrence], owners: Sequence[str]) -> tuple[BusyEvent, ...]:
    """A source calendar's busy time: its occurrences less the cancelled, the free, those the owner
    declined, and mirrors (a mirror of a mirror would copy time back and forth for ever)."""
    out = []
    for o in occs:
        if o.status == "CANCELLED" or o.transparent or o.end <= o.start:
            continue
        if o.owned_block is not None and role_of(o.owned_block)[0] == "mirror":
            continue
        if any(a.email in owners and a.partstat == "DECLINED" for a in o.attendees):
            continue
        out.append(BusyEvent(source, o.uid, o.key[1], o.summary, o.start, o.end, o.all_day))
    return tuple(sorted(out, key=lambda b: (b.start, b.source, b.uid, b.recurrence_id)))


def spans(busy: Iterable[BusyEvent]) -> list[tuple[datetime, datetime]]:
    """What the source events make busy, for alternatives (an all-day one: its whole days)."""
    return [(b.start, b.end) for b in busy]


@dataclass(frozen=True)
class SourceBlock:
    """A source as the words of a decline message see a block: private, so "a prior commitment"."""

    label: str
    private: bool = True


def named(rules: Rules, block_id: str) -> tuple[str, NamedBlock]:
    """(message template, the block as words name it) for a conflict's ``block``."""
    if is_source(block_id):
        return rules.defaults.message, SourceBlock(block_id[len(PREFIX):])
    block = rules.block(block_id)
    return rules.message_of(block), block


# --- collisions --------------------------------------------------------------------------------


def collisions(occs: Sequence[Occurrence], busy: Sequence[BusyEvent]) -> dict[tuple[str, str], list[BusyEvent]]:
    """Which source events each occurrence overlaps (by more than zero). The same event on both
    calendars (same UID) is no collision with itself."""
    return sweep.overlaps(occs, sorted(busy, key=lambda b: b.start), lambda o, b: b.uid != o.uid)


def baselines(rules: Rules, memory: Memory) -> dict[str, Baseline]:
    """Each source as first applied (as for blocks: meetings there then are flagged, not declined)."""
    if memory.applied is None:
        return {}
    out = {}
    for s in rules.busy_from:
        key = f"{source_id(s.name)}:{hashlib.sha256(s.policy.encode()).hexdigest()[:16]}"
        known = memory.applied.get(key)
        out[source_id(s.name)] = Baseline(key, known is None, frozenset(known or ()))
    return out


def _decision(
    rules: Rules, source: BusySource, ev: BusyEvent, occ: Occurrence, memory: Memory, base: Baseline | None
) -> tuple[Decision, str] | None:
    for entry in memory.allowed:
        if entry.covers(occ):
            return Decision.ALLOW, "allowed by 'boundaryd allow'" + (f" until {entry.until.isoformat()}" if entry.until else "")
    what = collides(source.name, ev.summary)
    if source.policy == "keep":
        return None
    if source.policy == "flag":
        return Decision.FLAG, f"{what} (policy flag)"
    owners = set(rules.owner.emails)
    me = next((a.partstat for a in occ.attendees if a.email in owners), None)
    if occ.organizer in owners or not occ.attendees:
        return Decision.FLAG, f"your own event; {what}"
    if me is None:
        return Decision.FLAG, f"you are not on the invitation; {what}"
    if me == "ACCEPTED" and not rules.defaults.decline_accepted:
        return Decision.FLAG, f"already accepted; {what}"
    if base is not None and base.was_there(occ) and not rules.defaults.decline_existing:
        return Decision.FLAG, existing.EXISTING_REASON.format(block=f"{source.name} (busy_from)")
    lead = leads.lead_reason(rules, occ, memory)  # decision 5: a new lead is flagged, never declined
    if lead is not None:
        return Decision.FLAG, f"new lead ({lead}): flagged, never declined; {what}"
    return Decision.DECLINE, f"{what} (policy decline)"


def verdicts(rules: Rules, occ: Occurrence, busy: Sequence[BusyEvent], memory: Memory) -> tuple[BlockVerdict, ...]:
    """Each source event ``occ`` collides with, and what its source says (``why`` asks this for an
    occurrence the plan skipped, such as one boundaryd declined already)."""
    sources = {s.name: s for s in rules.busy_from}
    hit = collisions([occ], [b for b in busy if b.source in sources]).get(occ.key, [])
    return tuple(_verdict(rules, sources[ev.source], ev, occ, memory, None)[0] for ev in hit)


def _verdict(
    rules: Rules, source: BusySource, ev: BusyEvent, occ: Occurrence, memory: Memory, base: Baseline | None
) -> tuple[BlockVerdict, tuple[Decision, str] | None]:
    d = _decision(rules, source, ev, occ, memory, base)
    label = f"{source.name}: {ev.summary}".strip()
    v = BlockVerdict(source_id(source.name), label, ev.start, ev.end, ev.all_day, source.policy,
                     d[0] if d else None, d[1] if d else "")
    return v, d


def _hits(rules: Rules, considered: Sequence[Occurrence], busy: Sequence[BusyEvent]) -> dict[tuple[str, str], list[BusyEvent]]:
    names = {s.name for s in rules.busy_from}
    return collisions(considered, [b for b in busy if b.source in names])


def first_applied(
    rules: Rules, considered: Sequence[Occurrence], busy: Sequence[BusyEvent], memory: Memory
) -> dict[str, tuple[tuple[str, str], ...]]:
    """For sources applying for the first time, the meetings on their events now (for the
    journal, as for blocks: those are flagged, not declined)."""
    if not rules.busy_from:
        return {}
    hits = _hits(rules, considered, busy)
    return existing.to_remember(baselines(rules, memory), {k: [source_id(b.source) for b in v] for k, v in hits.items()})


def decide(
    rules: Rules,
    considered: Sequence[Occurrence],
    busy: Sequence[BusyEvent],
    conflicts: Sequence[Conflict],
    memory: Memory,
) -> list[Conflict]:
    """The block conflicts with the sources' decisions joined in (strictest wins; a meeting that
    only meets source events becomes a conflict of its own), sorted by start."""
    if not rules.busy_from or not busy:
        return list(conflicts)
    by_name = {s.name: s for s in rules.busy_from}
    hits = _hits(rules, considered, busy)
    bases = baselines(rules, memory)
    out = {c.occurrence.key: c for c in conflicts}
    for occ in considered:
        if occ.key in hits:
            out[occ.key] = _join(rules, occ, hits[occ.key], out.get(occ.key), by_name, memory, bases)
    return sorted(out.values(), key=lambda c: (c.occurrence.start, c.occurrence.uid, c.occurrence.key[1]))


def _join(
    rules: Rules,
    occ: Occurrence,
    hit: Sequence[BusyEvent],
    conflict: Conflict | None,
    sources: Mapping[str, BusySource],
    memory: Memory,
    bases: Mapping[str, Baseline],
) -> Conflict:
    found: list[BlockVerdict] = []
    best: tuple[Decision, str, str] | None = None
    if conflict is not None and conflict.decision is not Decision.KEEP:
        best = (conflict.decision, conflict.reason, conflict.block)
    ids: list[str] = list(conflict.blocks) if conflict is not None else []
    for ev in hit:
        source = sources[ev.source]
        sid = source_id(source.name)
        v, d = _verdict(rules, source, ev, occ, memory, bases.get(sid))
        found.append(v)
        if sid not in ids:
            ids.append(sid)
        if d is not None and (best is None or d[0].rank > best[0].rank):
            best = (d[0], d[1], sid)
    trace = Trace((conflict.trace.verdicts if conflict else ()) + tuple(found), conflict.trace.steps if conflict else ())
    if best is None:  # only keep policies: reported, nothing done
        first = conflict.block if conflict is not None else ids[0]
        reason = conflict.reason if conflict is not None else f"{collides(hit[0].source, hit[0].summary)} (policy keep)"
        return Conflict(occ, first, tuple(ids), Decision.KEEP, reason, trace=trace)
    if conflict is not None:
        return replace(conflict, block=best[2], blocks=tuple(ids), decision=best[0], reason=best[1], trace=trace)
    return Conflict(occ, best[2], tuple(ids), best[0], best[1], trace=trace)


# --- mirrors -----------------------------------------------------------------------------------


def mirror_key(source: str, uid: str, recurrence_id: str) -> str:
    """The owned key of a mirror: the source, the event and its occurrence (hashed when long)."""
    raw = f"{source}|{uid}|{recurrence_id}"
    if len(raw) <= _KEY_LIMIT:
        return raw
    return f"{source[:40]}|{hashlib.sha256(raw.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"


def mirrors(rules: Rules, busy: Sequence[BusyEvent], now: datetime) -> dict[str, BlockEvent]:
    """A private busy copy on the main calendar of each event of a ``mirror: true`` source that has
    not ended by ``now``, by UID. (One that ended is left out: a calendar read from ``now`` on may
    not list its copy any more, which would then be written again every cycle.)"""
    wanted = {s.name: s for s in rules.busy_from if s.mirror}
    out: dict[str, BlockEvent] = {}
    for b in busy:
        source = wanted.get(b.source)
        if source is None or b.end <= now:
            continue
        title = (" ".join(b.summary.split())[:200] if source.mirror_titles else "") or mirror_title(rules.owner.locale)
        start: datetime | date = b.start.date() if b.all_day else b.start
        end: datetime | date = b.end.date() if b.all_day else b.end
        ev = _mirror_event(mirror_key(b.source, b.uid, b.recurrence_id), title, start, end, mirror_description(rules.owner.locale, source.name))
        out[ev.uid] = ev
    return out


@functools.lru_cache(maxsize=4096)
def _mirror_event(key: str, title: str, start: datetime | date, end: datetime | date, description: str) -> BlockEvent:
    """One mirror (a pure function of what it copies, remembered: building the iCalendar text of
    every mirror again each cycle would cost more than the rest of a quiet cycle)."""
    return owned_event("mirror", key, title, start, end, description=description)
