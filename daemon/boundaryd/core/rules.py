"""The rules file: one typed pydantic model, loaded with every problem reported at FILE:LINE:COLUMN.

``python -m boundaryd.core.rules`` prints the JSON Schema (``rules/schema.json`` is generated from it).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.functional_serializers import PlainSerializer
from pydantic.functional_validators import BeforeValidator, PlainValidator
from pydantic.json_schema import WithJsonSchema

from boundaryd.errors import BadInput

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SETS = {
    "daily": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
}
KINDS = ("family", "workout", "prospecting", "follow-up", "call-return", "buffer", "personal", "day-off")
DEFAULT_MESSAGE = "Thanks for the invitation. I'm not available then; could we meet {alternatives}?"

_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?$")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


# --- scalar types -------------------------------------------------------------------------


def _parse_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and (m := _TIME_RE.match(value.strip())):
        return time(int(m.group(1)), int(m.group(2)))
    raise ValueError(f'{value!r} is not a time (write "HH:MM", 24-hour, e.g. "08:30")')


def _parse_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        if value > timedelta(0):
            return value
    elif isinstance(value, str) and (m := _DURATION_RE.match(value.strip())) and any(m.groups()):
        minutes = int(m.group(1) or 0) * 60 + int(m.group(2) or 0)
        if 0 < minutes <= 7 * 24 * 60:
            return timedelta(minutes=minutes)
        raise ValueError(f"{value!r} is not a usable duration (more than zero, at most a week)")
    raise ValueError(f"{value!r} is not a duration (write 30m, 1h, 1h30m or 90m)")


def _parse_days(value: Any) -> frozenset[int]:
    if isinstance(value, str) and value in DAY_SETS:
        return DAY_SETS[value]
    if isinstance(value, list) and value:
        days: set[int] = set()
        bad = [d for d in value if not isinstance(d, str) or d.lower()[:3] not in WEEKDAYS]
        if bad:
            raise ValueError(f"unknown weekday {bad[0]!r} (use mon, tue, wed, thu, fri, sat, sun)")
        for d in value:
            days.add(WEEKDAYS.index(d.lower()[:3]))
        return frozenset(days)
    raise ValueError(f"{value!r} is not a set of days (use daily, weekdays, weekends or a list like [mon, wed])")


Clock = Annotated[
    time,
    PlainValidator(_parse_time),
    PlainSerializer(lambda t: f"{t:%H:%M}"),  # so schema defaults are valid values ("09:00")
    WithJsonSchema({"type": "string", "pattern": _TIME_RE.pattern, "examples": ["08:30"]}),
]
Duration = Annotated[
    timedelta,
    PlainValidator(_parse_duration),
    PlainSerializer(lambda d: f"{int(d.total_seconds()) // 60}m"),
    WithJsonSchema({"type": "string", "pattern": r"^(\d+h)?(\d+m)?$", "examples": ["30m", "1h30m"]}),
]
Days = Annotated[
    frozenset[int],
    PlainValidator(_parse_days),
    PlainSerializer(lambda ds: [WEEKDAYS[d] for d in sorted(ds)]),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": list(DAY_SETS)},
                {"type": "array", "minItems": 1, "items": {"enum": list(WEEKDAYS)}},
            ]
        }
    ),
]
Email = Annotated[str, BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v)]
Policy = Literal["decline", "flag", "keep"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- sections -----------------------------------------------------------------------------


class Owner(_Model):
    name: str | None = None
    emails: list[Email] = Field(min_length=1, description="who 'me' is on invitations")

    @field_validator("emails")
    @classmethod
    def _emails(cls, v: list[str]) -> list[str]:
        for e in v:
            if "@" not in e or any(c.isspace() for c in e):
                raise ValueError(f"{e!r} is not an email address")
        return v


class WorkingHours(_Model):
    # defaults written as in a rules file, so the JSON Schema shows valid values
    days: Days = Field(default="weekdays", validate_default=True)
    start: Clock = Field(default="09:00", validate_default=True)
    end: Clock = Field(default="17:00", validate_default=True)

    @model_validator(mode="after")
    def _order(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError("working_hours: end must be later than start")
        return self


class IcsCalendar(_Model):
    path: str


class CaldavCalendar(_Model):
    url: str
    username: str | None = None
    password_env: str | None = None
    password_file: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        if re.match(r"^https?://[^/]*@", v):
            raise ValueError("credentials never go in the URL (use username and password_env/password_file)")
        return v


class GoogleCalendar(_Model):
    calendar_id: str = "primary"
    token_file: str | None = None
    focus_time: Annotated[
        Literal["auto", "off"], BeforeValidator(lambda v: "off" if v is False else "auto" if v is True else v.lower() if isinstance(v, str) else v)
    ] = "auto"
    api_endpoint: str | None = None


class CalendarSection(_Model):
    ics: IcsCalendar | None = None
    caldav: CaldavCalendar | None = None
    google: GoogleCalendar | None = None

    @model_validator(mode="after")
    def _one(self) -> CalendarSection:
        given = [k for k in ("ics", "caldav", "google") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("calendar: give exactly one of ics, caldav, google")
        return self


class Smtp(_Model):
    host: str
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    timeout: float = Field(20.0, gt=0, le=120)


class EmailNotify(_Model):
    to: Email | None = None
    from_: Email | None = Field(None, alias="from")
    smtp: Smtp | None = None


def _preview(value: Any) -> str:
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        return "off"
    if isinstance(value, str):
        parts = value.split()
        if len(parts) == 2 and parts[0].lower()[:3] in WEEKDAYS:
            _parse_time(parts[1])
            return f"{parts[0].lower()[:3]} {parts[1]}"
    raise ValueError(f"{value!r} is not a weekly time (write e.g. \"sun 18:00\", or off)")


def _digest(value: Any) -> str:
    if value in ("immediate", "hourly"):
        return str(value)
    if isinstance(value, str) and value.startswith("daily "):
        _parse_time(value[6:])
        return value
    raise ValueError(f'{value!r} is not a digest mode (immediate, hourly or "daily HH:MM")')


class Notify(_Model):
    email: EmailNotify | None = None
    replies: Literal["auto", "outbox", "off"] = "auto"
    digest: Annotated[
        str, PlainValidator(_digest), WithJsonSchema({"type": "string", "examples": ["immediate", "daily 07:30"]})
    ] = "immediate"
    weekly_preview: Annotated[
        str, PlainValidator(_preview), WithJsonSchema({"type": ["string", "boolean"], "examples": ["sun 18:00"]})
    ] = "sun 18:00"


class Defaults(_Model):
    policy: Policy = "flag"
    decline_accepted: bool = False
    message: str = DEFAULT_MESSAGE


class Allow(_Model):
    people: list[Email] = []
    keywords: list[str] = []


class Block(_Model):
    id: str = Field(description="slug, unique; names the block everywhere")
    title: str | None = None
    kind: Literal[KINDS] = "personal"  # type: ignore[valid-type]
    days: Days | None = None
    rrule: str | None = Field(None, description="RFC 5545 RRULE instead of days")
    since: date | None = Field(None, description="first date the block applies (anchors INTERVAL rules)")
    start: Clock | None = None
    end: Clock | None = None
    duration: Duration | None = None
    times: list[Clock] | None = Field(None, min_length=1)
    all_day: bool = False
    policy: Policy | None = None
    message: str | None = None
    private: bool = False
    allow: Allow = Allow()

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG_RE.match(v):
            raise ValueError(f"{v!r} is not a slug (lower-case letters, digits, - and _)")
        return v

    @field_validator("rrule")
    @classmethod
    def _rrule(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from dateutil.rrule import rrulestr

        text = v.strip()
        if text.upper().startswith("RRULE:"):
            text = text[6:]
        if "FREQ=" not in text.upper():
            raise ValueError(f"rrule {v!r} has no FREQ (e.g. FREQ=WEEKLY;BYDAY=SA)")
        if "DTSTART" in text.upper():
            raise ValueError("rrule: give the start time with start:, not DTSTART")
        try:
            rrulestr(text, dtstart=__import__("datetime").datetime(2026, 1, 1))
        except (ValueError, TypeError) as e:
            raise ValueError(f"rrule {v!r} is not a valid RFC 5545 RRULE ({e})") from None
        return text

    @model_validator(mode="after")
    def _shape(self) -> Block:
        if (self.days is None) == (self.rrule is None):
            raise ValueError(f"block {self.id}: give exactly one of days or rrule")
        forms = {
            "start+end": self.start is not None and self.end is not None and self.times is None,
            "start+duration": self.start is not None and self.duration is not None and self.times is None,
            "times+duration": self.times is not None and self.duration is not None and self.start is None,
            "all_day": self.all_day,
        }
        used = [k for k, v in forms.items() if v]
        if self.all_day and any(x is not None for x in (self.start, self.end, self.duration, self.times)):
            raise ValueError(f"block {self.id}: all_day takes no start, end, duration or times")
        if self.end is not None and self.duration is not None:
            raise ValueError(f"block {self.id}: give end or duration, not both")
        if len(used) != 1:
            raise ValueError(
                f"block {self.id}: give exactly one of start+end, start+duration, times+duration, all_day: true"
            )
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(
                f"block {self.id}: end {self.end:%H:%M} is not later than start {self.start:%H:%M}"
                " (a block that crosses midnight uses duration, e.g. duration: 9h)"
            )
        return self

    # -- derived ------------------------------------------------------------------------
    @property
    def label(self) -> str:
        return self.title or self.id.replace("-", " ").replace("_", " ").capitalize()

    @property
    def spans(self) -> list[tuple[time, timedelta]]:
        """(local start, length) for each instance a day; empty for all-day blocks."""
        if self.all_day:
            return []
        if self.times is not None:
            assert self.duration is not None
            return [(t, self.duration) for t in sorted(set(self.times))]
        assert self.start is not None
        if self.duration is not None:
            return [(self.start, self.duration)]
        assert self.end is not None
        d0 = date(2000, 1, 3)
        from datetime import datetime as _dt

        return [(self.start, _dt.combine(d0, self.end) - _dt.combine(d0, self.start))]


class Skip(_Model):
    date: date
    blocks: list[str] | None = None


class Rules(_Model):
    """A whole rules file. Construct with :func:`load_rules` to get located errors."""

    version: Literal[1]
    timezone: str = Field(description="IANA name; wall-clock times are in this zone")
    owner: Owner
    horizon_days: int = Field(14, ge=1, le=366)
    working_hours: WorkingHours = WorkingHours()
    calendar: CalendarSection | None = None
    notify: Notify = Notify()
    defaults: Defaults = Defaults()
    blocks: list[Block] = Field(min_length=1)
    skip: list[Skip] = []

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            hint = difflib.get_close_matches(v, _zone_names(), n=1)
            raise ValueError(
                f"unknown time zone {v!r}" + (f" (did you mean {hint[0]!r}?)" if hint else " (use an IANA name)")
            ) from None
        return v

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def policy_of(self, block: Block) -> str:
        return block.policy or self.defaults.policy

    def message_of(self, block: Block) -> str:
        return block.message or self.defaults.message

    def block(self, block_id: str) -> Block:
        for b in self.blocks:
            if b.id == block_id:
                return b
        raise KeyError(block_id)

    def skipped_dates(self, block_id: str) -> list[date]:
        return sorted({s.date for s in self.skip if s.blocks is None or block_id in s.blocks})

    def calendar_target(self, state_dir: str | Path) -> CalendarURI:
        cal = self.calendar
        if cal is None or cal.ics is not None:
            path = cal.ics.path if cal and cal.ics else str(Path(state_dir) / "calendar.ics")
            return CalendarURI("ics", str(Path(path).expanduser()))
        if cal.caldav is not None:
            return CalendarURI("caldav", cal.caldav.url)
        assert cal.google is not None
        return CalendarURI("google", cal.google.calendar_id)

    @property
    def notify_to(self) -> str:
        e = self.notify.email
        return (e.to if e and e.to else None) or self.owner.emails[0]

    @property
    def notify_from(self) -> str:
        e = self.notify.email
        return (e.from_ if e and e.from_ else None) or self.notify_to


@dataclass(frozen=True)
class CalendarURI:
    scheme: str  # ics | caldav | google
    location: str

    @classmethod
    def parse(cls, uri: str) -> CalendarURI:
        scheme, sep, rest = uri.partition(":")
        if not sep or scheme not in ("ics", "caldav", "google") or not rest:
            raise BadInput(f"--calendar {uri}: use ics:PATH, caldav:URL or google:CALENDAR_ID")
        if scheme == "caldav" and re.match(r"^https?://[^/]*@", rest):
            raise BadInput(f"--calendar {uri.split('@')[-1]}: credentials never go in a URI (use the rules file)")
        if scheme == "ics":
            rest = str(Path(rest).expanduser())
        return cls(scheme, rest)

    def __str__(self) -> str:
        return f"{self.scheme}:{self.location}"


def _zone_names() -> list[str]:
    import zoneinfo

    return sorted(zoneinfo.available_timezones())


# --- loading with positions -----------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 base-60 integers (so 11:30 stays "11:30") and without its
    yes/no/on/off booleans (so ``replies: off`` or ``id: off`` stay words; pydantic still reads
    "yes"/"off" as booleans where a boolean is wanted)."""


_Loader.yaml_implicit_resolvers = {
    k: [
        (tag, rx)
        for tag, rx in v
        if not (tag.endswith((":int", ":float")) and ":" in rx.pattern.replace("(?:", "")) and not tag.endswith(":bool")
    ]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    _Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_first])
for _first in list("-+0123456789."):
    _Loader.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
        [_first],
    )
    _Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
        [_first],
    )

Pos = tuple[int, int]


def _walk(node: yaml.Node, path: tuple[Any, ...], pos: dict[tuple[Any, ...], Pos], dups: list[tuple[tuple[Any, ...], Pos]]) -> None:
    pos.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else str(k)
            kp = path + (key,)
            if key in seen:
                dups.append((kp, (k.start_mark.line + 1, k.start_mark.column + 1)))
            seen.add(key)
            pos[kp] = (k.start_mark.line + 1, k.start_mark.column + 1)
            pos[kp + ("<value>",)] = (v.start_mark.line + 1, v.start_mark.column + 1)
            _walk(v, kp, pos, dups)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), pos, dups)


def _where(pos: dict[tuple[Any, ...], Pos], loc: tuple[Any, ...], *, key: bool = False) -> Pos:
    loc = tuple(loc)
    if not key and loc + ("<value>",) in pos:
        return pos[loc + ("<value>",)]
    while loc:
        if loc in pos:
            return pos[loc]
        loc = loc[:-1]
    return pos.get((), (1, 1))


def _fields_of(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Known keys of the model at ``loc`` (for 'did you mean')."""
    m: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        f = m.model_fields.get(part) if hasattr(m, "model_fields") else None
        if f is None:
            return []
        ann = f.annotation
        inner = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not inner:
            args = getattr(ann, "__args__", ())
            inner = [a for x in args for a in getattr(x, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not inner:
            return []
        m = inner[0]
    return [f.alias or n for n, f in m.model_fields.items()] if hasattr(m, "model_fields") else []


def _message(err: dict[str, Any]) -> tuple[tuple[Any, ...], str, bool]:
    """(location, one-line message, points at key?) for one pydantic error."""
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
    typ = err["type"]
    if typ == "extra_forbidden":
        key = loc[-1]
        known = _fields_of(Rules, loc[:-1])
        hint = difflib.get_close_matches(str(key), known, n=1)
        where = ".".join(str(p) for p in loc[:-1]) or "the top level"
        msg = f"unknown key {key!r} in {where}" + (
            f" (did you mean {hint[0]!r}?)" if hint else f" (known keys: {', '.join(known)})" if known else ""
        )
        return loc, msg, True
    if typ == "missing":
        return loc[:-1], f"missing key {loc[-1]!r}", True
    text = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        text = text.removeprefix(prefix)
    if typ == "literal_error":
        text = f"{err.get('input')!r} is not allowed here ({text[0].lower() + text[1:]})"
    name = ".".join(str(p) for p in loc)
    if name and not text.startswith(("block ", "calendar:", "working_hours:")):
        text = f"{name}: {text}"
    return loc, text, False


def load_rules_text(text: str, filename: str) -> Rules:
    """Parse and validate; raises BadInput listing every problem as FILE:LINE:COLUMN: message."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
        raise BadInput(f"{filename}:{where}: not valid YAML: {e.problem or e.context} (check indentation and quotes)") from None
    except yaml.YAMLError as e:
        raise BadInput(f"{filename}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{filename}:1:1: a rules file is a mapping starting with 'version: 1' (see rules/example.yaml)")
    pos: dict[tuple[Any, ...], Pos] = {}
    dups: list[tuple[tuple[Any, ...], Pos]] = []
    _walk(node, (), pos, dups)

    problems: list[tuple[Pos, str]] = [(p, f"duplicate key {kp[-1]!r}") for kp, p in dups]
    problems += _cross_check(data, pos)
    try:
        rules = Rules.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            loc, msg, at_key = _message(err)
            problems.append((_where(pos, loc, key=at_key), msg))
        rules = None
    if problems:
        uniq = sorted(set(problems))
        raise BadInput(*(f"{filename}:{ln}:{col}: {msg}" for (ln, col), msg in uniq))
    assert rules is not None
    return rules


def _cross_check(data: dict[str, Any], pos: dict[tuple[Any, ...], Pos]) -> list[tuple[Pos, str]]:
    """Checks across sections, done on the raw data so they run even when other parts fail."""
    out: list[tuple[Pos, str]] = []
    blocks = data.get("blocks")
    ids: dict[str, int] = {}
    if isinstance(blocks, list):
        for i, b in enumerate(blocks):
            if isinstance(b, dict) and isinstance(b.get("id"), str):
                if b["id"] in ids:
                    out.append((_where(pos, ("blocks", i, "id")), f"duplicate block id {b['id']!r} (first at block {ids[b['id']] + 1})"))
                else:
                    ids[b["id"]] = i
    skips = data.get("skip")
    if isinstance(skips, list):
        for i, s in enumerate(skips):
            refs = s.get("blocks") if isinstance(s, dict) else None
            if isinstance(refs, list):
                for j, r in enumerate(refs):
                    if r not in ids:
                        hint = difflib.get_close_matches(str(r), list(ids), n=1)
                        out.append(
                            (
                                _where(pos, ("skip", i, "blocks", j)),
                                f"skip: no block with id {r!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                            )
                        )
    return out


def load_rules(path: str | Path) -> Rules:
    p = Path(path).expanduser()
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{p}: no rules file here (create one with 'boundaryd demo' or copy rules/example.yaml)") from None
    except OSError as e:
        raise BadInput(f"{p}: cannot read the rules file ({e.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise BadInput(f"{p}:{line}:1: not UTF-8 text (save the file as UTF-8)") from None
    return load_rules_text(text, str(p))


def json_schema() -> dict[str, Any]:
    schema = Rules.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "boundaryd rules file"
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # python -m boundaryd.core.rules > rules/schema.json
    print(schema_text(), end="")
