"""What a person reads in the terminal: the protected week, and what a plan or sync did."""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from boundaryd.core.model import BlockInstance, Conflict, Decision, Plan
from boundaryd.presentation.safe import clean_header

_MARK = {
    Decision.DECLINE: "declined",
    Decision.FLAG: "flagged",
    Decision.ALLOW: "allowed",
    Decision.KEEP: "kept",
}


def _safe(text: str, limit: int = 60) -> str:
    """Invitation text on one line for the terminal: the same cleaning as an email header."""
    return clean_header(text, limit)


def hm(t: datetime) -> str:
    return f"{t:%H:%M}"


def span(start: datetime, end: datetime, all_day: bool = False) -> str:
    if all_day:
        return "all day"
    e = "24:00" if end.date() > start.date() and end.hour == 0 and end.minute == 0 else hm(end)
    return f"{hm(start)}–{e}"


def week_table(blocks: Sequence[BlockInstance], first_day: date, days: int = 7) -> str:
    """One row per day: the protected blocks in order, wrapped to the terminal."""
    by_day: dict[date, list[BlockInstance]] = defaultdict(list)
    for b in blocks:
        by_day[b.start.date()].append(b)
    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 120))
    lines = []
    total: dict[str, timedelta] = defaultdict(timedelta)
    whole: dict[str, int] = defaultdict(int)
    for i in range(days):
        d = first_day + timedelta(days=i)
        items = sorted(by_day.get(d, []), key=lambda b: (not b.all_day, b.start))
        head = f"{d:%a %b %d}".ljust(11)
        cells = [f"{span(b.start, b.end, b.all_day)} {b.title}" for b in items] or ["—"]
        row = head + "  "
        indent = " " * len(row)
        cur = row
        for j, cell in enumerate(cells):
            piece = cell if j == 0 else " · " + cell
            if len(cur) + len(piece) > width and cur.strip() != head.strip():
                lines.append(cur)
                cur = indent + cell
            else:
                cur += piece
        lines.append(cur)
        for b in items:
            if b.all_day:
                whole[b.kind] += 1
            else:
                total[b.kind] += b.end - b.start
    summary = ", ".join(
        [f"{_hours(v)} {k}" for k, v in sorted(total.items(), key=lambda kv: -kv[1])]
        + [f"{n} day{'s' if n > 1 else ''} off" if k == "day-off" else f"{n} all-day {k}" for k, n in sorted(whole.items())]
    )
    if summary:
        lines.append("")
        lines.append(f"Protected this week: {summary}")
    return "\n".join(lines)


def _hours(td: timedelta) -> str:
    minutes = int(td.total_seconds() // 60)
    h, m = divmod(minutes, 60)
    return f"{h}h{m:02d}" if m else f"{h}h"


def conflict_line(c: Conflict) -> list[str]:
    o = c.occurrence
    who = f" from {_safe(o.organizer_name or o.organizer, 40)}" if o.organizer else ""
    when = f"{o.start:%a %b %d} {span(o.start, o.end, o.all_day)}"
    out = [f"  {when}  {_safe(o.summary) or '(no title)'}{who}", f"      on {c.block}: {c.reason}"]
    if c.decision is Decision.DECLINE:
        if c.alternatives:
            offered = ", ".join(f"{a:%a %b %d}" + ("" if o.all_day else f" {hm(a)}") for a in c.alternatives)
            out.append(f"      offered: {offered}")
        else:
            out.append("      offered: no free slot in working hours inside the horizon")
    return out


def plan_summary(plan: Plan, *, executed: bool) -> str:
    tz = plan.now.tzinfo
    lines = [
        f"Window: {plan.window_start:%a %b %d %H:%M} → {plan.window_end:%a %b %d %H:%M} ({getattr(tz, 'key', tz)})",
    ]
    verb = {"create": "created", "update": "updated", "delete": "deleted"}
    if plan.calendar_changes:
        counts: dict[str, int] = defaultdict(int)
        for ch in plan.calendar_changes:
            counts[ch.op] += 1
        what = ", ".join(f"{n} {verb[op] if executed else 'to ' + op}" for op, n in counts.items())
        lines.append(f"Block events: {what}")
    else:
        lines.append("Block events: up to date")
    groups = [
        (Decision.DECLINE, "Declined" if executed else "Would decline"),
        (Decision.FLAG, "Flagged" if executed else "Would flag"),
        (Decision.ALLOW, "Allowed"),
        (Decision.KEEP, "Kept (policy keep)"),
    ]
    for decision, title in groups:
        cs = [c for c in plan.conflicts if c.decision is decision]
        if cs:
            lines.append(f"{title} ({len(cs)}):")
            for c in cs:
                lines.extend(conflict_line(c))
    if not plan.conflicts:
        lines.append("No meeting lands on a protected block.")
    for s in plan.skipped:
        lines.append(f"Skipped unreadable event {_safe(s.uid, 80)}: {_safe(s.reason, 120)}")
    return "\n".join(lines)
