"""The rules file's scalar types: wall-clock times, durations, sets of weekdays, addresses, modes.

Each is a plain Python value with a validator that reads what a person writes ("08:30", "1h30m",
"weekdays") and a serializer that writes it back the same way, so the JSON Schema's defaults are
valid values.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer
from pydantic.functional_validators import BeforeValidator, PlainValidator
from pydantic.json_schema import WithJsonSchema
from pydantic_core import PydanticCustomError

from boundaryd.core import rules_template

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SETS = {
    "daily": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
}
Kind = Literal["family", "workout", "prospecting", "follow-up", "call-return", "buffer", "personal", "day-off"]
KINDS: tuple[str, ...] = get_args(Kind)
DEFAULT_MESSAGE = "Thanks for the invitation. I'm not available then; could we meet {alternatives}?"

TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def parse_time(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and (m := TIME_RE.match(value.strip())):
        return time(int(m.group(1)), int(m.group(2)))
    raise ValueError(f'{value!r} is not a time (write "HH:MM", 24-hour, e.g. "08:30")')


def parse_duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        if value > timedelta(0):
            return value
    elif isinstance(value, str) and (m := DURATION_RE.match(value.strip())) and any(m.groups()):
        minutes = int(m.group(1) or 0) * 60 + int(m.group(2) or 0)
        if 0 < minutes <= 7 * 24 * 60:
            return timedelta(minutes=minutes)
        raise ValueError(f"{value!r} is not a usable duration (more than zero, at most a week)")
    raise ValueError(f"{value!r} is not a duration (write 30m, 1h, 1h30m or 90m)")


#: every spelling of a day the rules accept: the three letters, the full name, two common shortenings
_DAY_NAMES = {
    **{d: i for i, d in enumerate(WEEKDAYS)},
    **{n: i for i, n in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
    "tues": 1, "thur": 3, "thurs": 3,
}


def _weekday(d: object) -> int | None:
    """A day's number (mon = 0); None for anything else ("sundae" is a typo, not Sunday)."""
    return _DAY_NAMES.get(d.strip().lower()) if isinstance(d, str) else None


def parse_days(value: object) -> frozenset[int]:
    if isinstance(value, str) and value in DAY_SETS:
        return DAY_SETS[value]
    if isinstance(value, list) and value:
        days = [_weekday(d) for d in value]
        bad = [d for d, n in zip(value, days, strict=True) if n is None]
        if bad:
            raise ValueError(
                f"unknown weekday {bad[0]!r} (use mon, tue, wed, thu, fri, sat, sun, or the full names monday … sunday)"
            )
        return frozenset(n for n in days if n is not None)
    raise ValueError(f"{value!r} is not a set of days (use daily, weekdays, weekends or a list like [mon, wed])")


def _lower_if_text(v: object) -> object:
    return v.strip().lower() if isinstance(v, str) else v


def parse_preview(value: object) -> str:
    """The weekly preview's time: "sun 18:00", or "off"."""
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        return "off"
    if isinstance(value, str):
        parts = value.split()
        day = _weekday(parts[0]) if len(parts) == 2 else None
        if day is not None:
            parse_time(parts[1])
            return f"{WEEKDAYS[day]} {parts[1]}"
    raise ValueError(f"{value!r} is not a weekly time (write e.g. \"sun 18:00\", or off)")


def parse_digest(value: object) -> str:
    """How notices are batched: immediate, hourly, or "daily HH:MM"."""
    if value in ("immediate", "hourly"):
        return str(value)
    if isinstance(value, str) and value.startswith("daily "):
        parse_time(value[6:])
        return value
    raise ValueError(f'{value!r} is not a digest mode (immediate, hourly or "daily HH:MM")')


def parse_focus_time(v: object) -> object:
    """Google focus time: yes/no as well as auto/off."""
    if v is False:
        return "off"
    if v is True:
        return "auto"
    return v.lower() if isinstance(v, str) else v


def check_template(value: str) -> str:
    """A message template in the one placeholder language; every bad placeholder is a problem.

    The error's context lists each one (offset in the text, token, words) so the loader can point
    at its own line and column.
    """
    found = rules_template.problems(value)
    if found:
        raise PydanticCustomError(
            "bad_placeholder",
            "{text}",
            {"text": found[0].text, "problems": [(p.offset, p.token, p.text) for p in found]},
        )
    return value


def _clock_text(t: time) -> str:
    return f"{t:%H:%M}"


def _duration_text(d: timedelta) -> str:
    return f"{int(d.total_seconds()) // 60}m"


def _days_list(ds: frozenset[int]) -> list[str]:
    return [WEEKDAYS[d] for d in sorted(ds)]


Clock = Annotated[
    time,
    PlainValidator(parse_time),
    PlainSerializer(_clock_text),  # so schema defaults are valid values ("09:00")
    WithJsonSchema({"type": "string", "pattern": TIME_RE.pattern, "examples": ["08:30"]}),
]
Duration = Annotated[
    timedelta,
    PlainValidator(parse_duration),
    PlainSerializer(_duration_text),
    WithJsonSchema({"type": "string", "pattern": r"^(\d+h)?(\d+m)?$", "examples": ["30m", "1h30m"]}),
]
#: a day as the loader reads it (:func:`_weekday`): any spelling of :data:`_DAY_NAMES`, in any case,
#: spaces around it ignored; the enum beside it is what editors offer to complete
_DAY_PATTERN = (
    r"^\s*(?:" + "|".join("".join(f"[{c.upper()}{c}]" for c in name) for name in _DAY_NAMES) + r")\s*$"
)

Days = Annotated[
    frozenset[int],
    PlainValidator(parse_days),
    PlainSerializer(_days_list),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": list(DAY_SETS)},
                {
                    "type": "array",
                    "minItems": 1,
                    "items": {"anyOf": [{"enum": list(_DAY_NAMES)}, {"type": "string", "pattern": _DAY_PATTERN}]},
                },
            ]
        }
    ),
]
Email = Annotated[str, BeforeValidator(_lower_if_text)]
Template = Annotated[str, AfterValidator(check_template)]
Policy = Literal["decline", "flag", "keep"]
Digest = Annotated[
    str, PlainValidator(parse_digest), WithJsonSchema({"type": "string", "examples": ["immediate", "daily 07:30"]})
]
Preview = Annotated[
    str, PlainValidator(parse_preview), WithJsonSchema({"type": ["string", "boolean"], "examples": ["sun 18:00"]})
]
FocusTime = Annotated[Literal["auto", "off"], BeforeValidator(parse_focus_time)]


class Section(BaseModel):
    """The base of every part of the rules file: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
