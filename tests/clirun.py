"""Running the real ``boundaryd`` command in tests, and building rules and calendars for it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import icalendar

NOW = "2026-11-23T07:00:00-05:00"  # a Monday morning in Toronto
OWNER = "alice@example.com"

BLOCKS = """\
  - id: prospecting
    title: Prospecting calls
    kind: prospecting
    days: weekdays
    start: "08:30"
    end: "11:00"
    policy: decline
    allow: {people: ["*@bigclient.com"], keywords: [urgent]}
  - id: call-return
    title: Return calls
    kind: call-return
    days: weekdays
    times: ["11:30", "16:30"]
    duration: 30m
    policy: flag
"""
SUNDAY = """\
  - id: sunday
    title: Day off
    kind: day-off
    days: [sun]
    all_day: true
    policy: decline
"""
RULES = (
    """\
version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [{owner}]}}
horizon_days: 14
working_hours: {{days: weekdays, start: "08:00", end: "18:00"}}
calendar:
  ics: {{path: {calendar}}}
notify:
  email: {{to: {owner}, from: boundaryd@example.com{smtp}}}
  replies: {replies}
blocks:
"""
    + (BLOCKS + SUNDAY).replace("{", "{{").replace("}", "}}")
    + """skip:
  - {{date: 2026-12-24, blocks: [prospecting]}}
defaults: {{decline_existing: {existing}}}
"""
)


@dataclass
class Env:
    root: Path
    rules: Path
    state: Path
    calendar: Path

    def run(self, *args: str, check: int | None = 0, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "boundaryd", "--rules", str(self.rules), "--state", str(self.state), *args]
        full = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
        full.pop("NOTIFY_SOCKET", None)
        p = subprocess.run(cmd, capture_output=True, text=True, env=full, timeout=120, check=False)
        if check is not None and p.returncode != check:
            raise AssertionError(f"{cmd} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p

    def write_rules(self, smtp: str = "", replies: str = "auto", text: str | None = None, existing: bool = True) -> None:
        """``existing``: decline meetings already on the calendar at the first sync (most tests' meetings
        stand for invitations that arrive after the blocks; the first-run tests say False)."""
        body = text if text is not None else RULES.format(
            owner=OWNER, calendar=self.calendar, smtp=smtp, replies=replies, existing=str(existing).lower()
        )
        self.rules.write_text(textwrap.dedent(body), encoding="utf-8")


def make_env(tmp_path: Path, smtp: str = "", replies: str = "auto", existing: bool = True) -> Env:
    tmp_path.mkdir(parents=True, exist_ok=True)
    e = Env(tmp_path, tmp_path / "rules.yaml", tmp_path / "state", tmp_path / "calendar.ics")
    e.write_rules(smtp=smtp, replies=replies, existing=existing)
    return e


def invite(
    uid: str,
    summary: str,
    start: datetime,
    minutes: int = 60,
    organizer: str | None = "bob@client.example",
    partstat: str = "NEEDS-ACTION",
    rrule: dict[str, list[str]] | None = None,
    owner: str = OWNER,
    **props: str,
) -> icalendar.Event:
    ev = icalendar.Event()
    ev.add("UID", uid)
    ev.add("DTSTAMP", datetime(2026, 11, 1, 12, 0, tzinfo=start.tzinfo))
    ev.add("SUMMARY", summary)
    ev.add("DTSTART", start)
    ev.add("DTEND", start + timedelta(minutes=minutes))
    ev.add("SEQUENCE", 2)
    if rrule:
        ev.add("RRULE", rrule)
    if organizer:
        ev.add("ORGANIZER", icalendar.vCalAddress(f"mailto:{organizer}"))
        for mail, ps in ((organizer, "ACCEPTED"), (owner, partstat)):
            a = icalendar.vCalAddress(f"mailto:{mail}")
            a.params["PARTSTAT"] = ps
            ev.add("ATTENDEE", a)
    for k, v in props.items():
        ev.add(k.replace("_", "-"), v)
    return ev


def calendar_of(*events: icalendar.Event) -> bytes:
    cal = icalendar.Calendar()
    cal.add("PRODID", "-//tests//EN")
    cal.add("VERSION", "2.0")
    for e in events:
        cal.add_component(e)
    cal.add_missing_timezones()
    return cal.to_ical()
