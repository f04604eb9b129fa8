"""The JSON of ``plan --json`` / ``sync --json`` (SPEC), and conflicts to and from JSON."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from boundaryd.core.actions import Undo
from boundaryd.core.model import Attendee, Conflict, Decision, Occurrence, Plan


def iso(t: datetime | date | None, tz: ZoneInfo) -> str | None:
    if t is None:
        return None
    if isinstance(t, datetime):
        return t.astimezone(tz).isoformat()
    return t.isoformat()


def conflict_to_json(c: Conflict, tz: ZoneInfo) -> dict[str, Any]:
    o = c.occurrence
    return {
        "event": o.uid,
        "ref": c.ref,
        "series": c.series,
        "recurrence_id": iso(o.recurrence_id, tz),
        "summary": o.summary,
        "start": iso(o.start, tz),
        "end": iso(o.end, tz),
        "all_day": o.all_day,
        "organizer": o.organizer or None,
        "block": c.block,
        "blocks": list(c.blocks),
        "decision": c.decision.value,
        "reason": c.reason,
        "message": c.message,
        "alternatives": [iso(a, tz) for a in c.alternatives],
    }


def conflict_from_json(d: dict[str, Any], tz: ZoneInfo) -> Conflict:
    """Enough of a conflict to render it again (digests)."""
    rid = d.get("recurrence_id")
    occ = Occurrence(
        uid=d["event"],
        recurrence_id=(datetime.fromisoformat(rid) if rid and "T" in rid else date.fromisoformat(rid) if rid else None),
        summary=d.get("summary", ""),
        start=datetime.fromisoformat(d["start"]).astimezone(tz),
        end=datetime.fromisoformat(d["end"]).astimezone(tz),
        all_day=bool(d.get("all_day")),
        organizer=d.get("organizer") or "",
        attendees=tuple(Attendee(email=d["organizer"]) for _ in [0] if d.get("organizer")),
    )
    return Conflict(
        occurrence=occ,
        block=d["block"],
        blocks=tuple(d.get("blocks", [d["block"]])),
        decision=Decision(d["decision"]),
        reason=d.get("reason", ""),
        message=d.get("message", ""),
        alternatives=tuple(datetime.fromisoformat(a).astimezone(tz) for a in d.get("alternatives", [])),
        ref=d.get("ref", ""),
        series=bool(d.get("series")),
    )


def undo_to_json(u: Undo, tz: ZoneInfo) -> dict[str, Any]:
    """An ``allow`` undoing boundaryd's own decline: the answer set back and how the organizer hears it."""
    o = u.occurrence
    return {
        "event": o.uid,
        "ref": u.ref or None,
        "recurrence_id": iso(o.recurrence_id, tz),
        "summary": o.summary,
        "start": iso(o.start, tz),
        "answer": u.partstat,
        "told": u.told.value,
    }


def plan_to_json(plan: Plan, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "now": iso(plan.now, tz),
        "window": {"start": iso(plan.window_start, tz), "end": iso(plan.window_end, tz)},
        "blocks": [
            {"block": b.block, "title": b.title, "start": iso(b.start, tz), "end": iso(b.end, tz)}
            for b in plan.blocks
        ],
        "calendar_changes": [{"op": c.op, "block": c.block, "uid": c.uid} for c in plan.calendar_changes],
        "conflicts": [conflict_to_json(c, tz) for c in plan.conflicts],
        "undos": [undo_to_json(u, tz) for u in plan.undo_actions],
        "notices": [{"to": n.to, "subject": n.subject} for n in plan.notices],
        "skipped": [{"event": s.uid, "reason": s.reason} for s in plan.skipped],
    }
