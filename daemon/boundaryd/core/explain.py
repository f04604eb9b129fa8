"""``boundaryd why``: the planner's reasoning for one event, rule by rule, in words.

It reads the plan (the traces its conflicts carry) and asks the planner's public ``trace`` for an
occurrence the plan skipped, such as one boundaryd declined already."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from boundaryd.core.leads import why_lines
from boundaryd.core.model import Memory, Plan, Snapshot
from boundaryd.core.planner import owner_answer, skip_reason, trace
from boundaryd.core.rules import Rules
from boundaryd.presentation.render import _safe, span


def explain(
    rules: Rules,
    snap: Snapshot,
    p: Plan,
    memory: Memory,
    uid: str,
    declined_at: Mapping[tuple[str, str], float] | None = None,
    undone_at: Mapping[tuple[str, str], float] | None = None,
) -> str:
    """``declined_at``: when boundaryd declined which occurrences (from the journal); ``undone_at``:
    which of those declines ``allow`` undid, and when."""
    tz = rules.tz
    now, end = p.window_start, p.window_end
    occs = sorted((o for o in snap.occurrences if o.uid == uid), key=lambda o: o.start)
    skipped = [s for s in snap.skipped if s.uid == uid]
    if skipped:
        return f"{uid}: unreadable, skipped ({skipped[0].reason})"
    if not occs:
        return f"{uid}: no occurrence of this event in the window {now:%b %d %H:%M} → {end:%b %d %H:%M}"
    by_key = {c.occurrence.key: c for c in p.conflicts}
    refs = {**{k: r for k, r in memory.refs.items() if k[0] == uid}, **{c.occurrence.key: c.ref for c in p.conflicts}}
    lines = [f"{_safe(occs[0].summary, 80) or '(no title)'} ({uid})"]
    for o in occs:
        ref = refs.get(o.key) or refs.get((o.uid, ""), "")
        lines.append(f"- {o.start:%a %b %d} {span(o.start, o.end, o.all_day)}" + (f"  ref {ref}" if ref else ""))
        undone = (undone_at or {}).get(o.key) or (undone_at or {}).get((o.uid, ""))
        if undone is not None:
            lines.append(f"    boundaryd's decline was undone by 'allow' on {datetime.fromtimestamp(undone, tz):%a %b %d %H:%M}")
        me = owner_answer(o, rules)
        if o.owned_block:
            lines.append(f"    boundaryd's own event for block {o.owned_block}: never declined")
            continue
        ours = me == "DECLINED" and declined_at is not None and o.key in declined_at
        if ours:
            assert declined_at is not None
            when = datetime.fromtimestamp(declined_at[o.key], tz)
            lines.append(f"    declined by boundaryd on {when:%a %b %d %H:%M}; the rules, block by block:")
        else:
            skip = skip_reason(o, rules, now, end)
            if skip is not None:
                lines.append(f"    not considered: {skip}")
                continue
        c = by_key.get(o.key)
        verdicts = c.trace.verdicts if c is not None else trace(rules, o, p.blocks, memory).verdicts
        if not verdicts:
            lines.append("    lands on no protected block: nothing to do")
            continue
        for v in verdicts:
            verdict = "no decision (policy keep)" if v.decision is None else f"{v.decision.value}: {v.reason}"
            lines.append(f"    {v.label} {span(v.start, v.end, v.all_day)} (policy {v.policy}) → {verdict}")
        if c is not None and not ours:
            lines.append(f"    decision: {c.decision.value} (from {c.block}; strictest wins)")
            lines += [f"    {step}" for step in why_lines(c)]  # leads, keyword_limit_per_week
            if c.series:
                lines.append("    a standing conflict: flagged once for the whole series")
            if c.decision.value == "flag" and c.ref:
                lines.append(f"    to decline it: boundaryd decline {c.ref}" + (" --series" if c.series else ""))
            if c.message:
                lines.append(f"    message: {c.message}")
    return "\n".join(lines)
