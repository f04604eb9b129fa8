"""``boundaryd why``: the planner's reasoning for one event, rule by rule, in words."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from boundaryd.core.model import Snapshot
from boundaryd.core.planner import Memory, _block_decision, _considered, _hits, _owner_entry, plan
from boundaryd.core.rules import Rules
from boundaryd.presentation.render import _safe, span


def explain(
    rules: Rules,
    snap: Snapshot,
    now: datetime,
    memory: Memory,
    uid: str,
    declined_at: Mapping[tuple[str, str], float] | None = None,
) -> str:
    """``declined_at``: when boundaryd declined which occurrences (from the journal)."""
    tz = rules.tz
    now = now.astimezone(tz)
    end = now + timedelta(days=rules.horizon_days)
    occs = sorted((o for o in snap.occurrences if o.uid == uid), key=lambda o: o.start)
    skipped = [s for s in snap.skipped if s.uid == uid]
    if skipped:
        return f"{uid}: unreadable, skipped ({skipped[0].reason})"
    if not occs:
        return f"{uid}: no occurrence of this event in the window {now:%b %d %H:%M} → {end:%b %d %H:%M}"
    p = plan(rules, snap, now, memory)
    by_key = {c.occurrence.key: c for c in p.conflicts}
    hits = _hits(occs, p.blocks)
    lines = [f"{_safe(occs[0].summary, 80) or '(no title)'} ({uid})"]
    for o in occs:
        lines.append(f"- {o.start:%a %b %d} {span(o.start, o.end, o.all_day)}")
        me = _owner_entry(o, rules)
        if o.owned_block:
            lines.append(f"    boundaryd's own event for block {o.owned_block}: never declined")
            continue
        ours = me == "DECLINED" and declined_at is not None and o.key in declined_at
        if ours:
            assert declined_at is not None
            when = datetime.fromtimestamp(declined_at[o.key], tz)
            lines.append(f"    declined by boundaryd on {when:%a %b %d %H:%M}; the rules, block by block:")
        elif not _considered(o, rules, now, end):
            why = (
                "cancelled" if o.status == "CANCELLED"
                else "marked free (transparent)" if o.transparent
                else "you already declined it" if me == "DECLINED"
                else "outside the window"
            )
            lines.append(f"    not considered: {why}")
            continue
        hit = hits.get(o.key, [])
        if not hit:
            lines.append("    lands on no protected block: nothing to do")
            continue
        for b in hit:
            block = rules.block(b.block)
            d = _block_decision(rules, block, o, memory)
            policy = rules.policy_of(block)
            verdict = "no decision (policy keep)" if d is None else f"{d[0].value}: {d[1]}"
            lines.append(f"    {block.label} {span(b.start, b.end, b.all_day)} (policy {policy}) → {verdict}")
        c = by_key.get(o.key)
        if c is not None and not ours:
            lines.append(f"    decision: {c.decision.value} (from {c.block}; strictest wins)")
            if c.message:
                lines.append(f"    message: {c.message}")
    return "\n".join(lines)
