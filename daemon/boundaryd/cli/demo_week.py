"""What ``boundaryd demo`` points out in Alice's week: a new lead, a VIP with make-up time, a moved
workout, held offers. Read from the sync's plan (the owned events it wrote and the decisions it
made), so the demo says only what the sync did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import icalendar

from boundaryd.core.actions import WriteBlock
from boundaryd.core.ical_owned import role_of
from boundaryd.core.model import Conflict, Decision, Plan
from boundaryd.core.rules import Rules


@dataclass(frozen=True)
class Owned:
    role: str
    key: str
    title: str
    start: datetime
    end: datetime


def owned_writes(plan: Plan) -> list[Owned]:
    """The holds, make-up events and moved instances the sync wrote, in time order."""
    out = []
    for a in plan.calendar_changes:
        if not isinstance(a, WriteBlock):
            continue
        role, key = role_of(a.event.block)
        if role == "block":
            continue
        ev = next(iter(icalendar.Calendar.from_ical(a.event.ical).walk("VEVENT")), None)
        if ev is None:
            continue
        start = ev.decoded("DTSTART").astimezone(plan.now.tzinfo)
        end = ev.decoded("DTEND") if "DTEND" in ev else start + ev.decoded("DURATION")
        out.append(Owned(role, key, a.event.title, start, end.astimezone(plan.now.tzinfo)))
    return sorted(out, key=lambda o: o.start)


def _when(s: datetime, e: datetime) -> str:
    return f"{s:%a %b %d %H:%M}–{e:%H:%M}"


def _allowed(plan: Plan, word: str) -> list[Conflict]:
    return [c for c in plan.conflicts if c.decision is Decision.ALLOW and word in c.reason]


def highlights(
    plan: Plan, rules: Rules, queued: Sequence[str], events: icalendar.Calendar, week: tuple[datetime, datetime]
) -> list[str]:
    """A few lines per capability the demo week shows, each saying what happened and why."""
    owned = owned_writes(plan)
    lines: list[str] = []
    lead = _allowed(plan, "new lead")
    notice = next((q for q in queued if "New lead" in q), "")
    for c in lead[:1]:
        who = c.occurrence.organizer_name or c.occurrence.organizer
        lines.append(f"A new lead: {who}, whom Alice has never met, went through {_title(rules, c.block)} (leads:),")
        lines.append("  and she was told at once:")
        lines.append(f"  \"{notice.removeprefix('boundaryd: ')}\"")
    for c in _allowed(plan, "organizer matches")[:1]:
        occ = c.occurrence
        lines.append(f"A VIP: {occ.organizer_name} took {_mins(occ.start, occ.end)} of {_title(rules, c.block)} ({c.reason}).")
    makeups = [o for o in owned if o.role == "makeup" and week[0] <= o.start < week[1]]
    if makeups:
        block = _title(rules, makeups[0].key.partition("@")[0])
        made = sum(((o.end - o.start) for o in makeups), timedelta())
        lines.append(f"  {block} has a weekly_target, so the time meetings let through took is made up the same")
        lines.append(f"  week ({_mins(week[0], week[0] + made)}): " + ", ".join(_when(o.start, o.end) for o in makeups)
                     + f" \"{makeups[0].title}\"")
    for o in (o for o in owned if o.role == "flex"):
        why = _meeting_at(events, rules, o.key.partition("@")[0], o.start)
        lines.append(f"A moved workout: {o.title} on {o.start:%a %b %d} moved to {o.start:%H:%M}–{o.end:%H:%M} (flexible:){why}")
    holds = [o for o in owned if o.role == "hold"]
    if holds:
        keep = rules.defaults.hold_offers
        lines.append(f"Held offers: the {len(holds)} slots the declines offered are held on her calendar (busy, private)")
        lines.append(f"  until the organizer picks one or {_mins(week[0], week[0] + keep)} pass, e.g. "
                     f"{_when(holds[0].start, holds[0].end)} \"{holds[0].title}\"")
    return lines


def _title(rules: Rules, block_id: str) -> str:
    return next((b.title or b.id for b in rules.blocks if b.id == block_id), block_id)


def _mins(s: datetime, e: datetime) -> str:
    h, m = divmod(int((e - s).total_seconds() // 60), 60)
    return f"{h}h {m}m" if h and m else f"{h}h" if h else f"{m}m"


def _meeting_at(events: icalendar.Calendar, rules: Rules, block_id: str, moved: datetime) -> str:
    """``: its usual HH:MM holds "Dentist" (let through)`` — the demo calendar's meeting there."""
    block = next((b for b in rules.blocks if b.id == block_id), None)
    if block is None or block.start is None:
        return ""
    usual = datetime.combine(moved.date(), block.start, moved.tzinfo)
    if block.duration is not None:
        usual_end = usual + block.duration
    elif block.end is not None:
        usual_end = datetime.combine(moved.date(), block.end, moved.tzinfo)
    else:
        return ""
    for ev in events.walk("VEVENT"):
        s, e = ev.decoded("DTSTART"), ev.decoded("DTEND")
        if isinstance(s, datetime) and s < usual_end and e > usual:
            return f",\n  away from \"{ev.get('SUMMARY')}\" at its usual time, which it lets through"
    return ""
