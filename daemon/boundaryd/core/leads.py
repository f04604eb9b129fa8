"""Leads are never lost; urgent means urgent (SPEC decision 5 and ``keyword_limit_per_week``).

Pure, part of the planner.
- A new lead: an invitation whose organizer the owner has not met (no meeting with them within
  ``leads.lookback_days``: ``Memory.contacts``, kept by the journal) or who (or an attendee)
  matches ``leads.people``. A block whose kind is in ``leads.pass`` lets them through; any other
  block flags them at most, never declines. The owner is told at once (never held for a digest).
- Known contacts (:func:`contacts_of`): the organizer and the attendees other than the owner of an
  event that started before now (and the owner did not decline), or one the owner organized or
  accepted. A pending invitation does not make its organizer known; its meeting does, once it began.
- A keyword exception counts against its person's (the organizer's) ``keyword_limit_per_week``;
  past it, the keyword no longer opens the block and the meeting is flagged, never declined.
  What counted is journaled (``Memory.keyword_uses``); an occurrence counts once.

Without ``leads:`` in the rules none of the lead logic runs.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from boundaryd.core.actions import NotifiedRow, Notify
from boundaryd.core.model import BlockInstance, Conflict, Decision, Memory, Notice, Occurrence, Trace
from boundaryd.core.rules import Block, Rules
from boundaryd.core.tell import notice_key, once_per_series
from boundaryd.presentation.words_leads import LEAD_STEP, lead_sentence

#: what a keyword exception's reason starts with (``considered.allow_reason``)
KEYWORD_REASON = "keyword "
WEEK = timedelta(days=7)

Decided = tuple[Decision, str] | None


# --- who is a lead ---------------------------------------------------------------------------


def lead_reason(rules: Rules, occ: Occurrence, memory: Memory) -> str | None:
    """Why the organizer of ``occ`` is a new lead, in words; None when they are not (or no ``leads:``)."""
    leads = rules.leads
    if leads is None or not occ.organizer or occ.organizer in rules.owner.emails:
        return None
    owners = set(rules.owner.emails)
    for pat in (p.lower() for p in leads.people):
        if fnmatch.fnmatchcase(occ.organizer, pat):
            return f"{occ.organizer} matches {pat}"
        for a in occ.attendees:
            if a.email not in owners and fnmatch.fnmatchcase(a.email, pat):
                return f"attendee {a.email} matches {pat}"
    if leads.new_contacts and memory.contacts is not None and occ.organizer not in memory.contacts:
        return f"no meeting with {occ.organizer} in the last {leads.lookback_days} days"
    return None


def decide(rules: Rules, block: Block, occ: Occurrence, memory: Memory, rule: Callable[[], Decided]) -> Decided:
    """One block's decision on ``occ`` (``rule`` gives it by decisions 1-4), with decision 5 on top."""
    lead = lead_reason(rules, occ, memory)
    if lead is None or rules.leads is None:
        return rule()
    if block.kind in rules.leads.pass_:
        return Decision.ALLOW, f"new lead ({lead}): {block.kind} lets leads through"
    d = rule()
    if d is not None and d[0] is Decision.DECLINE:
        return Decision.FLAG, f"new lead ({lead}): flagged, never declined"
    return d


def contacts_of(occ: Occurrence, owners: Sequence[str]) -> tuple[tuple[str, ...], bool] | None:
    """The people an event puts the owner in touch with, and whether it counts before it begins
    (the owner organized or accepted it); None when it never counts (boundaryd's own, cancelled,
    declined by the owner)."""
    mine = set(owners)
    me = next((a.partstat for a in occ.attendees if a.email in mine), None)
    if occ.owned_block is not None or occ.status == "CANCELLED" or me == "DECLINED":
        return None
    people = {a.email for a in occ.attendees if a.email and a.email not in mine}
    if occ.organizer and occ.organizer not in mine:
        people.add(occ.organizer)
    if not people:
        return None
    return tuple(sorted(people)), occ.organizer in mine or me == "ACCEPTED"


# --- after the decisions: keyword limits, what the owner is told at once ----------------------------


def settle(
    rules: Rules, conflicts: Sequence[Conflict], blocks: Sequence[BlockInstance], memory: Memory, now: datetime
) -> list[Conflict]:
    """Keyword exceptions past their person's limit become flags; leads' conflicts get the sentence
    the owner is told at once (``Conflict.lead``, and a trace step for ``why``)."""
    out = _limit_keywords(rules, conflicts, memory, now)
    if rules.leads is None:
        return out
    next_call = next((b for b in blocks if b.kind == "call-return" and b.start >= now), None)
    for i, c in enumerate(out):
        lead = lead_reason(rules, c.occurrence, memory)
        if lead is not None:
            said = lead_sentence(rules, c.occurrence, next_call)
            out[i] = replace(c, lead=said, trace=c.trace.plus(f"new lead: {lead}", LEAD_STEP + said))
    return out


def keyword_opened(c: Conflict) -> bool:
    """A keyword let ``c`` through one of its blocks (and nothing stopped it elsewhere)."""
    return c.decision is Decision.ALLOW and any(
        v.decision is Decision.ALLOW and v.reason.startswith(KEYWORD_REASON) for v in c.trace.verdicts
    )


def keyword_uses(rules: Rules, conflicts: Sequence[Conflict]) -> list[tuple[str, str, str]]:
    """(person, uid, recurrence id) of every keyword exception a plan grants (to journal)."""
    owners = set(rules.owner.emails)
    return [
        (c.occurrence.organizer, *c.occurrence.key)
        for c in conflicts
        if keyword_opened(c) and c.occurrence.organizer and c.occurrence.organizer not in owners
    ]


def _limit_keywords(rules: Rules, conflicts: Sequence[Conflict], memory: Memory, now: datetime) -> list[Conflict]:
    limit = rules.defaults.keyword_limit_per_week
    out = list(conflicts)
    if limit is None:
        return out
    counted = {(uid, rid) for _, uid, rid, _ in memory.keyword_uses}
    used = Counter(p for p, _, _, at in memory.keyword_uses if timedelta(0) <= now - at < WEEK)
    owners = set(rules.owner.emails)
    for i, c in enumerate(out):
        person = c.occurrence.organizer
        if not keyword_opened(c) or not person or person in owners:
            continue
        if c.occurrence.key in counted:
            out[i] = replace(c, trace=c.trace.plus(f"keyword exception for {person}, counted before"))
            continue
        if used[person] < limit:
            used[person] += 1
            out[i] = replace(c, trace=c.trace.plus(f"keyword exception {used[person]} of {limit} for {person} in 7 days"))
            continue
        out[i] = _past_limit(c, person, used[person], limit)
    return out


def _past_limit(c: Conflict, person: str, used: int, limit: int) -> Conflict:
    """The keyword no longer opens the block: those verdicts flag, and so does the meeting."""
    why = (
        f"{person} already had {used} keyword exception{'s' if used != 1 else ''} in the last 7 days"
        f" (keyword_limit_per_week {limit}): the keyword no longer opens the block, flagged"
    )
    verdicts = tuple(
        replace(v, decision=Decision.FLAG, reason=f"{v.reason}, but {why}")
        if v.decision is Decision.ALLOW and v.reason.startswith(KEYWORD_REASON)
        else v
        for v in c.trace.verdicts
    )
    first = min((v for v in verdicts if v.decision is Decision.FLAG), key=lambda v: (v.start, v.block))
    return replace(c, decision=Decision.FLAG, block=first.block, reason=first.reason, trace=Trace(verdicts, c.trace.steps))


def why_lines(c: Conflict) -> list[str]:
    """What ``why`` adds for ``c``: that it is a new lead's and what the owner is told, how its keyword counted."""
    return [s for s in c.trace.steps if s.startswith(("new lead", LEAD_STEP, "keyword exception"))]


def at_once(c: Conflict) -> bool:
    """The owner hears of ``c`` at once: a new lead's (a decline the owner asked for goes the usual way)."""
    return c.decision is not Decision.DECLINE and bool(c.lead)


def notify(rules: Rules, conflicts: Sequence[Conflict], memory: Memory) -> Notify | None:
    """One notice, now (never for a digest), for the leads' conflicts not notified before."""
    notified = set(memory.notified)
    new = [(c, k) for c in once_per_series(conflicts) if at_once(c) and (k := notice_key(c)) not in notified]
    if not new:
        return None
    cs = tuple(c for c, _ in new)
    keys = tuple(k for _, k in new)
    first = cs[0].lead
    notice = Notice(to=rules.notify_to, subject="boundaryd: " + first, conflicts=cs, keys=keys)
    rows = tuple(
        NotifiedRow(k, c.occurrence.uid, c.occurrence.key[1], c.block, c.decision.value,
                    c.occurrence.start.isoformat(), c.occurrence.end.isoformat())
        for c, k in new
    )
    key = "lead-" + hashlib.sha256("|".join(sorted(keys)).encode()).hexdigest()[:32]
    return Notify(key, notice, rows, (), False, Trace(steps=(f"{len(cs)} new lead conflict(s): told at once",)))
