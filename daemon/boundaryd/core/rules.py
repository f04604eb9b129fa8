"""The rules file: one typed pydantic model, loaded with every problem reported at FILE:LINE:COLUMN.

The parts live in their own modules — scalar types (:mod:`~boundaryd.core.rules_scalars`), the
model (:mod:`~boundaryd.core.rules_model`), the calendar target
(:mod:`~boundaryd.core.rules_calendar`) and the YAML loader (:mod:`~boundaryd.core.rules_yaml`) —
and are all importable from here.

``python -m boundaryd.core.rules`` prints the JSON Schema (``rules/schema.json`` is generated from it).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from boundaryd.core.rules_calendar import (
    CaldavCalendar,
    CalendarSection,
    CalendarURI,
    GoogleCalendar,
    IcsCalendar,
    MicrosoftCalendar,
)
from boundaryd.core.rules_model import (
    Allow,
    Block,
    Defaults,
    EmailNotify,
    Notify,
    Owner,
    Rules,
    Skip,
    Smtp,
    WorkingHours,
)
from boundaryd.core.rules_scalars import (
    DAY_SETS,
    DEFAULT_MESSAGE,
    KINDS,
    WEEKDAYS,
    Clock,
    Days,
    Duration,
    Email,
    Kind,
    Policy,
)
from boundaryd.core.rules_yaml import Pos, load_rules, load_rules_text

__all__ = [
    "now_in",
    "DAY_SETS",
    "DEFAULT_MESSAGE",
    "KINDS",
    "WEEKDAYS",
    "Allow",
    "Block",
    "CaldavCalendar",
    "CalendarSection",
    "CalendarURI",
    "Clock",
    "Days",
    "Defaults",
    "Duration",
    "Email",
    "EmailNotify",
    "GoogleCalendar",
    "IcsCalendar",
    "MicrosoftCalendar",
    "Kind",
    "Notify",
    "Owner",
    "Policy",
    "Pos",
    "Rules",
    "Skip",
    "Smtp",
    "WorkingHours",
    "json_schema",
    "load_rules",
    "load_rules_text",
    "schema_text",
]


def now_in(rules: Rules, now: datetime | None) -> datetime:
    """``now`` (a stand-in for the clock, as ``--now`` gives) or the clock, in the rules' zone.

    The one place the edges (CLI, engine) read the wall clock; everything past them takes ``now``.
    """
    return (now or datetime.now(rules.tz)).astimezone(rules.tz)


def json_schema() -> dict[str, Any]:
    """The rules file's JSON Schema (draft 2020-12), as editors and ``rules/schema.json`` use it."""
    schema = Rules.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "boundaryd rules file"
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # python -m boundaryd.core.rules > rules/schema.json
    print(schema_text(), end="")
