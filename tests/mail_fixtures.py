"""Shared values for the mail tests: a real rules file, block instances, conflicts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from boundaryd.core import model
from boundaryd.core.model import Decision

RULES_YAML = """\
version: 1
timezone: America/Toronto
owner: {name: Alice Agent, emails: [alice@example.com]}
working_hours: {days: weekdays, start: "08:00", end: "18:00"}
notify:
  email: {to: alice@example.com, from: boundaryd@example.com}
blocks:
  - {id: prospecting, title: Prospecting calls, kind: prospecting, days: weekdays, start: "08:30", end: "11:00", policy: decline}
  - {id: family, title: Family dinner, kind: family, days: daily, start: "17:30", duration: 2h, policy: decline}
  - {id: sunday, title: Day off, kind: day-off, days: [sun], all_day: true, policy: decline}
"""


def load_rules() -> Any:
    from boundaryd.core.rules import load_rules_text

    return load_rules_text(RULES_YAML, "rules.yaml")


def week_blocks(tz: Any) -> list[model.BlockInstance]:
    """The protected blocks of Mon 23 – Sun 29 Nov 2026."""
    out: list[model.BlockInstance] = []
    for d in range(23, 30):
        day = date(2026, 11, d)
        if day.weekday() < 5:
            s = datetime(2026, 11, d, 8, 30, tzinfo=tz)
            out.append(model.BlockInstance("prospecting", "Prospecting calls", "prospecting", s, s + timedelta(hours=2, minutes=30)))
        s = datetime(2026, 11, d, 17, 30, tzinfo=tz)
        out.append(model.BlockInstance("family", "Family dinner", "family", s, s + timedelta(hours=2)))
    out.append(
        model.BlockInstance(
            "sunday", "Day off", "day-off", datetime(2026, 11, 29, tzinfo=tz), datetime(2026, 11, 30, tzinfo=tz), True
        )
    )
    return out


def occurrence(tz: Any, **over: Any) -> model.Occurrence:
    base: dict[str, Any] = {
        "uid": "evt-1@client.example",
        "recurrence_id": None,
        "summary": "Quarterly sync",
        "start": datetime(2026, 11, 24, 9, 0, tzinfo=tz),
        "end": datetime(2026, 11, 24, 10, 0, tzinfo=tz),
        "description": "Agenda: numbers",
        "organizer": "bob@client.example",
        "organizer_name": "Bob Builder",
        "attendees": (model.Attendee("alice@example.com"), model.Attendee("bob@client.example", "ACCEPTED")),
        "sequence": 2,
    }
    base.update(over)
    return model.Occurrence(**base)


def conflict(occ: model.Occurrence, decision: Decision = Decision.DECLINE, block: str = "prospecting", **over: Any) -> model.Conflict:
    base: dict[str, Any] = {
        "occurrence": occ,
        "block": block,
        "blocks": (block,),
        "decision": decision,
        "reason": "you are invited and the block declines",
        "message": "Thanks for the invitation. I'm not available then; could we meet Wed 25 Nov at 11:00?",
        "alternatives": (occ.start + timedelta(days=1, hours=2),),
    }
    base.update(over)
    return model.Conflict(**base)
