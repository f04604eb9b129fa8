"""Safe on a real calendar, end to end with the real command on an ics: calendar.

First run and new blocks (existing meetings flagged, not declined), refs on every conflict, ``allow``
as the undo of boundaryd's own decline, ``decline REF [--series]``, and standing conflicts.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
from pathlib import Path

import icalendar
import pytest

from clirun import NOW, OWNER, calendar_of, invite, make_env
from test_sync import at, events_by_uid, outbox_files, owner_partstat

REF = re.compile(r"^[a-z0-9]{6}$")
LATER = "2026-11-23T08:00:00-05:00"


def plan_json(e, now: str = NOW) -> dict:
    return json.loads(e.run("plan", "--now", now, "--json").stdout)


def conflict(data: dict, uid: str) -> dict:
    return next(c for c in data["conflicts"] if c["event"] == uid)


def add_events(e, *events: icalendar.Event) -> None:
    cal = icalendar.Calendar.from_ical(e.calendar.read_bytes())
    for ev in events:
        cal.add_component(ev)
    e.calendar.write_bytes(cal.to_ical())


def messages(state: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in outbox_files(state)]  # type: ignore[misc]


def replies(state: Path) -> list[email.message.EmailMessage]:
    return [m for m in messages(state) if str(m["To"]).endswith("client.example")]


def calendar_part(m: email.message.EmailMessage) -> icalendar.Event:
    part = next(p for p in m.walk() if p.get_content_type() == "text/calendar")
    return next(iter(icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")))


def notice_texts(state: Path) -> list[str]:
    out = []
    for m in messages(state):
        if str(m["Subject"]).startswith("boundaryd:"):
            body = m.get_body(("plain",))
            assert body is not None
            out.append(body.get_content())
    return out


@pytest.fixture
def fresh(tmp_path: Path):
    """A new user's real week: one invitation already on a decline block, one off any block."""
    e = make_env(tmp_path, existing=False)
    e.calendar.write_bytes(
        calendar_of(
            invite("old@t", "Listing review", at(1, 9)),  # Tue 09:00, on prospecting
            invite("lunch@t", "Lunch", at(0, 12, 15), 45),
        )
    )
    return e


def test_first_sync_flags_what_was_there_and_declines_what_arrives_later(fresh) -> None:
    e = fresh
    data = json.loads(e.run("sync", "--now", NOW, "--json").stdout)
    old = conflict(data, "old@t")
    assert old["decision"] == "flag" and "before" in old["reason"]
    assert owner_partstat(events_by_uid(e.calendar)["old@t"][0]) == "NEEDS-ACTION"
    assert not replies(e.state)  # no organizer hears anything
    (notice,) = notice_texts(e.state)
    assert f"boundaryd decline {old['ref']}" in notice and old["ref"] in notice

    add_events(e, invite("new@t", "Open house prep", at(2, 9)))  # Wed 09:00, arrives after the block
    data = json.loads(e.run("sync", "--now", LATER, "--json").stdout)
    assert conflict(data, "new@t")["decision"] == "decline"
    assert conflict(data, "old@t")["decision"] == "flag"  # still only flagged, the next day too
    evs = events_by_uid(e.calendar)
    assert owner_partstat(evs["new@t"][0]) == "DECLINED"
    assert owner_partstat(evs["old@t"][0]) == "NEEDS-ACTION"
    assert [str(m["Subject"]).split(":")[0] for m in replies(e.state)] == ["Declined"]


def test_decline_existing_true_declines_the_backlog(tmp_path: Path) -> None:
    e = make_env(tmp_path, existing=True)
    e.calendar.write_bytes(calendar_of(invite("old@t", "Listing review", at(1, 9))))
    data = json.loads(e.run("sync", "--now", NOW, "--json").stdout)
    assert conflict(data, "old@t")["decision"] == "decline"


def test_a_changed_block_flags_what_was_on_it_when_it_changed(fresh) -> None:
    e = fresh
    e.run("sync", "--now", NOW)
    # the block now starts at 08:00; an invitation at 08:00 was there when the changed block applied
    add_events(e, invite("early@t", "Breakfast meeting", at(3, 8), 30))
    e.rules.write_text(e.rules.read_text().replace('start: "08:30"', 'start: "08:00"', 1))
    data = json.loads(e.run("sync", "--now", LATER, "--json").stdout)
    assert conflict(data, "early@t")["decision"] == "flag"
    add_events(e, invite("later@t", "Another one", at(4, 8), 30))
    data = json.loads(e.run("sync", "--now", "2026-11-23T09:00:00-05:00", "--json").stdout)
    assert conflict(data, "later@t")["decision"] == "decline"


def test_decline_ref_declines_a_flagged_meeting_with_alternatives(fresh) -> None:
    e = fresh
    ref = conflict(json.loads(e.run("sync", "--now", NOW, "--json").stdout), "old@t")["ref"]
    out = e.run("decline", ref, "--now", NOW).stdout
    assert "next sync declines it" in out
    data = json.loads(e.run("sync", "--now", NOW, "--json").stdout)
    c = conflict(data, "old@t")
    assert c["decision"] == "decline" and c["alternatives"] and c["ref"] == ref
    assert owner_partstat(events_by_uid(e.calendar)["old@t"][0]) == "DECLINED"
    (reply,) = replies(e.state)
    assert str(reply["Subject"]).startswith("Declined: Listing review")


def test_refs_are_stable_unique_and_everywhere(fresh) -> None:
    e = fresh
    add_events(e, invite("call@t", "Quick call", at(0, 11, 30), 30))
    planned = plan_json(e)
    refs = {c["event"]: c["ref"] for c in planned["conflicts"]}
    assert all(REF.match(r) for r in refs.values()) and len(set(refs.values())) == len(refs)
    synced = json.loads(e.run("sync", "--now", NOW, "--json").stdout)
    assert {c["event"]: c["ref"] for c in synced["conflicts"]} == refs
    assert plan_json(e, LATER)["conflicts"][0]["ref"] in refs.values()
    why = e.run("why", refs["old@t"], "--now", NOW).stdout
    assert "(old@t)" in why and f"ref {refs['old@t']}" in why and f"boundaryd decline {refs['old@t']}" in why
    listing = e.run("notices").stdout
    assert refs["old@t"] in listing and f"boundaryd decline {refs['old@t']}" in listing


@pytest.mark.parametrize("command", ["why", "allow", "decline"])
def test_an_event_that_matches_nothing_exits_2(fresh, command: str) -> None:
    e = fresh
    e.run("sync", "--now", NOW)
    for event in ("zzzzzz", "no-such-uid@t"):
        p = e.run(command, event, "--now", NOW, check=2)
        assert p.stderr.startswith(f"boundaryd: error: {event}: no event on the calendar")
        assert "Traceback" not in p.stderr
    db = e.state / "journal.sqlite3"
    import sqlite3

    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM allows").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM decline_requests").fetchone()[0] == 0


def test_allow_ref_undoes_boundaryds_decline_and_tells_the_organizer(tmp_path: Path) -> None:
    e = make_env(tmp_path, existing=True)
    e.calendar.write_bytes(calendar_of(invite("maybe@t", "Listing review", at(1, 9), partstat="TENTATIVE")))
    ref = conflict(json.loads(e.run("sync", "--now", NOW, "--json").stdout), "maybe@t")["ref"]
    assert owner_partstat(events_by_uid(e.calendar)["maybe@t"][0]) == "DECLINED"
    (notice,) = notice_texts(e.state)
    assert f"boundaryd allow {ref}" in notice  # the notice says how to undo it

    assert "sets your answer back" in e.run("allow", ref, "--now", NOW).stdout
    e.run("sync", "--now", NOW)
    assert conflict(plan_json(e), "maybe@t")["decision"] == "allow"  # let through from now on
    ev = events_by_uid(e.calendar)["maybe@t"][0]
    assert owner_partstat(ev) == "TENTATIVE" and ev.get("COMMENT") is None
    undo = [m for m in replies(e.state) if not str(m["Subject"]).startswith("Declined")]
    assert len(undo) == 1 and str(undo[0]["Subject"]).startswith("Tentative: Listing review")
    att = calendar_part(undo[0])["ATTENDEE"]
    assert att.params["PARTSTAT"] == "TENTATIVE" and OWNER in str(att).lower()
    assert "disregard my earlier decline" in undo[0].get_body(("plain",)).get_content()

    before = (e.calendar.read_bytes(), len(outbox_files(e.state)))
    e.run("sync", "--now", NOW)  # nothing new: no second undo, no second reply
    assert (e.calendar.read_bytes(), len(outbox_files(e.state))) == before
    assert "undone by 'allow'" in e.run("why", ref, "--now", NOW).stdout
    assert "undone by 'allow'" in e.run("notices").stdout


def standing_env(tmp_path: Path):
    e = make_env(tmp_path, existing=True)
    e.calendar.write_bytes(
        calendar_of(invite("weekly@t", "Weekly sync", at(2, 10), 30, rrule={"FREQ": ["WEEKLY"], "COUNT": ["6"]}))
    )
    return e


def test_a_standing_conflict_is_flagged_once_for_the_series(tmp_path: Path) -> None:
    e = standing_env(tmp_path)
    data = json.loads(e.run("sync", "--now", NOW, "--json").stdout)
    weekly = [c for c in data["conflicts"] if c["event"] == "weekly@t"]
    assert len(weekly) == 2 and {c["decision"] for c in weekly} == {"flag"}
    assert all(c["series"] for c in weekly) and len({c["ref"] for c in weekly}) == 1
    assert not replies(e.state)
    (notice,) = notice_texts(e.state)
    assert notice.count('"Weekly sync"') == 1 and f"boundaryd decline {weekly[0]['ref']} --series" in notice
    e.run("sync", "--now", LATER)
    assert len(notice_texts(e.state)) == 1  # notified once, not again

    assert "one reply" in e.run("decline", weekly[0]["ref"], "--series", "--now", LATER).stdout
    e.run("sync", "--now", LATER)
    series = events_by_uid(e.calendar)["weekly@t"]
    master = next(ev for ev in series if ev.get("RECURRENCE-ID") is None)
    assert owner_partstat(master) == "DECLINED"
    (reply,) = replies(e.state)
    assert calendar_part(reply).get("RECURRENCE-ID") is None  # the series, in one reply
    e.run("sync", "--now", "2026-11-23T09:00:00-05:00")
    assert len(replies(e.state)) == 1
