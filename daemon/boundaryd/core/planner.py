"""The planner: rules + what the calendar holds + what the journal remembers → a Plan of actions.

A pure function: no clock (``now`` is a parameter), no I/O. It is the only place boundaryd decides
anything: which blocks to write, what each conflicting invitation gets, how a decline reaches its
organizer (from the backend's :class:`Capabilities`), which replies and notices go out. ``plan``,
``sync``, ``why``, ``week``, the digest and the weekly preview all read the plan it returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

from boundaryd.core import busy as busy_from
from boundaryd.core import carry, existing, keepweek, leads, marks, refs, slots, sweep, tell
from boundaryd.core.actions import Action, Remember, RemoveBlock, WriteBlock
from boundaryd.core.considered import allow_reason, owner_answer, skip_reason
from boundaryd.core.existing import Baseline
from boundaryd.core.ical import block_events, expand_blocks
from boundaryd.core.ical_owned import is_block, role_of
from boundaryd.core.model import (
    AllowEntry,
    BlockEvent,
    BlockInstance,
    BlockVerdict,
    BusyEvent,
    Capabilities,
    Conflict,
    Decision,
    Memory,
    Occurrence,
    Plan,
    Snapshot,
    Trace,
)
from boundaryd.core.rules import Block, Rules
from boundaryd.core.tell import notice_key, reply_key
from boundaryd.presentation.words import render_message, render_static_message

__all__ = [
    "AllowEntry",
    "Memory",
    "block_definitions",
    "block_instances",
    "notice_key",
    "owner_answer",
    "plan",
    "render_message",
    "reply_key",
    "skip_reason",
    "trace",
]

_NOTHING_REMEMBERED = Memory()
_NO_CAPABILITIES = Capabilities()  # an iCalendar file: tells no organizer, declines with a comment


def plan(
    rules: Rules,
    snapshot: Snapshot,
    now: datetime,
    memory: Memory = _NOTHING_REMEMBERED,
) -> Plan:
    """Everything one sync decides, as typed actions with their traces.

    ``memory``: what the journal remembers (allow exceptions, what was notified or sent, declines a
    server refused). What the calendar backend can do (tell organizers, focus time) comes with the
    snapshot as data (``Snapshot.capabilities``, resolved once when the backend connected).
    """
    carry.next_plan()
    tz = rules.tz
    now = now.astimezone(tz)
    window_end = now + timedelta(days=rules.horizon_days)

    capabilities = snapshot.capabilities
    desired = block_definitions(rules, now.date(), capabilities)
    blocks = expand_blocks(rules, list(desired.values()), now, window_end)

    considered = [o for o in snapshot.occurrences
                  if skip_reason(o, rules, now, window_end) is None and not _series_declined(o, memory)]
    bases = existing.baselines(rules, desired, memory)  # the rules' blocks: a moved instance changes no baseline
    conflicts, hits = _conflicts(rules, considered, blocks, memory, bases, now, snapshot.busy)
    remember_sources = busy_from.first_applied(rules, considered, snapshot.busy, memory)
    week = keepweek.Week.read(snapshot, memory, now)
    moves = week.moves(rules, blocks, conflicts, considered, lambda bid, o: _declines(rules, bid, o, memory, bases))
    if moves.moved:  # flexible instances moved away from meetings let through: decide again
        desired = block_definitions(rules, now.date(), capabilities, moves.skips())
        blocks = moves.instances(rules, expand_blocks(rules, list(desired.values()), now, window_end), window_end)
        conflicts, hits = _conflicts(rules, considered, blocks, memory, bases, now, snapshot.busy)
    final = _with_refs(_offer(rules, conflicts, blocks, considered, now, window_end, week, busy_from.spans(snapshot.busy)), memory)
    declines, replies = tell.declines(rules, final, memory, capabilities)

    # owned events besides blocks (held offers, make-up time, moved flexible instances, mirrors) join
    # the blocks here: one diff against what the calendar holds writes, moves and removes them
    extras, keep = week.owned(rules, blocks, final, declines, considered, moves, window_end)
    extras.update(busy_from.mirrors(rules, snapshot.busy, now))  # copies of the busy_from events
    changes = _calendar_changes({**desired, **extras}, snapshot)

    remember = existing.to_remember(bases, {k: [b.block for b in v] for k, v in hits.items()})
    remember.update(remember_sources)  # busy_from sources applying for the first time
    new_refs = tuple((c.occurrence.uid, _ref_key(c)[1], c.ref) for c in final if _ref_key(c) not in memory.refs)
    in_window = [o for o in snapshot.occurrences if now <= o.start < window_end]
    undos, undo_replies = tell.undos(rules, in_window, memory)
    notice = tell.notify(rules, [c for c in final if not leads.at_once(c)], memory)
    lead_notice = leads.notify(rules, final, memory)  # new leads: told at once, never held for a digest
    late, late_notice = tell.undelivered(rules, in_window, memory, blocks)  # declines the server could not deliver
    replies += late
    flags = marks.marks(final, in_window, memory, capabilities)
    # held offers and the week's facts (keep) are journaled before the calendar changes they describe
    actions: list[Action] = [*([keep] if keep else []), *changes, *undos, *declines, *flags, *replies, *undo_replies]
    if memory.applied is not None and (remember or new_refs):  # a journal keeps them: journaled first, listed last
        actions.append(Remember(tuple(remember.items()), new_refs))
    actions += [n for n in (lead_notice, notice, late_notice) if n is not None]
    return Plan(
        now=now,
        window_start=now,
        window_end=window_end,
        blocks=tuple(blocks),
        conflicts=tuple(final),
        actions=tuple(actions),
        skipped=snapshot.skipped,
    )


def _conflicts(
    rules: Rules, considered: Sequence[Occurrence], blocks: Sequence[BlockInstance], memory: Memory,
    bases: Mapping[str, Baseline], now: datetime, busy: Sequence[BusyEvent] = (),
) -> tuple[list[Conflict], dict[tuple[str, str], list[BlockInstance]]]:
    """Each considered occurrence that lands on a block (or a ``busy_from`` event), decided; and
    which block instances each hits."""
    hits = _hits(considered, blocks)
    allowed = tuple(memory.allowed)
    conflicts = [
        _DECIDED.get(occ, _decision_inputs(rules, occ, hit, memory, bases, allowed),
                     _decide, rules, occ, hit, memory, bases, memory.refs.get(occ.key, ""))
        for occ in sorted(considered, key=_order) if (hit := hits.get(occ.key)) is not None
    ]
    conflicts = busy_from.decide(rules, considered, busy, conflicts, memory)  # the owner's other calendars
    conflicts = leads.settle(rules, conflicts, blocks, memory, now)  # decision 5, keyword_limit_per_week
    return existing.decline_now(rules, existing.standing(conflicts, considered), memory.decline_now), hits


#: decisions of the plan before, made again only when something a decision reads differs
_DECIDED: carry.Carried[Conflict] = carry.Carried()


def _decision_inputs(
    rules: Rules, occ: Occurrence, hit: Sequence[BlockInstance], memory: Memory, bases: Mapping[str, Baseline],
    allowed: tuple[object, ...],
) -> tuple[object, ...]:
    """All that :func:`_decide` reads besides ``occ`` itself: the rules, the block instances hit, the
    ``allow`` exceptions, whether the organizer is a new lead, whether it was on each block before
    the block applied, and its ref."""
    there = tuple(b.block in bases and bases[b.block].was_there(occ) for b in hit)
    return (rules, tuple(hit), allowed, leads.lead_reason(rules, occ, memory), there, memory.refs.get(occ.key, ""))


def _declines(rules: Rules, block_id: str, o: Occurrence, memory: Memory, bases: Mapping[str, Baseline]) -> bool:
    """Whether ``block_id`` would decline ``o`` (a meeting it would decline does not push a flexible instance away)."""
    d = _block_decision(rules, rules.block(block_id), o, memory, bases.get(block_id))
    return d is not None and d[0] is Decision.DECLINE


def _order(o: Occurrence) -> tuple[datetime, str, str]:
    return (o.start, o.uid, o.key[1])


def _series_declined(o: Occurrence, memory: Memory) -> bool:
    """An instance of a series boundaryd declined as a whole (its own answer may not show it yet)."""
    return o.recurrence_id is not None and (o.uid, "") in memory.declined


def _ref_key(c: Conflict) -> tuple[str, str]:
    """What a conflict's ref names: the occurrence, or the whole series for a standing conflict."""
    return (c.occurrence.uid, "") if c.series else c.occurrence.key


def _with_refs(conflicts: Sequence[Conflict], memory: Memory) -> list[Conflict]:
    keys = [_ref_key(c) for c in conflicts]
    given = refs.assign(keys, memory.refs)
    return [c if c.ref == given[k] else replace(c, ref=given[k]) for c, k in zip(conflicts, keys, strict=True)]


# --- blocks on the calendar -----------------------------------------------------------------


def block_definitions(
    rules: Rules,
    anchor: date,
    capabilities: Capabilities = _NO_CAPABILITIES,
    moved: Mapping[str, Sequence[date]] | None = None,
) -> dict[str, BlockEvent]:
    """The owned events sync writes for the rules' blocks, by UID (recurring from ``anchor``).

    Where the backend has focus time, a decline block without exceptions is written as one, with the
    decline message the provider sends by itself.
    """
    out: dict[str, BlockEvent] = {}
    for block in rules.blocks:
        focus = _wants_focus(rules, block, capabilities)
        message = render_static_message(rules.message_of(block), block, rules.owner.locale) if focus else ""
        away = (moved or {}).get(block.id, ())  # flexible instances moved elsewhere (keepweek)
        for ev in block_events(rules, block, anchor=anchor, focus=focus, decline_message=message, moved=away):
            out[ev.uid] = ev
    return out


def block_instances(rules: Rules, start: datetime, end: datetime, anchor: date | None = None) -> list[BlockInstance]:
    """The protected blocks in ``[start, end)``, expanded from the very events sync writes."""
    events = block_definitions(rules, anchor or start.date())
    return expand_blocks(rules, list(events.values()), start, end)


def _calendar_changes(desired: dict[str, BlockEvent], snapshot: Snapshot) -> list[WriteBlock | RemoveBlock]:
    """Writes and removals that make the owned events on the calendar exactly ``desired``."""
    have = {o.uid: o for o in snapshot.owned}
    out: list[WriteBlock | RemoveBlock] = []
    for uid, ev in sorted(desired.items()):
        what = _owned_name(ev.block)
        if uid not in have:
            out.append(WriteBlock(ev, "create", Trace(steps=(f"{what} has no event on the calendar yet",))))
        elif have[uid].fingerprint != ev.fingerprint:
            out.append(WriteBlock(ev, "update", Trace(steps=(f"{what} changed{_IN_RULES[is_block(ev.block)]}",))))
    for uid, o in sorted(have.items()):
        if uid not in desired:
            out.append(RemoveBlock(o.block, uid, Trace(steps=(f"{_owned_name(o.block)} is no longer {_WANTED[is_block(o.block)]}",))))
    return out


_IN_RULES, _WANTED = {True: " in the rules", False: ""}, {True: "in the rules", False: "wanted"}


def _owned_name(tag: str) -> str:
    role, key = role_of(tag)
    return f"{role} {key}" if role != "block" else f"block {key}"


def _wants_focus(rules: Rules, block: Block, caps: Capabilities) -> bool:
    """A decline block without exceptions becomes the provider's focus time, where it has one:
    the provider then declines new invitations by itself."""
    if not caps.focus_time or block.all_day or rules.policy_of(block) != "decline":
        return False
    return not block.allow.people and not block.allow.keywords


# --- which events count -----------------------------------------------------------------------


def _hits(occs: Sequence[Occurrence], blocks: Sequence[BlockInstance]) -> dict[tuple[str, str], list[BlockInstance]]:
    """Which block instances each occurrence overlaps (by more than zero)."""
    return sweep.overlaps(occs, blocks)


# --- decisions --------------------------------------------------------------------------------


def _block_decision(
    rules: Rules, block: Block, occ: Occurrence, memory: Memory, base: Baseline | None = None
) -> tuple[Decision, str] | None:
    return leads.decide(rules, block, occ, memory, lambda: _rule_decision(rules, block, occ, memory, base))


def _rule_decision(
    rules: Rules, block: Block, occ: Occurrence, memory: Memory, base: Baseline | None = None
) -> tuple[Decision, str] | None:
    why = allow_reason(rules, block, occ, memory)
    if why:
        return Decision.ALLOW, why
    policy = rules.policy_of(block)
    if policy == "keep":
        return None
    if policy == "flag":
        return Decision.FLAG, f"lands on {block.label} (policy flag)"
    owners = set(rules.owner.emails)
    me = owner_answer(occ, rules)
    if occ.organizer in owners or not occ.attendees:
        return Decision.FLAG, "your own event"
    if me is None:
        return Decision.FLAG, "you are not on the invitation"
    if me == "ACCEPTED" and not rules.defaults.decline_accepted:
        return Decision.FLAG, "already accepted"
    if base is not None and base.was_there(occ) and not rules.defaults.decline_existing:
        return Decision.FLAG, existing.EXISTING_REASON.format(block=block.label)
    return Decision.DECLINE, f"lands on {block.label} (policy decline)"


def _verdicts(
    rules: Rules,
    occ: Occurrence,
    hit: Sequence[BlockInstance],
    memory: Memory,
    bases: Mapping[str, Baseline] | None = None,
) -> tuple[tuple[BlockVerdict, ...], dict[str, tuple[Decision, str] | None]]:
    """Each block instance's verdict on ``occ`` (in the order hit), and each block's decision."""
    decided: dict[str, tuple[Decision, str] | None] = {}
    out = []
    for b in hit:
        if b.block not in decided:
            base = bases.get(b.block) if bases is not None else None
            decided[b.block] = _block_decision(rules, rules.block(b.block), occ, memory, base)
        d = decided[b.block]
        policy = rules.policy_of(rules.block(b.block))
        out.append(
            BlockVerdict(b.block, b.title, b.start, b.end, b.all_day, policy, d[0] if d else None, d[1] if d else "")
        )
    return tuple(out), decided


def trace(rules: Rules, occ: Occurrence, blocks: Sequence[BlockInstance], memory: Memory) -> Trace:
    """The block-by-block verdicts on ``occ`` (``why`` asks this also for occurrences the plan skips)."""
    hit = _hits([occ], blocks).get(occ.key, [])
    return Trace(_verdicts(rules, occ, hit, memory)[0])


def _decide(
    rules: Rules, occ: Occurrence, hit: list[BlockInstance], memory: Memory, bases: Mapping[str, Baseline], ref: str = ""
) -> Conflict:
    verdicts, decided = _verdicts(rules, occ, hit, memory, bases)
    why = Trace(verdicts)
    ids: list[str] = []
    for b in sorted(hit, key=lambda b: (b.start, b.block)):
        if b.block not in ids:
            ids.append(b.block)
    best: tuple[Decision, str, str] | None = None
    for bid in ids:
        d = decided[bid]
        if d is None:
            continue
        if best is None or d[0].rank > best[0].rank:
            best = (d[0], d[1], bid)
    if best is None:
        label = rules.block(ids[0]).label
        return Conflict(occ, ids[0], tuple(ids), Decision.KEEP, f"lands on {label} (policy keep)", trace=why, ref=ref)
    return Conflict(occ, best[2], tuple(ids), best[0], best[1], trace=why, ref=ref)


# --- alternatives and the decline message ------------------------------------------------------


def _offer(
    rules: Rules,
    conflicts: Sequence[Conflict],
    blocks: Sequence[BlockInstance],
    considered: Sequence[Occurrence],
    now: datetime,
    window_end: datetime,
    week: keepweek.Week | None = None,
    busy_spans: Sequence[tuple[datetime, datetime]] = (),
) -> list[Conflict]:
    """Declines get free slots to offer and their message; a slot offered once is offered to no one
    else (held slots and make-up time are busy; a decline planned again offers the slots held for it)."""
    declined = {c.occurrence.key for c in conflicts if c.decision is Decision.DECLINE}
    if not declined:
        return list(conflicts)
    busy = slots.BusyIndex(blocks, [o for o in considered if o.end > o.start and o.key not in declined])
    for s, e in week.busy() if week else ():  # held slots, make-up time
        busy.add(s, e)
    for s, e in busy_spans:  # the busy_from calendars' events
        busy.add(s, e)
    held = week.offered if week else {}
    next_call = next((b for b in blocks if b.kind == "call-return" and b.start >= now), None)
    final = []
    for c in conflicts:
        if c.decision is Decision.DECLINE:
            alts = held.get(c.occurrence.key) or slots.alternatives(rules, c.occurrence, busy, now, window_end)
            length = c.occurrence.end - c.occurrence.start
            for a in alts:  # a slot offered once is not offered to anyone else
                busy.add(a, a + length)  # all-day: local midnights, as many days as the event
            template, block = busy_from.named(rules, c.block)  # a block, or a busy_from source
            msg = render_message(template, rules, block, alts, c.occurrence, next_call)
            c = replace(c, message=msg, alternatives=tuple(alts))
        final.append(c)
    return final


