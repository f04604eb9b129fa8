"""Which events the planner considers, and whether a block's ``allow`` lets one through."""

from __future__ import annotations

import fnmatch
from datetime import datetime

from boundaryd.core.model import Memory, Occurrence
from boundaryd.core.rules import Block, Rules


def owner_answer(occ: Occurrence, rules: Rules) -> str | None:
    """The owner's PARTSTAT on ``occ``; None when the owner is not invited."""
    owners = rules.owner.emails
    for a in occ.attendees:
        if a.email in owners:
            return a.partstat
    return None


def skip_reason(o: Occurrence, rules: Rules, start: datetime, end: datetime) -> str | None:
    """Why the planner does not consider ``o`` at all, in words; None when it does."""
    if o.owned_block is not None:
        return f"boundaryd's own event for block {o.owned_block}"
    if o.status == "CANCELLED":
        return "cancelled"
    if o.transparent:
        return "marked free (transparent)"
    if owner_answer(o, rules) == "DECLINED":
        return "you already declined it"
    if not start <= o.start < end:
        return "outside the window"
    return None



def allow_reason(rules: Rules, block: Block, occ: Occurrence, memory: Memory) -> str | None:
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
