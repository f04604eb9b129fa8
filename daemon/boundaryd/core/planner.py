"""The planner: rules + what the calendar holds + what the journal remembers → a Plan.

A pure function: no clock (``now`` is a parameter), no I/O. ``plan`` and ``sync`` share it;
``sync`` hands the result to the executor.
"""

from __future__ import annotations

import bisect
import fnmatch
import hashlib
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from boundaryd.core.ical import block_events, expand_blocks
from boundaryd.core.model import (
    BlockEvent,
    BlockInstance,
    CalendarChange,
    Capabilities,
    Conflict,
    Decision,
    Notice,
    Occurrence,
    Plan,
    Snapshot,
    counts_text,
)
from boundaryd.core.rules import Block, Rules
from boundaryd.presentation.words import render_message, render_static_message

SLOT_STEP = timedelta(minutes=30)
MAX_ALTERNATIVES = 2


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


@dataclass(frozen=True)
class Memory:
    """What the journal tells the planner: allow exceptions and conflicts already notified."""

    allowed: Collection[AllowEntry] = ()
    notified: Collection[str] = ()


def plan(rules: Rules, snapshot: Snapshot, now: datetime, memory: Memory = Memory()) -> Plan:
    tz = rules.tz
    now = now.astimezone(tz)
    window_end = now + timedelta(days=rules.horizon_days)

    desired: dict[str, BlockEvent] = {}
    for block in rules.blocks:
        focus = _wants_focus(rules, block, snapshot.capabilities)
        message = render_static_message(rules.message_of(block), block) if focus else ""
        for ev in block_events(rules, block, anchor=now.date(), focus=focus, decline_message=message):
            desired[ev.uid] = ev
    blocks = expand_blocks(rules, list(desired.values()), now, window_end)
    changes = _calendar_changes(desired, snapshot)

    considered = [o for o in snapshot.occurrences if _considered(o, rules, now, window_end)]
    hits = _hits(considered, blocks)
    conflicts: list[Conflict] = []
    for occ in sorted(considered, key=_order):
        hit = hits.get(occ.key)
        if not hit:
            continue
        conflicts.append(_decide(rules, occ, hit, memory))

    declined = {c.occurrence.key for c in conflicts if c.decision is Decision.DECLINE}
    busy = _BusyIndex(blocks, [o for o in considered if _busy(o, rules) and o.key not in declined])
    next_call = next((b for b in blocks if b.kind == "call-return" and b.start >= now), None)
    final = []
    for c in conflicts:
        if c.decision is Decision.DECLINE:
            alts = _alternatives(rules, c.occurrence, busy, now, window_end)
            length = c.occurrence.end - c.occurrence.start
            for a in alts:  # a slot offered once is not offered to anyone else
                busy.add(a, a + length)  # all-day: local midnights, as many days as the event
            block = rules.block(c.block)
            msg = render_message(rules.message_of(block), rules, block, alts, c.occurrence.all_day, next_call)
            c = Conflict(c.occurrence, c.block, c.blocks, c.decision, c.reason, msg, alts)
        final.append(c)

    notices = _notices(rules, final, memory)
    return Plan(
        now=now,
        window_start=now,
        window_end=window_end,
        blocks=tuple(blocks),
        calendar_changes=tuple(changes),
        conflicts=tuple(final),
        notices=notices,
        skipped=snapshot.skipped,
    )


def _order(o: Occurrence) -> tuple[datetime, str, str]:
    return (o.start, o.uid, o.key[1])


# --- blocks on the calendar -----------------------------------------------------------------


def _calendar_changes(desired: dict[str, BlockEvent], snapshot: Snapshot) -> list[CalendarChange]:
    have = {o.uid: o for o in snapshot.owned}
    out = []
    for uid, ev in sorted(desired.items()):
        if uid not in have:
            out.append(CalendarChange("create", ev.block, uid, ev))
        elif have[uid].fingerprint != ev.fingerprint:
            out.append(CalendarChange("update", ev.block, uid, ev))
    for uid, o in sorted(have.items()):
        if uid not in desired:
            out.append(CalendarChange("delete", o.block, uid, None))
    return out


def _wants_focus(rules: Rules, block: Block, caps: Capabilities) -> bool:
    """A decline block without exceptions becomes the provider's focus time, where it has one:
    the provider then declines new invitations by itself."""
    if not caps.focus_time or block.all_day or rules.policy_of(block) != "decline":
        return False
    return not block.allow.people and not block.allow.keywords


# --- which events count -----------------------------------------------------------------------


def _owner_entry(occ: Occurrence, rules: Rules) -> str | None:
    owners = set(rules.owner.emails)
    for a in occ.attendees:
        if a.email in owners:
            return a.partstat
    return None


def _considered(o: Occurrence, rules: Rules, start: datetime, end: datetime) -> bool:
    return (
        o.owned_block is None
        and o.status != "CANCELLED"
        and not o.transparent
        and _owner_entry(o, rules) != "DECLINED"
        and start <= o.start < end
    )


def _busy(o: Occurrence, rules: Rules) -> bool:
    return o.end > o.start


def _hits(occs: Sequence[Occurrence], blocks: Sequence[BlockInstance]) -> dict[tuple[str, str], list[BlockInstance]]:
    """Which block instances each occurrence overlaps (by more than zero): a sweep over sorted starts."""
    starts = [b.start for b in blocks]
    longest = max((b.end - b.start for b in blocks), default=timedelta(0))
    out: dict[tuple[str, str], list[BlockInstance]] = {}
    for o in occs:
        if o.end <= o.start:
            continue
        lo = bisect.bisect_left(starts, o.start - longest)
        hi = bisect.bisect_left(starts, o.end)
        found = [
            b
            for b in blocks[lo:hi]
            if b.start < o.end and b.end > o.start and (b.all_day or not o.all_day)
        ]
        if found:
            out[o.key] = found
    return out


# --- decisions --------------------------------------------------------------------------------


def _allow_reason(rules: Rules, block: Block, occ: Occurrence, memory: Memory) -> str | None:
    for entry in memory.allowed:
        if entry.covers(occ):
            return "allowed by 'boundaryd allow'" + (f" until {entry.until.isoformat()}" if entry.until else "")
    owners = set(rules.owner.emails)
    people = [p.lower() for p in block.allow.people]
    if occ.organizer and occ.organizer not in owners:
        for pat in people:
            if fnmatch.fnmatchcase(occ.organizer, pat):
                return f"organizer matches {pat}"
    for a in occ.attendees:
        if a.email in owners:
            continue
        for pat in people:
            if fnmatch.fnmatchcase(a.email, pat):
                return f"attendee {a.email} matches {pat}"
    text = f"{occ.summary}\n{occ.description}".casefold()
    for kw in block.allow.keywords:
        if kw.casefold() in text:
            return f"keyword {kw!r} found"
    return None


def _block_decision(rules: Rules, block: Block, occ: Occurrence, memory: Memory) -> tuple[Decision, str] | None:
    why = _allow_reason(rules, block, occ, memory)
    if why:
        return Decision.ALLOW, why
    policy = rules.policy_of(block)
    if policy == "keep":
        return None
    if policy == "flag":
        return Decision.FLAG, f"lands on {block.label} (policy flag)"
    owners = set(rules.owner.emails)
    me = _owner_entry(occ, rules)
    if occ.organizer in owners or not occ.attendees:
        return Decision.FLAG, "your own event"
    if me is None:
        return Decision.FLAG, "you are not on the invitation"
    if me == "ACCEPTED" and not rules.defaults.decline_accepted:
        return Decision.FLAG, "already accepted"
    return Decision.DECLINE, f"lands on {block.label} (policy decline)"


def _decide(rules: Rules, occ: Occurrence, hit: list[BlockInstance], memory: Memory) -> Conflict:
    ids: list[str] = []
    for b in sorted(hit, key=lambda b: (b.start, b.block)):
        if b.block not in ids:
            ids.append(b.block)
    best: tuple[Decision, str, str] | None = None
    for bid in ids:
        d = _block_decision(rules, rules.block(bid), occ, memory)
        if d is None:
            continue
        if best is None or d[0].rank > best[0].rank:
            best = (d[0], d[1], bid)
    if best is None:
        return Conflict(occ, ids[0], tuple(ids), Decision.KEEP, f"lands on {rules.block(ids[0]).label} (policy keep)")
    return Conflict(occ, best[2], tuple(ids), best[0], best[1])


# --- alternatives -------------------------------------------------------------------------


class _BusyIndex:
    """Busy intervals bucketed by local date, for quick 'is this slot free' checks."""

    def __init__(self, blocks: Sequence[BlockInstance], events: Sequence[Occurrence]) -> None:
        self.by_day: dict[date, list[tuple[datetime, datetime]]] = defaultdict(list)
        for s, e in [(b.start, b.end) for b in blocks] + [(o.start, o.end) for o in events]:
            self.add(s, e)

    def add(self, s: datetime, e: datetime) -> None:
        d = s.date()
        while True:
            self.by_day[d].append((s, e))
            d += timedelta(days=1)
            if datetime.combine(d, time(0), s.tzinfo) >= e:
                break

    def busy_until(self, start: datetime, end: datetime) -> datetime | None:
        """The end of a busy interval overlapping ``[start, end)``; None when the slot is free."""
        for s, e in self.by_day.get(start.date(), ()):
            if s < end and e > start:
                return e
        return None

    def day_free(self, d: date) -> bool:
        return not self.by_day.get(d)


def _alternatives(
    rules: Rules, occ: Occurrence, busy: _BusyIndex, now: datetime, window_end: datetime
) -> tuple[datetime, ...]:
    tz = rules.tz
    wh = rules.working_hours
    if occ.all_day:
        out: list[datetime] = []
        n = max(1, (occ.end.date() - occ.start.date()).days)  # as many days as the event
        d = max(occ.start, now).date() + timedelta(days=1)
        # the whole span inside the window: beyond it, blocks and busy events are unknown
        while len(out) < MAX_ALTERNATIVES and datetime.combine(d + timedelta(days=n), time(0), tz) <= window_end:
            span = [d + timedelta(days=k) for k in range(n)]
            if all(x.weekday() in wh.days and busy.day_free(x) for x in span):
                out.append(datetime.combine(d, time(0), tz))
                d += timedelta(days=n)
            else:
                d += timedelta(days=1)
        return tuple(out)
    length = occ.end - occ.start
    earliest = max(occ.start, now)
    found: list[datetime] = []
    d = earliest.date()
    while datetime.combine(d, time(0), tz) < window_end and len(found) < MAX_ALTERNATIVES:
        if d.weekday() in wh.days and not (found and found[-1].date() == d):
            slot = _first_free_on(d, wh.start, wh.end, length, earliest, window_end, busy, tz, found)
            if slot is not None:
                found.append(slot)
        d += timedelta(days=1)
    if len(found) < MAX_ALTERNATIVES and found:  # no second day: a second slot on the same day
        d = found[0].date()
        slot = _first_free_on(d, wh.start, wh.end, length, found[0] + length, window_end, busy, tz, found)
        if slot is not None:
            found.append(slot)
            found.sort()
    return tuple(found)


def _first_free_on(
    d: date,
    wh_start: time,
    wh_end: time,
    length: timedelta,
    earliest: datetime,
    window_end: datetime,
    busy: _BusyIndex,
    tz: object,
    taken: Sequence[datetime],
) -> datetime | None:
    day_start = datetime.combine(d, wh_start, tz)  # type: ignore[arg-type]
    day_end = datetime.combine(d, wh_end, tz)  # type: ignore[arg-type]
    t = day_start
    if earliest > t:  # round up to the next step from the working day's start
        steps = -(-(earliest - day_start) // SLOT_STEP)
        t = day_start + steps * SLOT_STEP
    while t + length <= day_end and t + length <= window_end:
        end = t + length
        until = busy.busy_until(t, end)
        if until is None:
            until = next((x + length for x in taken if x < end and x + length > t), None)
            if until is None:
                return t
        # every later step that starts before `until` overlaps the same interval: skip them unchecked
        while t < until:
            t += SLOT_STEP
    return None


# --- notices ------------------------------------------------------------------------------


def notice_key(c: Conflict) -> str:
    """What makes a notified conflict unique: event, occurrence, block, decision and times."""
    o = c.occurrence
    raw = "|".join([o.uid, o.key[1], c.block, c.decision.value, o.start.isoformat(), o.end.isoformat()])
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _notices(rules: Rules, conflicts: Sequence[Conflict], memory: Memory) -> tuple[Notice, ...]:
    notified = set(memory.notified)
    new = [
        c
        for c in conflicts
        if c.decision in (Decision.DECLINE, Decision.FLAG) and notice_key(c) not in notified
    ]
    if not new:
        return ()
    allowed = [c for c in conflicts if c.decision is Decision.ALLOW and notice_key(c) not in notified]
    shown = tuple(new + allowed)
    subject = "boundaryd: " + counts_text(c.decision for c in shown)  # as the notice itself says
    return (Notice(to=rules.notify_to, subject=subject, conflicts=shown, keys=tuple(notice_key(c) for c in shown)),)
