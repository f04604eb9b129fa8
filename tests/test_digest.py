"""notify.digest: hourly/daily collect conflicts and send them as one notice when the digest runs."""

from __future__ import annotations

from datetime import timedelta

import icalendar

from boundaryd.core.rules import load_rules
from boundaryd.delivery.mail import Outbox
from boundaryd.engine.app import App
from clirun import calendar_of, invite, make_env
from test_contract import NOW
from test_sync import at


def test_digest_collects_then_sends_one_notice(tmp_path) -> None:
    e = make_env(tmp_path)
    e.rules.write_text(e.rules.read_text().replace("  replies: auto", "  replies: off\n  digest: hourly"))
    e.calendar.write_bytes(calendar_of(invite("a@t", "First", at(1, 9)), invite("b@t", "Second", at(2, 9))))
    rules = load_rules(e.rules)
    app = App(e.rules, e.state)
    first = app.sync(rules, NOW)
    assert first.declined == 2 and "2 conflict(s) for the next digest" in first.queued
    assert Outbox(e.state / "outbox").entries() == []

    cal = icalendar.Calendar.from_ical(e.calendar.read_bytes())  # a new invitation arrives
    cal.add_component(invite("c@t", "Third", at(3, 11, 30), 30))
    e.calendar.write_bytes(cal.to_ical())
    app.sync(rules, NOW + timedelta(minutes=5))
    app.flush_digest(rules, NOW + timedelta(minutes=60))
    entries = Outbox(e.state / "outbox").entries()
    # replies: off on an ics calendar: nobody tells the organizers, and the notice says so
    assert len(entries) == 1 and "1 flagged, 2 declined on your calendar only" in entries[0].subject
    app.flush_digest(rules, NOW + timedelta(minutes=120))  # nothing new: nothing sent
    assert len(Outbox(e.state / "outbox").entries()) == 1


def test_owner_alert_needs_no_calendar_and_goes_out_once(tmp_path) -> None:
    e = make_env(tmp_path)
    e.calendar.mkdir()  # the calendar is what is broken
    rules = load_rules(e.rules)
    app = App(e.rules, e.state)
    for _ in range(2):
        app.notify_owner(rules, "sync is failing", "caldav: connection refused\r\nBcc: x@evil.example", "fault-1")
    (entry,) = Outbox(e.state / "outbox").entries()
    assert entry.subject == "boundaryd: sync is failing" and entry.state == "outbox"


def test_an_empty_digest_reads_no_calendar_and_a_full_one_reads_it_once(tmp_path, monkeypatch) -> None:
    e = make_env(tmp_path)
    e.rules.write_text(e.rules.read_text().replace("  replies: auto", "  replies: off\n  digest: hourly"))
    e.calendar.write_bytes(calendar_of(invite("a@t", "First", at(1, 9))))
    rules = load_rules(e.rules)
    app = App(e.rules, e.state)
    e.calendar.unlink()
    e.calendar.mkdir()  # unreadable: an empty digest must not even look
    assert app.flush_digest(rules, NOW) is None
    e.calendar.rmdir()
    e.calendar.write_bytes(calendar_of(invite("a@t", "First", at(1, 9))))
    app.sync(rules, NOW)
    reads = []
    real = App.executor

    def counting(self, r):  # count the calendar reads of the flush
        ex = real(self, r)
        snapshot = ex.snapshot
        ex.snapshot = lambda now: reads.append(now) or snapshot(now)
        return ex

    monkeypatch.setattr(App, "executor", counting)
    assert "1 declined" in (app.flush_digest(rules, NOW + timedelta(hours=1)) or "")
    assert len(reads) == 1
