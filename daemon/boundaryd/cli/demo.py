"""``boundaryd demo``: a believable week for Alice, a real-estate agent, run through one real sync."""

from __future__ import annotations

import shutil
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import click
import icalendar

from boundaryd.cli.demo_week import highlights
from boundaryd.core.ical import new_calendar
from boundaryd.core.model import Decision
from boundaryd.core.rules import schema_text
from boundaryd.engine.app import App
from boundaryd.fsutil import write_atomic
from boundaryd.presentation.render import plan_summary, week_table

TZ = "America/Toronto"
OWNER = "alice@example.com"

RULES = """\
# yaml-language-server: $schema=schema.json
# boundaryd demo rules: edit me and run `boundaryd --rules {rules} --state {state} sync` again.
version: 1
timezone: {tz}
owner:
  name: Alice Agent
  emails: [{owner}]
horizon_days: 14
working_hours: {{days: weekdays, start: "08:00", end: "18:00"}}
calendar:
  ics: {{path: {calendar}}}
notify:
  email: {{to: {owner}, from: boundaryd@example.com}}
  replies: auto
defaults:
  policy: flag
  decline_existing: true   # the demo's meetings stand for invitations that arrive after the blocks
  message: "Thanks for the invitation. I'm not available then; could we meet {{alternatives}}?"
  hold_offers: 48h         # the slots a decline offers are held for the organizer this long
leads:                     # an organizer Alice has never met is a new lead: through prospecting, and she is told at once
  new_contacts: true
  pass: [prospecting, follow-up]
blocks:
  - id: workout
    title: Workout
    kind: workout
    days: [mon, wed, fri]
    start: "06:30"
    duration: 1h
    policy: decline
    private: true
    flexible: {{start: "06:00", end: "10:00"}}   # a meeting let through moves the workout, it does not cancel it
  - id: prospecting
    title: Prospecting calls
    kind: prospecting
    days: weekdays
    start: "08:30"
    end: "11:00"
    policy: decline
    allow:
      people: ["*@bigclient.com"]
      keywords: [urgent]
    weekly_target: 12h30m  # time a VIP or a lead takes is made up the same week
    makeup: {{days: weekdays, start: "08:00", end: "18:00"}}
  - id: call-return
    title: Return calls
    kind: call-return
    days: weekdays
    times: ["11:30", "16:30"]
    duration: 30m
    policy: flag
  - id: emergency
    title: Emergency buffer
    kind: buffer
    days: weekdays
    start: "13:00"
    duration: 1h
    policy: flag
  - id: follow-up
    title: Lead follow-up
    kind: follow-up
    days: [tue, thu]
    start: "14:00"
    duration: 1h30m
    policy: decline
    message: "Thanks! That slot is taken; could we meet {{alternatives}}? I also return calls at {{next_call_return}}."
  - id: family
    title: Family evening
    kind: family
    days: weekdays
    start: "18:00"
    end: "21:00"
    policy: decline
    private: true
  - id: sunday
    title: Day off
    kind: day-off
    days: [sun]
    all_day: true
    policy: decline
"""


def _invite(
    uid: str,
    summary: str,
    start: datetime,
    minutes: int,
    organizer: tuple[str, str] | None,
    partstat: str = "NEEDS-ACTION",
    rrule: dict[str, list[str]] | None = None,
    description: str = "",
    guests: tuple[tuple[str, str], ...] = (),
) -> icalendar.Event:
    ev = icalendar.Event()
    ev.add("UID", f"{uid}@demo.boundaryd")
    ev.add("DTSTAMP", datetime(2026, 1, 1, tzinfo=start.tzinfo))
    ev.add("SUMMARY", summary)
    ev.add("DTSTART", start)
    ev.add("DTEND", start + timedelta(minutes=minutes))
    if description:
        ev.add("DESCRIPTION", description)
    if rrule:
        ev.add("RRULE", rrule)
    if organizer:
        org = icalendar.vCalAddress(f"mailto:{organizer[1]}")
        org.params["CN"] = organizer[0]
        ev.add("ORGANIZER", org)
        for name, mail, ps in ((organizer[0], organizer[1], "ACCEPTED"), ("Alice Agent", OWNER, partstat)):
            a = icalendar.vCalAddress(f"mailto:{mail}")
            a.params.update({"CN": name, "PARTSTAT": ps, "ROLE": "REQ-PARTICIPANT"})
            if ps == "NEEDS-ACTION":
                a.params["RSVP"] = "TRUE"
            ev.add("ATTENDEE", a)
    for name, mail in guests:
        a = icalendar.vCalAddress(f"mailto:{mail}")
        a.params.update({"CN": name, "PARTSTAT": "ACCEPTED", "ROLE": "REQ-PARTICIPANT"})
        ev.add("ATTENDEE", a)
    return ev


#: the people at last month's breakfast: Alice has met them, so they are not new leads
KNOWN = (
    ("Dana Buyer", "dana@clientmail.com"),
    ("Broker Office", "office@brokerage.example"),
    ("Sam Seller", "sam@homes.example"),
    ("Pat Director", "pat@bigclient.com"),
    ("Lee Prospect", "lee@prospect.example"),
    ("Robin Seller", "robin@homes.example"),
    ("Kim Stager", "kim@staging.example"),
    ("Jordan Partner", "jordan@partner.example"),
)


def demo_calendar(now: datetime) -> icalendar.Calendar:
    """A week of invitations from tomorrow's next Monday: the situations boundaryd is for."""
    tz = now.tzinfo
    monday = _demo_monday(now)

    def at(day: int, hh: int, mm: int = 0) -> datetime:
        return datetime.combine(monday + timedelta(days=day), time(hh, mm), tz)

    cal = new_calendar()
    cal.add("X-WR-CALNAME", "Alice (boundaryd demo)")
    for ev in (
        _invite("listing-review", "Listing review", at(0, 9), 60, ("Dana Buyer", "dana@clientmail.com")),
        _invite(
            "team-sync", "Weekly brokerage sync", at(1, 10), 45, ("Broker Office", "office@brokerage.example"),
            rrule={"FREQ": ["WEEKLY"], "COUNT": ["8"]},
        ),
        _invite(
            "offer", "URGENT: counter-offer walkthrough", at(2, 9, 30), 30, ("Sam Seller", "sam@homes.example"),
            description="The buyer's offer expires at noon.",
        ),
        _invite("vip", "Quarterly portfolio review", at(3, 8, 45), 60, ("Pat Director", "pat@bigclient.com")),
        _invite("dinner", "Dinner with a prospect", at(0, 18, 30), 90, ("Lee Prospect", "lee@prospect.example")),
        _invite("open-house", "Open house prep", at(6, 11), 120, ("Robin Seller", "robin@homes.example")),
        _invite("quick-call", "Quick call about staging", at(4, 11, 30), 30, ("Kim Stager", "kim@staging.example")),
        _invite("dentist", "Dentist", at(2, 7), 45, None),
        _invite(
            "closing", "Closing at the notary", at(3, 14, 30), 60, ("Notary Office", "desk@notary.example"),
            partstat="ACCEPTED",
        ),
        _invite("lunch", "Lunch with Jordan", at(1, 12), 60, ("Jordan Partner", "jordan@partner.example")),
        _invite(  # someone Alice has never met: a new lead
            "new-lead", "Intro: thinking of selling my condo", at(1, 9), 45, ("Casey Newman", "casey@newmail.example"),
        ),
        # the past: whom Alice already knows (everyone else above)
        _invite(
            "breakfast", "Client appreciation breakfast", at(-10, 8), 90, ("Alice Agent", OWNER), partstat="ACCEPTED",
            guests=KNOWN,
        ),
    ):
        cal.add_component(ev)
    cal.add_missing_timezones()
    return cal


def _demo_monday(now: datetime) -> date:
    """The week the demo fills: the Monday after today."""
    d0 = now.date() + timedelta(days=1)
    return d0 + timedelta(days=(7 - d0.weekday()) % 7)


def _week_span(monday: date, now: datetime) -> tuple[datetime, datetime]:
    start = datetime.combine(monday, time(0), now.tzinfo)
    return start, datetime.combine(monday + timedelta(days=7), time(0), now.tzinfo)


def _command() -> str:
    """How the user can run boundaryd again: plain if it is on PATH, else the path they used."""
    argv0 = Path(sys.argv[0])
    found = shutil.which("boundaryd")
    if found and argv0.name == "boundaryd" and Path(found).resolve() == argv0.resolve():
        return "boundaryd"
    if argv0.name == "boundaryd":
        return _short(argv0)
    return f"{_short(Path(sys.executable))} -m boundaryd"


def _short(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def run_demo(directory: Path, now: datetime | None) -> None:
    directory = directory.expanduser().resolve()
    state = directory / "state"
    rules_path = directory / "rules.yaml"
    cal_path = directory / "calendar.ics"
    from zoneinfo import ZoneInfo

    t = (now or datetime.now(ZoneInfo(TZ))).astimezone(ZoneInfo(TZ))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "schema.json").write_text(schema_text(), encoding="utf-8")  # editors check the file
    rules_path.write_text(RULES.format(tz=TZ, owner=OWNER, calendar=cal_path, rules=rules_path, state=state), encoding="utf-8")
    write_atomic(cal_path, demo_calendar(t).to_ical(), mode=0o644)
    if state.exists():  # a demo starts afresh each time
        shutil.rmtree(state)

    app = App(rules_path, state)
    rules = app.load_rules()
    result = app.sync(rules, t)
    plan = result.plan
    week_start = _demo_monday(t)
    outbox = state / "outbox"

    def head(text: str) -> None:
        click.echo("")
        click.secho(text, bold=True)

    click.secho("boundaryd demo: Alice, a real-estate agent, and a week of invitations", bold=True)
    click.echo(f"Calendar: {_short(cal_path)}  (an iCalendar file: open it in any calendar app)")
    click.echo(f"Rules:    {_short(rules_path)}  (edit it, then run sync again)")
    click.echo(f"Outbox:   {_short(outbox)}  (a Maildir: the mail waits here, nothing is sent)")
    click.echo("Each run of the demo writes all three afresh.")
    click.echo(week_table(plan.blocks, week_start, 7).splitlines()[-1])  # the week's protected hours
    head("What one sync did")
    click.echo(plan_summary(plan, executed=True))
    head("Keeping the week")
    for line in highlights(plan, rules, result.queued, demo_calendar(t), _week_span(week_start, t)):
        click.echo(line)
    head("Mail")
    notices = sum(1 for s in result.queued if s.startswith("boundaryd"))
    click.echo(
        f"{notices} notice(s) to Alice and {len(result.queued) - notices} iCalendar REPLY(s) to declined organizers"
        f" in {_short(outbox)}"
    )
    if plan.declines:
        click.echo(f'A decline says: "{plan.declines[0].message}"')
    head("Try next")
    base = f"{_command()} --rules {_short(rules_path)} --state {_short(state)}"
    first = next((c for c in plan.conflicts if c.decision is Decision.ALLOW), None)
    if first is not None:
        click.echo(f"  {base} why {first.occurrence.uid}")
    click.echo(f"  {base} sync        # again: nothing new, nothing written")
    click.echo(f"  {base} notices")
    click.echo(f"  {base} report --week {week_start.isoformat()} --html ledger.html")
    head("Her week's ledger")
    click.echo(demo_ledger(app, rules, week_start, t), nl=False)


def demo_ledger(app: App, rules: Any, monday: date, now: datetime) -> str:
    """The demo week's boundary ledger, short: what the sync just recorded."""
    from boundaryd.engine.journal_ledger import ledger_of
    from boundaryd.presentation.report import report_text

    seen = app.plan(rules, now)  # the calendar as the sync left it: its make-up events count
    return report_text(rules, ledger_of(app.journal, rules, monday, now, seen), brief=True)

