"""What a person reads in the terminal: the protected week, and what a plan or sync did.

The lines come from templates ``week.txt``, ``plan.txt`` and ``conflict.txt``; this module lays
out the week (one row per day, wrapped to the terminal) and prepares the values. Invitation
text is cleaned to one bounded line first (``_safe``, the same cleaning as an email header).
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from boundaryd.core.ical_owned import role_of
from boundaryd.core.model import BlockInstance, Conflict, Decision, Plan
from boundaryd.presentation.safe import clean_header
from boundaryd.presentation.templating import render

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


def _wrap(head: str, cells: Sequence[str], width: int) -> list[str]:
    """A day's row: ``head`` then the cells joined by " · ", wrapped under the first cell."""
    lines = []
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
    return lines


def week_table(blocks: Sequence[BlockInstance], first_day: date, days: int = 7) -> str:
    """One row per day: the protected blocks in order, wrapped to the terminal."""
    by_day: dict[date, list[BlockInstance]] = defaultdict(list)
    for b in blocks:
        by_day[b.start.date()].append(b)
    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 120))
    rows: list[str] = []
    total: dict[str, timedelta] = defaultdict(timedelta)
    whole: dict[str, int] = defaultdict(int)
    for i in range(days):
        d = first_day + timedelta(days=i)
        items = sorted(by_day.get(d, []), key=lambda b: (not b.all_day, b.start))
        cells = [f"{span(b.start, b.end, b.all_day)} {b.title}" for b in items] or ["—"]
        rows += _wrap(f"{d:%a %b %d}".ljust(11), cells, width)
        for b in items:
            if b.all_day:
                whole[b.kind] += 1
            else:
                total[b.kind] += b.end - b.start
    summary = [f"{_hours(v)} {k}" for k, v in sorted(total.items(), key=lambda kv: -kv[1])] + [
        f"{n} day{'s' if n > 1 else ''} off" if k == "day-off" else f"{n} all-day {k}" for k, n in sorted(whole.items())
    ]
    return render("week.txt", rows=rows, summary=summary).removesuffix("\n")


def _hours(td: timedelta) -> str:
    minutes = int(td.total_seconds() // 60)
    h, m = divmod(minutes, 60)
    return f"{h}h{m:02d}" if m else f"{h}h"


def _conflict_values(c: Conflict) -> dict[str, object]:
    o = c.occurrence
    offered = ", ".join(f"{a:%a %b %d}" + ("" if o.all_day else f" {hm(a)}") for a in c.alternatives)
    return {
        "when": f"{o.start:%a %b %d} {span(o.start, o.end, o.all_day)}",
        "title": _safe(o.summary) or "(no title)",
        "who": f" from {_safe(o.organizer_name or o.organizer, 40)}" if o.organizer else "",
        "block": c.block,
        "reason": c.reason,
        "declined": c.decision is Decision.DECLINE,
        "offered": offered,
    }


def conflict_line(c: Conflict) -> list[str]:
    """A conflict in the terminal: when, what and from whom; the block and why; what was offered."""
    return render("conflict.txt", c=_conflict_values(c)).removesuffix("\n").split("\n")


_KIND_ORDER = ("block", "hold", "makeup", "flex", "mirror")
_KIND_WORDS = {"block": "blocks", "hold": "held offers", "makeup": "make-up", "flex": "moved", "mirror": "mirrors"}


def plan_summary(plan: Plan, *, executed: bool) -> str:
    """What a plan (``executed=False``) or a sync did to the calendar and with each conflict."""
    tz = plan.now.tzinfo
    verb = {"create": "created", "update": "updated", "delete": "deleted"}
    counts: dict[str, int] = defaultdict(int)
    kinds: dict[str, int] = defaultdict(int)
    for ch in plan.calendar_changes:
        counts[ch.op] += 1
        kinds[role_of(ch.block)[0]] += 1
    what = ", ".join(f"{n} {_KIND_WORDS[k]}" for k, n in sorted(kinds.items(), key=lambda kv: _KIND_ORDER.index(kv[0])))
    titles = [
        (Decision.DECLINE, "Declined" if executed else "Would decline"),
        (Decision.FLAG, "Flagged" if executed else "Would flag"),
        (Decision.ALLOW, "Allowed"),
        (Decision.KEEP, "Kept (policy keep)"),
    ]
    groups = []
    for decision, title in titles:
        cs = [_conflict_values(c) for c in plan.conflicts if c.decision is decision]
        if cs:
            groups.append({"title": title, "conflicts": cs})
    return render(
        "plan.txt",
        window=f"{plan.window_start:%a %b %d %H:%M} → {plan.window_end:%a %b %d %H:%M} ({getattr(tz, 'key', tz)})",
        changes=", ".join(f"{n} {verb[op] if executed else 'to ' + op}" for op, n in counts.items())
        + (f" ({what})" if kinds and (len(kinds) > 1 or "block" not in kinds) else ""),
        groups=groups,
        any_conflict=bool(plan.conflicts),
        skipped=[{"uid": _safe(s.uid, 80), "reason": _safe(s.reason, 120)} for s in plan.skipped],
    ).removesuffix("\n")
