"""The rules file as one typed pydantic model: the owner, working hours, notices, blocks, skips."""

from __future__ import annotations

import difflib
from datetime import date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PlainSerializer, PlainValidator, WithJsonSchema, field_validator, model_validator

from boundaryd.core.rules_busy import BusySources
from boundaryd.core.rules_calendar import CalendarSection, CalendarURI
from boundaryd.core.rules_leads import Leads
from boundaryd.core.rules_scalars import (
    DEFAULT_MESSAGE,
    SLUG_RE,
    Clock,
    Days,
    Digest,
    Duration,
    Email,
    Kind,
    Policy,
    Preview,
    Section,
    Template,
    parse_duration,
)


def _hold_duration(value: object) -> timedelta:
    """``hold_offers``: a duration, or 0 (holds off)."""
    if value in (0, "0", "0m", "0h") or value == timedelta(0):
        return timedelta(0)
    return parse_duration(value)


#: a duration that may also be 0 (the feature off)
OffDuration = Annotated[
    timedelta,
    PlainValidator(_hold_duration),
    PlainSerializer(lambda d: f"{int(d.total_seconds()) // 60}m" if d else "0"),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": r"^((\d+h)?(\d+m)?|0)$"}, {"const": 0}],
                    "examples": ["48h", "0"]}),
]


class Owner(Section):
    name: str | None = None
    emails: list[Email] = Field(min_length=1, description="who 'me' is on invitations")
    locale: str = Field("en_US", description="how dates and times read in messages (Babel locale: en_US, en_GB, de_DE, fr_FR)")

    @field_validator("locale")
    @classmethod
    def _locale(cls, v: str) -> str:
        from babel import Locale, UnknownLocaleError

        try:
            Locale.parse(v.replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            raise ValueError(f"unknown locale {v!r} (write a language and country, e.g. en_US, en_GB, de_DE, fr_FR)") from None
        return v.replace("-", "_")

    @field_validator("emails")
    @classmethod
    def _emails(cls, v: list[str]) -> list[str]:
        for e in v:
            if "@" not in e or any(c.isspace() for c in e):
                raise ValueError(f"{e!r} is not an email address")
        return v


class WorkingHours(Section):
    # defaults written as in a rules file, so the JSON Schema shows valid values
    days: Days = Field(default="weekdays", validate_default=True)
    start: Clock = Field(default="09:00", validate_default=True)
    end: Clock = Field(default="17:00", validate_default=True)

    @model_validator(mode="after")
    def _order(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError("working_hours: end must be later than start")
        return self


class Smtp(Section):
    host: str
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    timeout: float = Field(20.0, gt=0, le=120)


class EmailNotify(Section):
    to: Email | None = None
    from_: Email | None = Field(None, alias="from")
    smtp: Smtp | None = None


class Report(Section):
    """When the weekly boundary ledger goes out by email (``notify.report``)."""

    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "sun"
    time: Clock = Field(default="18:00", validate_default=True)


class Notify(Section):
    email: EmailNotify | None = None
    replies: Literal["auto", "outbox", "off"] = "auto"
    digest: Digest = "immediate"
    weekly_preview: Preview = "sun 18:00"
    report: Report | None = Field(default=None, description="the weekly boundary ledger by email; omit for none")


class Defaults(Section):
    policy: Policy = "flag"
    decline_accepted: bool = False
    #: meetings already on the calendar when a block first applies: declined (true) or flagged (false)
    decline_existing: bool = False
    message: Template = DEFAULT_MESSAGE
    keyword_limit_per_week: int | None = Field(default=None, ge=1, description="one person's keyword exceptions past this in 7 days: flagged, never declined")
    hold_offers: OffDuration = Field(
        default="48h", validate_default=True,
        description="offered slots are held until taken or this long; 0 turns holds off",
    )


class Allow(Section):
    people: list[Email] = []
    keywords: list[str] = []


def _check_rrule(v: str) -> str:
    """An RRULE as written (with or without ``RRULE:``), checked by dateutil; its text without the prefix."""
    from dateutil.rrule import rrulestr

    text = v.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "FREQ=" not in text.upper():
        raise ValueError(f"rrule {v!r} has no FREQ (e.g. FREQ=WEEKLY;BYDAY=SA)")
    if "DTSTART" in text.upper():
        raise ValueError("rrule: give the start time with start:, not DTSTART")
    try:
        rrulestr(text, dtstart=datetime(2026, 1, 1))
    except (ValueError, TypeError) as e:
        raise ValueError(f"rrule {v!r} is not a valid RFC 5545 RRULE ({e})") from None
    return text


class Makeup(Section):
    """Where a block's make-up time may go (default: working hours, 30 minutes at least)."""

    days: Days = Field(default="weekdays", validate_default=True)
    start: Clock = Field(default="09:00", validate_default=True)
    end: Clock = Field(default="17:00", validate_default=True)
    min: Duration = Field(default="30m", validate_default=True, description="the shortest make-up event")

    @model_validator(mode="after")
    def _order(self) -> Makeup:
        if self.end <= self.start:
            raise ValueError("makeup: end must be later than start")
        return self


class Flexible(Section):
    """The window a flexible block's instance may move within, the same day."""

    start: Clock
    end: Clock

    @model_validator(mode="after")
    def _order(self) -> Flexible:
        if self.end <= self.start:
            raise ValueError("flexible: end must be later than start")
        return self


class Block(Section):
    id: str = Field(description="slug, unique; names the block everywhere")
    title: str | None = None
    kind: Kind = "personal"
    days: Days | None = None
    rrule: str | None = Field(None, description="RFC 5545 RRULE instead of days")
    since: date | None = Field(None, description="first date the block applies (anchors INTERVAL rules)")
    start: Clock | None = None
    end: Clock | None = None
    duration: Duration | None = None
    times: list[Clock] | None = Field(None, min_length=1)
    all_day: bool = False
    policy: Policy | None = None
    message: Template | None = None
    private: bool = False
    allow: Allow = Allow()
    weekly_target: Duration | None = Field(
        None, description="the week's protected total; time lost to meetings let through is made up"
    )
    makeup: Makeup | None = Field(None, description="where make-up time may go (default: working hours)")
    flexible: Flexible | None = Field(None, description="the instance may move inside this window, away from meetings")

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG_RE.match(v):
            raise ValueError(f"{v!r} is not a slug (lower-case letters, digits, - and _)")
        return v

    @field_validator("rrule")
    @classmethod
    def _rrule(cls, v: str | None) -> str | None:
        return None if v is None else _check_rrule(v)

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
        if self.flexible is not None and (self.all_day or self.times is not None):
            raise ValueError(f"block {self.id}: flexible needs one timed span a day (start with end or duration)")
        if self.flexible is not None:
            assert self.start is not None
            length = self.spans[0][1]
            d0 = date(2000, 1, 3)
            room = datetime.combine(d0, self.flexible.end) - datetime.combine(d0, self.flexible.start)
            if length > room:
                raise ValueError(f"block {self.id}: the flexible window is shorter than the block")
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
        return [(self.start, datetime.combine(d0, self.end) - datetime.combine(d0, self.start))]


class Skip(Section):
    date: date
    blocks: list[str] | None = None


#: abbreviations people write for a zone, and the IANA zones they most likely mean
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "EST": ("America/New_York", "America/Toronto"), "EDT": ("America/New_York", "America/Toronto"),
    "ET": ("America/New_York", "America/Toronto"), "EST5EDT": ("America/New_York", "America/Toronto"),
    "CST": ("America/Chicago", "America/Mexico_City", "Asia/Shanghai"), "CDT": ("America/Chicago", "America/Winnipeg"),
    "CT": ("America/Chicago",), "CST6CDT": ("America/Chicago",),
    "MST": ("America/Denver", "America/Phoenix", "America/Edmonton"), "MDT": ("America/Denver", "America/Edmonton"),
    "MT": ("America/Denver",), "MST7MDT": ("America/Denver",),
    "PST": ("America/Los_Angeles", "America/Vancouver"), "PDT": ("America/Los_Angeles", "America/Vancouver"),
    "PT": ("America/Los_Angeles", "America/Vancouver"), "PST8PDT": ("America/Los_Angeles", "America/Vancouver"),
    "AKST": ("America/Anchorage",), "AKDT": ("America/Anchorage",), "HST": ("Pacific/Honolulu",),
    "AST": ("America/Halifax", "America/Puerto_Rico"), "ADT": ("America/Halifax",),
    "NST": ("America/St_Johns",), "NDT": ("America/St_Johns",),
    "GMT": ("Europe/London", "UTC"), "BST": ("Europe/London",), "WET": ("Europe/Lisbon",), "WEST": ("Europe/Lisbon",),
    "CET": ("Europe/Paris", "Europe/Berlin"), "CEST": ("Europe/Paris", "Europe/Berlin"), "MET": ("Europe/Paris", "Europe/Berlin"),
    "EET": ("Europe/Athens", "Europe/Helsinki"), "EEST": ("Europe/Athens", "Europe/Helsinki"),
    "MSK": ("Europe/Moscow",), "IST": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"),
    "PKT": ("Asia/Karachi",), "SGT": ("Asia/Singapore",), "HKT": ("Asia/Hong_Kong",), "JST": ("Asia/Tokyo",),
    "KST": ("Asia/Seoul",), "AEST": ("Australia/Sydney", "Australia/Brisbane"), "AEDT": ("Australia/Sydney",),
    "ACST": ("Australia/Adelaide", "Australia/Darwin"), "AWST": ("Australia/Perth",),
    "NZST": ("Pacific/Auckland",), "NZDT": ("Pacific/Auckland",),
}


def zone_names() -> list[str]:
    import zoneinfo

    return sorted(zoneinfo.available_timezones())


class Rules(Section):
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
    leads: Leads | None = None  # absent: no lead logic at all
    busy_from: BusySources = Field([], description="the owner's other calendars; their events count as busy")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        meant = ABBREVIATIONS.get(v.strip().upper())
        if meant is not None:
            raise ValueError(
                f"{v!r} is an abbreviation, not a time zone"
                f" (write the IANA name of the place, e.g. {' or '.join(meant)})"
            )
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            hint = difflib.get_close_matches(v, zone_names(), n=1)
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
        return CalendarURI.of_section(self.calendar, state_dir)

    @property
    def notify_to(self) -> str:
        e = self.notify.email
        return (e.to if e and e.to else None) or self.owner.emails[0]

    @property
    def notify_from(self) -> str:
        e = self.notify.email
        return (e.from_ if e and e.from_ else None) or self.notify_to
