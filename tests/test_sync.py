"""`boundaryd sync` end to end on the iCalendar backend, through the real command."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from clirun import NOW, OWNER, calendar_of, invite, make_env

TZ = ZoneInfo("America/Toronto")


def at(day: int, hh: int, mm: int = 0) -> datetime:
    """Day 0 is Monday 2026-11-23."""
    return datetime.combine(date(2026, 11, 23) + timedelta(days=day), time(hh, mm), TZ)


@pytest.fixture
def env(tmp_path: Path):
    e = make_env(tmp_path)
    e.calendar.write_bytes(
        calendar_of(
            invite("single@t", "Listing review", at(1, 9)),  # Tue 09:00 on prospecting → decline
            # Wednesdays on prospecting, Saturdays free: not a standing conflict, declined one by one
            invite("series@t", "Weekly sync", at(2, 10), 30, rrule={"FREQ": ["WEEKLY"], "BYDAY": ["WE", "SA"], "COUNT": ["12"]}),
            invite("vip@t", "VIP review", at(3, 9), organizer="ceo@bigclient.com"),  # allow
            invite("call@t", "Quick call", at(0, 11, 30), 30),  # call-return → flag
            invite("lunch@t", "Lunch", at(0, 12, 15), 45),  # no block
            invite("mine@t", "Dentist", at(4, 9), organizer=None),  # own event → flag
            invite("acc@t", "Accepted one", at(4, 10), partstat="ACCEPTED"),  # accepted → flag
            invite("sun@t", "Open house", at(6, 11), 120),  # Sunday → decline
        )
    )
    return e


def events_by_uid(path: Path) -> dict[str, list[icalendar.Event]]:
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    out: dict[str, list[icalendar.Event]] = {}
    for c in cal.walk("VEVENT"):
        out.setdefault(str(c["UID"]), []).append(c)
    return out


def owner_partstat(ev: icalendar.Event) -> str:
    atts = ev.get("ATTENDEE")
    atts = atts if isinstance(atts, list) else [atts]
    return next(str(a.params.get("PARTSTAT")) for a in atts if OWNER in str(a).lower())


def outbox_files(state: Path) -> list[Path]:
    return sorted(p for p in (state / "outbox").rglob("bd.*") if p.is_file() and p.parent.name != "tmp")


def test_plan_changes_nothing(env) -> None:
    before = env.calendar.read_bytes()
    p = env.run("plan", "--now", NOW, "--json")
    data = json.loads(p.stdout)
    assert set(data) >= {"now", "window", "blocks", "calendar_changes", "conflicts", "notices", "skipped"}
    assert data["now"] == NOW
    assert env.calendar.read_bytes() == before
    assert not outbox_files(env.state)
    decisions = {(c["event"], c["recurrence_id"]): c["decision"] for c in data["conflicts"]}
    assert decisions[("single@t", None)] == "decline"
    assert decisions[("vip@t", None)] == "allow"
    assert decisions[("call@t", None)] == "flag"
    assert decisions[("mine@t", None)] == "flag"
    assert decisions[("acc@t", None)] == "flag"
    assert decisions[("sun@t", None)] == "decline"
    assert decisions[("series@t", "2026-11-25T10:00:00-05:00")] == "decline"
    assert ("lunch@t", None) not in decisions
    starts = [c["start"] for c in data["conflicts"]]
    assert starts == sorted(starts)
    single = next(c for c in data["conflicts"] if c["event"] == "single@t")
    assert single["block"] == "prospecting" and single["blocks"] == ["prospecting"]
    assert len(single["alternatives"]) == 2
    assert "could we meet on" in single["message"]
    assert {c["op"] for c in data["calendar_changes"]} == {"create"}
    assert data["notices"] and data["notices"][0]["to"] == OWNER


def test_sync_writes_blocks_declines_and_flags(env) -> None:
    env.run("sync", "--now", NOW)
    evs = events_by_uid(env.calendar)
    owned = {u: e[0] for u, e in evs.items() if e[0].get("X-BOUNDARYD-BLOCK") and "X-BOUNDARYD-HOLD" not in e[0]}
    assert {str(e["X-BOUNDARYD-BLOCK"]) for e in owned.values()} == {"prospecting", "call-return", "sunday"}
    assert len(owned) == 4  # call-return has two daily times (held offers: tests/test_holds.py)
    p = owned["prospecting-0830@boundaryd"]
    assert p["DTSTART"].params["TZID"] == "America/Toronto"
    assert p["RRULE"]["FREQ"] == ["WEEKLY"] and p["RRULE"]["BYDAY"] == ["MO", "TU", "WE", "TH", "FR"]
    assert str(p["TRANSP"]) == "OPAQUE" and str(p["CLASS"]) == "PRIVATE"
    exdates = [d.dt for x in (p["EXDATE"] if isinstance(p["EXDATE"], list) else [p["EXDATE"]]) for d in x.dts]
    assert datetime(2026, 12, 24, 8, 30, tzinfo=TZ) in exdates
    cal = icalendar.Calendar.from_ical(env.calendar.read_bytes())
    assert any(tz["TZID"] == "America/Toronto" for tz in cal.walk("VTIMEZONE"))

    # a single invitation: the owner's PARTSTAT, with the message as the comment, SEQUENCE untouched
    single = evs["single@t"][0]
    assert owner_partstat(single) == "DECLINED"
    assert "could we meet" in str(single["COMMENT"])
    assert int(single["SEQUENCE"]) == 2
    # a series: one override per instance in the window; the series itself untouched
    series = evs["series@t"]
    master = next(e for e in series if e.get("RECURRENCE-ID") is None)
    assert owner_partstat(master) == "NEEDS-ACTION" and master.get("COMMENT") is None
    overrides = sorted(e["RECURRENCE-ID"].dt for e in series if e.get("RECURRENCE-ID") is not None)
    assert overrides == [at(2, 10), at(9, 10)]
    for e in series:
        if e.get("RECURRENCE-ID") is not None:
            assert owner_partstat(e) == "DECLINED" and int(e["SEQUENCE"]) == 2
    # flags
    assert "Conflict" in str(evs["call@t"][0]["CATEGORIES"].to_ical())
    assert evs["lunch@t"][0].get("CATEGORIES") is None
    assert owner_partstat(evs["vip@t"][0]) == "NEEDS-ACTION"

    # the written calendar, expanded independently, shows the series declined on those days only
    insts = [i for i in recurring_ical_events.of(cal).between(at(0, 0), at(14, 0)) if str(i["UID"]) == "series@t"]
    states = sorted((i["DTSTART"].dt, owner_partstat(i)) for i in insts if i["DTSTART"].dt.weekday() == 2)
    assert states == [(at(2, 10), "DECLINED"), (at(9, 10), "DECLINED")]
    assert {owner_partstat(i) for i in insts if i["DTSTART"].dt.weekday() == 5} == {"NEEDS-ACTION"}  # Saturdays


def test_second_sync_writes_nothing(env) -> None:
    env.run("sync", "--now", NOW)
    data = env.calendar.read_bytes()
    mtime = env.calendar.stat().st_mtime_ns
    mail = [(p.name, p.stat().st_mtime_ns) for p in outbox_files(env.state)]
    out = json.loads(env.run("sync", "--now", NOW, "--json").stdout)
    assert out["calendar_changes"] == [] and out["notices"] == []
    assert env.calendar.read_bytes() == data
    assert env.calendar.stat().st_mtime_ns == mtime
    assert [(p.name, p.stat().st_mtime_ns) for p in outbox_files(env.state)] == mail


def test_foreign_events_keep_their_content(env) -> None:
    before = events_by_uid(env.calendar)
    env.run("sync", "--now", NOW)
    after = events_by_uid(env.calendar)
    for uid in ("lunch@t", "vip@t"):
        assert [e.to_ical() for e in after[uid]] == [e.to_ical() for e in before[uid]]
    master_before = before["series@t"][0]
    master_after = next(e for e in after["series@t"] if e.get("RECURRENCE-ID") is None)
    assert master_after.to_ical() == master_before.to_ical()


def test_outbox_holds_one_notice_and_one_reply_per_decline(env) -> None:
    env.run("sync", "--now", NOW)
    msgs = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in outbox_files(env.state)]
    notices = [m for m in msgs if m["To"].addresses[0].addr_spec == OWNER]
    replies = [m for m in msgs if m["To"].addresses[0].addr_spec != OWNER]
    assert len(notices) == 1
    assert "4 declined" in notices[0]["Subject"] and "3 flagged" in notices[0]["Subject"]
    assert len(replies) == 4  # single, two series instances, Sunday
    for r in replies:
        assert r["To"].addresses[0].addr_spec == "bob@client.example"
        assert r["From"].addresses[0].addr_spec == OWNER
        part = next(p for p in r.walk() if p.get_content_type() == "text/calendar")
        assert part.get_param("method") == "REPLY"
        cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
        assert str(cal["METHOD"]) == "REPLY"
        ev = next(iter(cal.walk("VEVENT")))
        att = ev["ATTENDEE"]
        assert not isinstance(att, list) and OWNER in str(att).lower() and att.params["PARTSTAT"] == "DECLINED"
    listing = env.run("notices").stdout
    assert "4 declined" in listing


def test_block_changes_update_and_delete(env) -> None:
    env.run("sync", "--now", NOW)
    text = env.rules.read_text()
    env.rules.write_text(text.replace("title: Prospecting calls", "title: Prospecting").replace(
        """  - id: sunday
    title: Day off
    kind: day-off
    days: [sun]
    all_day: true
    policy: decline
""", ""))
    out = json.loads(env.run("sync", "--now", NOW, "--json").stdout)
    ops = sorted((c["op"], c["block"]) for c in out["calendar_changes"])
    assert ops == [("delete", "sunday"), ("update", "prospecting")]
    evs = events_by_uid(env.calendar)
    assert "sunday-allday@boundaryd" not in evs
    assert str(evs["prospecting-0830@boundaryd"][0]["SUMMARY"]) == "Prospecting"
    again = json.loads(env.run("sync", "--now", NOW, "--json").stdout)
    assert again["calendar_changes"] == []


def test_allow_command_lets_an_event_through(env) -> None:
    env.run("allow", "single@t", "--now", NOW)
    out = json.loads(env.run("plan", "--now", NOW, "--json").stdout)
    c = next(c for c in out["conflicts"] if c["event"] == "single@t")
    assert c["decision"] == "allow" and "boundaryd allow" in c["reason"]
    why = env.run("why", "single@t", "--now", NOW).stdout
    assert "allow" in why and "Prospecting calls" in why


def test_why_explains_rule_by_rule(env) -> None:
    out = env.run("why", "series@t", "--now", NOW).stdout
    assert "Wed Nov 25" in out and "decline" in out and "policy decline" in out
    assert "no event on the calendar" in env.run("why", "nope@t", "--now", NOW, check=2).stderr
    env.run("sync", "--now", NOW)  # after the sync, why still says what was decided, and why
    after = env.run("why", "series@t", "--now", NOW).stdout
    assert "declined by boundaryd on" in after and "policy decline" in after


def test_missing_calendar_file_is_created_on_first_sync(tmp_path: Path) -> None:
    e = make_env(tmp_path)
    e.write_rules(text=e.rules.read_text().replace(f"calendar:\n  ics: {{path: {e.calendar}}}\n", ""))
    e.run("sync", "--now", NOW)
    assert (e.state / "calendar.ics").exists()
    assert not e.calendar.exists()
