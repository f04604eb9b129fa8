"""The world the state machine drives (tests/test_state_machine.py): rules and events as specs,
the rules' instances worked out from the specs alone, and what the outbox says was sent."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from boundaryd.core import ical
from boundaryd.core.model import Attendee, Occurrence

TZ = ZoneInfo("America/Toronto")
START = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)  # a Monday morning
OWNER = "alice@example.com"
HORIZON = 7
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEEN = (START - timedelta(days=1), START + timedelta(days=40))  # where the invariants look


@dataclass(frozen=True)
class BlockSpec:
    days: tuple[int, ...]
    start: time
    minutes: int
    policy: str
    all_day: bool = False

    def yaml(self, bid: str) -> str:
        days = "[" + ", ".join(DAYS[d] for d in self.days) + "]"
        if self.all_day:
            when = "    all_day: true\n"
        else:
            when = f'    start: "{self.start:%H:%M}"\n    duration: {self.minutes}m\n'
        return (
            f"  - id: {bid}\n    title: Block {bid}\n    kind: personal\n    days: {days}\n{when}"
            f"    policy: {self.policy}\n    allow: {{people: ['*@bigclient.com']}}\n"
        )


@dataclass(frozen=True)
class EventSpec:
    """An event as its organizer wrote it (the owner's answer included, as the organizer sent it)."""

    uid: str
    start: datetime
    minutes: int
    organizer: str  # "" : the owner's own event, nobody invited
    weekly: bool = False
    partstat: str = "NEEDS-ACTION"
    cancelled: bool = False
    sequence: int = 0

    def components(self) -> list[icalendar.Component]:
        ev = icalendar.Event()
        ev.add("UID", self.uid)
        ev.add("DTSTAMP", datetime(2026, 11, 1, tzinfo=TZ))
        ev.add("SUMMARY", f"ev-{self.uid}")
        ev.add("DTSTART", self.start)
        ev.add("DTEND", self.start + timedelta(minutes=self.minutes))
        ev.add("SEQUENCE", self.sequence)
        if self.cancelled:
            ev.add("STATUS", "CANCELLED")
        if self.weekly:
            ev.add("RRULE", {"FREQ": ["WEEKLY"], "COUNT": ["3"]})
        if self.organizer:
            ev.add("ORGANIZER", icalendar.vCalAddress(f"mailto:{self.organizer}"))
            for mail, ps in ((self.organizer, "ACCEPTED"), (OWNER, self.partstat)):
                a = icalendar.vCalAddress(f"mailto:{mail}")
                a.params["PARTSTAT"] = ps
                ev.add("ATTENDEE", a)
        return [ev]


def rules_text(blocks: dict[str, BlockSpec], replies: str) -> str:
    return (
        "version: 1\ntimezone: America/Toronto\n"
        f"owner: {{name: Alice Agent, emails: [{OWNER}]}}\n"
        f"horizon_days: {HORIZON}\n"
        'working_hours: {days: weekdays, start: "08:00", end: "18:00"}\n'
        f"notify:\n  email: {{to: {OWNER}, from: boundaryd@example.com}}\n  replies: {replies}\n"
        "defaults: {decline_existing: true}\n"  # the machine's invitations arrive after the blocks
        "blocks:\n" + "".join(spec.yaml(bid) for bid, spec in sorted(blocks.items()))
    )


def expected_blocks(blocks: dict[str, BlockSpec], now: datetime) -> set[tuple[str, datetime, datetime]]:
    """The rules' instances starting in the window, worked out here from the specs alone."""
    end = now + timedelta(days=HORIZON)
    out = set()
    d = now.date()
    while d <= end.date():
        for bid, b in blocks.items():
            if d.weekday() not in b.days:
                continue
            if b.all_day:
                s = datetime.combine(d, time(0), TZ)
                e = datetime.combine(d + timedelta(days=1), time(0), TZ)
            else:
                s = datetime.combine(d, b.start, TZ)
                e = s + timedelta(minutes=b.minutes)
            if now <= s < end:
                out.add((bid, s, e))
        d += timedelta(days=1)
    return out


def answerless(o: Occurrence) -> Occurrence:
    """``o`` without what the owner may change: their PARTSTAT, reply comment and the conflict mark
    (and the SCHEDULE-STATUS a server sets when it delivers their reply)."""
    people = tuple(Attendee(a.email, "*" if a.email == OWNER else a.partstat, a.name) for a in o.attendees)
    return replace(o, attendees=people, categories=tuple(c for c in o.categories if c != ical.CONFLICT_CATEGORY),
                   comment="", schedule_status="")


def owner_partstat(o: Occurrence) -> str | None:
    return next((a.partstat for a in o.attendees if a.email == OWNER), None)


# --- what the outbox holds ---------------------------------------------------------------------

_ENTRY = re.compile(r'^  "(.*)"  (.*)$')
#: a notice's sections; "DECLINED ON YOUR CALENDAR ONLY" holds the declines whose organizer was not told (yet)
UNTOLD = "DECLINED ON YOUR CALENDAR ONLY"
_SECTIONS = ("DECLINED", UNTOLD, "FLAGGED", "ALLOWED", "NOTED")


def outbox_messages(state: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((state / "outbox").rglob("bd.*")) if p.is_file() and p.parent.name != "tmp"]


def reported(data: bytes) -> tuple[str, list[tuple[str, ...]]]:
    """("reply", [(uid, recurrence-id, start, end)]) or ("notice", [(section, title, when, block)])."""
    msg = message_from_bytes(data, policy=policy.default)
    for part in msg.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            ev: Any = next(iter(icalendar.Calendar.from_ical(payload).walk("VEVENT")))
            rid = ev.get("RECURRENCE-ID")
            when = (rid.dt.isoformat() if rid else "", ev["DTSTART"].dt.isoformat(), ev["DTEND"].dt.isoformat())
            return "reply", [(str(ev["UID"]), *when)]
    body = msg.get_body(("plain",))
    assert body is not None
    out: list[tuple[str, ...]] = []
    section, entry = "", None
    for line in body.get_content().splitlines():
        if line in _SECTIONS:
            section = line
        elif m := _ENTRY.match(line):
            entry = (section, m.group(1), m.group(2))
        elif line.startswith("    block:") and entry is not None:
            out.append((*entry, line.split(":", 1)[1].strip()))
            entry = None
    return "notice", out
