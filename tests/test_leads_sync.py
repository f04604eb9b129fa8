"""Leads and keyword limits through whole syncs: the real command on an iCalendar file, and the
journal's record of who the owner has met (engine/journal_contacts.py) on a memory calendar."""

from __future__ import annotations

import email
import email.policy
import json
import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import icalendar

from boundaryd.calendars.memory import MemoryBackend, MemoryCalendar
from boundaryd.core.model import Snapshot
from boundaryd.engine import journal_contacts
from boundaryd.engine.journal import Journal
from clirun import NOW, Env, calendar_of, invite, make_env
from conftest import TORONTO, make_rules

MON = datetime(2026, 11, 23, tzinfo=TORONTO)


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return MON + timedelta(days=day, hours=hh, minutes=mm)


def iso(t: datetime) -> str:
    return t.isoformat()


def env_with(tmp_path: Path, *events: icalendar.Event, leads: str = "", limit: str = "", digest: str = "") -> Env:
    e = make_env(tmp_path)
    text = e.rules.read_text()
    if digest:
        text = text.replace("  replies: auto\n", f"  replies: auto\n  digest: {digest}\n")
    if limit:
        text = text.replace("defaults: {decline_existing: true}", f"defaults: {{decline_existing: true, keyword_limit_per_week: {limit}}}")
    e.rules.write_text(text + leads)
    e.calendar.write_bytes(calendar_of(*events))
    return e


def add(e: Env, *events: icalendar.Event) -> None:
    """Another client adds invitations to the file."""
    cal = icalendar.Calendar.from_ical(e.calendar.read_bytes())
    for ev in events:
        cal.add_component(ev)
    before = e.calendar.stat().st_mtime_ns
    e.calendar.write_bytes(cal.to_ical())
    os.utime(e.calendar, ns=(before + 10**9, before + 10**9))


def notices(e: Env) -> list[email.message.EmailMessage]:
    out = []
    for sub in ("new", "cur"):
        for f in sorted((e.state / "outbox" / sub).glob("*")):
            m = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            if str(m["Subject"]).startswith("boundaryd:"):
                out.append(m)  # type: ignore[arg-type]
    return out


def sync(e: Env, now: str = NOW) -> dict[str, dict[str, str]]:
    out = json.loads(e.run("sync", "--now", now, "--json").stdout)
    return {c["event"]: c for c in out["conflicts"]}


def dana(uid: str, start: datetime) -> icalendar.Event:
    ev = invite(uid, "Dana intro", start, organizer="dana@new.example")
    ev["ORGANIZER"].params["CN"] = "Dana Lead"
    return ev


def test_a_new_lead_is_let_through_told_at_once_and_known_after_the_first_meeting(tmp_path: Path) -> None:
    met = invite("met@x", "Past call", at(-10, 9), organizer="carl@known.example", partstat="ACCEPTED")
    carl = invite("carl@x", "Carl again", at(1, 9), organizer="carl@known.example")
    e = env_with(tmp_path, met, carl, dana("dana1@x", at(0, 9)), leads="leads: {}\n", digest="daily 18:00")
    got = sync(e)
    assert got["carl@x"]["decision"] == "decline"  # met ten days ago: not a lead
    assert got["dana1@x"]["decision"] == "allow"
    assert got["dana1@x"]["reason"].startswith("new lead (no meeting with dana@new.example in the last 365 days)")
    told = notices(e)  # the decline waits for the daily digest; the lead does not
    assert [str(m["Subject"]) for m in told] == [
        "boundaryd: New lead Dana Lead (dana@new.example) asked for Mon, Nov 23, 9:00 AM;"
        " your next call-return slot is 11:30 AM."
    ]
    assert "New lead Dana Lead" in told[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]

    why = e.run("why", "dana1@x", "--now", NOW).stdout
    assert "new lead: no meeting with dana@new.example" in why and "the owner is told at once: New lead Dana Lead" in why

    journal = e.state / "journal.sqlite3"
    before = (journal.stat().st_mtime_ns, journal.read_bytes(), e.calendar.read_bytes())
    sync(e)  # nothing new: nothing written, nobody told twice
    assert (journal.stat().st_mtime_ns, journal.read_bytes(), e.calendar.read_bytes()) == before
    assert len(notices(e)) == 1

    # Dana's first meeting began at 9:00; at 10:00 her next invitation is decided like anyone's
    add(e, dana("dana2@x", at(3, 9)))
    later = sync(e, iso(at(0, 10)))
    assert later["dana2@x"]["decision"] == "decline"
    assert later["dana2@x"]["reason"] == "lands on Prospecting calls (policy decline)"
    assert len(notices(e)) == 1


def test_keyword_limit_over_a_week(tmp_path: Path) -> None:
    def urgent(uid: str, start: datetime) -> icalendar.Event:
        return invite(uid, "URGENT: offer", start)

    e = env_with(tmp_path, urgent("u1@x", at(1, 9)), urgent("u2@x", at(2, 9)), limit="2")
    got = sync(e)
    assert [got[u]["decision"] for u in ("u1@x", "u2@x")] == ["allow", "allow"]
    sync(e)  # the same occurrences count once
    db = sqlite3.connect(e.state / "journal.sqlite3")
    assert db.execute("SELECT person, uid FROM keyword_uses ORDER BY uid").fetchall() == [
        ("bob@client.example", "u1@x"), ("bob@client.example", "u2@x")
    ]

    add(e, urgent("u3@x", at(3, 9)))  # Wednesday: a third in a week
    wed = sync(e, iso(at(2, 7)))
    assert wed["u2@x"]["decision"] == "allow"  # counted before: still open
    assert wed["u3@x"]["decision"] == "flag"
    assert "(keyword_limit_per_week 2): the keyword no longer opens the block" in wed["u3@x"]["reason"]
    text = notices(e)[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "already had 2 keyword exceptions in the last 7 days" in " ".join(text.split())

    add(e, urgent("u4@x", at(9, 9)))  # eight days after the first two: the week has passed
    assert sync(e, iso(at(8, 7)))["u4@x"]["decision"] == "allow"
    assert db.execute("SELECT count(*) FROM keyword_uses").fetchone() == (3,)


def test_who_the_owner_met_is_read_once_then_followed_cycle_by_cycle(tmp_path: Path) -> None:
    rules = make_rules('- {id: p, kind: prospecting, days: weekdays, start: "08:30", end: "11:00", policy: decline}',
                       extra="leads: {lookback_days: 30}\n")
    store = MemoryCalendar("leads-journal")
    store.put("old@x", calendar_of(invite("old@x", "Old", at(-40, 9), organizer="ole@x.example")))
    store.put("met@x", calendar_of(invite("met@x", "Met", at(-5, 9), organizer="carl@x.example")))
    store.put("soon@x", calendar_of(invite("soon@x", "Soon", at(0, 9), organizer="dana@x.example")))
    store.put("yes@x", calendar_of(invite("yes@x", "Yes", at(4, 9), organizer="erin@x.example", partstat="ACCEPTED")))
    journal = Journal(tmp_path / "journal.sqlite3")

    def known(now: datetime) -> frozenset[str] | None:
        backend = MemoryBackend(store, journal)
        snap: Snapshot = backend.snapshot(now, now + timedelta(days=14), TORONTO)
        return journal_contacts.known(rules, snap, now, backend, journal)

    now = at(0, 7)
    assert known(now) == {"carl@x.example", "erin@x.example"}  # Ole is too long ago; Dana's is pending
    assert store.history_reads == 1
    writes = journal.db.total_changes
    assert known(now) == {"carl@x.example", "erin@x.example"}
    assert (store.history_reads, journal.db.total_changes) == (1, writes)  # read once, nothing new written
    assert known(at(0, 10)) == {"carl@x.example", "dana@x.example", "erin@x.example"}  # her meeting began
    assert store.history_reads == 1
    store.remove("yes@x")  # the accepted meeting is gone again
    assert known(at(0, 11)) == {"carl@x.example", "dana@x.example"}
    assert known(at(2, 11)) == {"carl@x.example", "dana@x.example"} and store.history_reads == 2  # a day on: caught up
    longer = rules.model_copy(update={"leads": rules.leads.model_copy(update={"lookback_days": 60})})  # type: ignore[union-attr]
    backend = MemoryBackend(store, journal)
    snap = backend.snapshot(at(2, 11), at(16, 11), TORONTO)
    assert "ole@x.example" in (journal_contacts.known(longer, snap, at(2, 11), backend, journal) or ())
    assert store.history_reads == 3  # the lookback grew: its new part read
