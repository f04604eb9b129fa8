"""The planner's side of scheduling servers, without a server: who tells the organizer of a decline
(the server, with or without the message; boundaryd's reply where the server did not deliver it),
and the conflict mark (put on once, taken off when the conflict ends, only where boundaryd put it).
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

from boundaryd.core.actions import Flag, Notify, Reply, Telling, Unflag
from boundaryd.core.model import AllowEntry, Attendee, Capabilities, Memory, Occurrence, Snapshot
from boundaryd.core.planner import plan
from boundaryd.core.rules import Rules, load_rules
from boundaryd.engine.app import App
from clirun import calendar_of, invite, make_env
from conftest import OWNER, local, make_rules, occurrence

TUE = date(2026, 11, 24)
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=local(TUE).tzinfo)
BLOCKS = """
- id: prospecting
  title: Prospecting calls
  kind: prospecting
  days: weekdays
  start: "08:30"
  end: "11:00"
  policy: decline
- id: focus
  title: Focus
  kind: personal
  days: weekdays
  start: "14:00"
  end: "15:00"
  policy: flag
"""
SMTP = 'notify: {email: {to: alice@example.com, from: b@example.com, smtp: {host: 127.0.0.1, port: 2525}}, replies: auto}\n'
SCHEDULING = Capabilities(tells_organizer=True, decline_comment=True)


def rules(smtp: bool = True, replies: str = "auto") -> Rules:
    extra = SMTP if smtp else "notify: {replies: auto}\n"
    return make_rules(BLOCKS, extra=extra.replace("replies: auto", f"replies: {replies}"))


def test_a_server_that_drops_the_comment_gets_boundaryds_reply_and_the_notice_says_so() -> None:
    occ = occurrence("d", local(TUE, 9))
    caps = replace(SCHEDULING, decline_comment=False)
    p = plan(rules(), Snapshot((occ,), capabilities=caps), NOW)
    (d,) = p.decline_actions
    assert d.told is Telling.REPLY and d.told_why == "told by the server, which drops your message: reply sent by email"
    assert [m.comment for m in p.messages if isinstance(m, Reply)] == [d.message]
    no_smtp = plan(rules(smtp=False), Snapshot((occ,), capabilities=caps), NOW)
    assert no_smtp.decline_actions[0].told is Telling.OUTBOX
    keeps = plan(rules(), Snapshot((occ,), capabilities=SCHEDULING), NOW)
    assert keeps.decline_actions[0].told is Telling.SERVER and not keeps.messages[:-1]


def test_where_the_server_widens_an_instances_reply_the_notice_says_so() -> None:
    one = occurrence("s", local(TUE, 9), recurrence_id=local(TUE, 9))
    widens = Capabilities(tells_organizer=True, decline_comment=False, instance_replies=False)
    (d,) = plan(rules(), Snapshot((one,), capabilities=widens), NOW).decline_actions
    assert d.told is Telling.REPLY and "you declined the whole series" in d.told_why
    (whole,) = plan(rules(), Snapshot((replace(one, recurrence_id=None),), capabilities=widens), NOW).decline_actions
    assert "whole series" not in whole.told_why


def _declined(status: str) -> Occurrence:
    return occurrence("d", local(TUE, 9), me="DECLINED", comment="Not then, sorry.", schedule_status=status)


def test_a_decline_the_server_did_not_deliver_is_replied_once_with_its_message() -> None:
    memory = Memory(declined={("d", ""): ("NEEDS-ACTION", "server")}, applied={})
    for status, replied in (("3.7", True), ("5.1", True), ("1.2", False), ("2.0", False), ("", False), ("1.2,3.7", True)):
        p = plan(rules(), Snapshot((_declined(status),), capabilities=SCHEDULING), NOW, memory)
        replies = [m for m in p.messages if isinstance(m, Reply)]
        assert len(replies) == replied, status
        if replied:
            assert replies[0].comment == "Not then, sorry." and replies[0].partstat == "DECLINED"
            assert "the server could not deliver" in replies[0].trace.steps[0]
            (late,) = [n for n in p.messages if isinstance(n, Notify) and n.told]
            assert late.told == ((("d", ""), "reply", f"the server could not deliver (SCHEDULE-STATUS {status.split(',')[-1]}): reply sent by email"),)
            assert late.notice.conflicts[0].block == "prospecting" and late.notice.conflicts[0].message == "Not then, sorry."
            sent = replace(memory, messages={replies[0].key})
            again = plan(rules(), Snapshot((_declined(status),), capabilities=SCHEDULING), NOW, sent)
            assert not [m for m in again.messages if isinstance(m, Reply)]  # once
    # on the owner's ATTENDEE too; never for a decline boundaryd replied to itself, nor with replies off
    owner_failed = replace(_declined(""), attendees=(Attendee("bob@client.example", "ACCEPTED"), Attendee(OWNER, "DECLINED", "", "3.7")))
    assert any(isinstance(m, Reply) for m in plan(rules(), Snapshot((owner_failed,)), NOW, memory).messages)
    ours = replace(memory, declined={("d", ""): ("NEEDS-ACTION", "reply")})
    assert not plan(rules(), Snapshot((_declined("3.7"),)), NOW, ours).messages
    assert not plan(rules(replies="off"), Snapshot((_declined("3.7"),)), NOW, memory).messages


def test_the_undo_of_a_decline_the_server_did_not_deliver_goes_by_email_too() -> None:
    allowed = Memory(declined={("d", ""): ("TENTATIVE", "server")}, allowed=(AllowEntry("d"),))
    p = plan(rules(), Snapshot((_declined("3.7"),), capabilities=SCHEDULING), NOW, allowed)
    (undo,) = p.undo_actions
    assert undo.told is Telling.REPLY and undo.partstat == "TENTATIVE"
    assert [m.partstat for m in p.messages if isinstance(m, Reply) and m.key.startswith("undo-")] == ["TENTATIVE"]
    delivered = plan(rules(), Snapshot((_declined("1.2"),), capabilities=SCHEDULING), NOW, allowed)
    assert delivered.undo_actions[0].told is Telling.SERVER


def test_a_flag_is_planned_only_where_the_mark_is_not_on_and_comes_off_only_where_boundaryd_put_it() -> None:
    flagged = occurrence("f", local(TUE, 14))
    p = plan(rules(), Snapshot((flagged,)), NOW)
    assert [type(a) for a in p.actions if isinstance(a, (Flag, Unflag))] == [Flag]
    marked = replace(flagged, categories=("Conflict",))
    assert not [a for a in plan(rules(), Snapshot((marked,)), NOW).actions if isinstance(a, (Flag, Unflag))]

    moved = replace(marked, start=local(TUE, 16), end=local(TUE, 17))  # the conflict ended
    ours = Memory(flagged={("f", "")})
    (off,) = [a for a in plan(rules(), Snapshot((moved,)), NOW, ours).actions if isinstance(a, (Flag, Unflag))]
    assert isinstance(off, Unflag) and off.occurrence.key == ("f", "")
    assert not [a for a in plan(rules(), Snapshot((moved,)), NOW).actions if isinstance(a, Unflag)]  # the owner's own mark
    silent = Capabilities(flag_mark="")
    for occ in (flagged, moved):  # a server that would tell the organizer: the notice only
        assert not [a for a in plan(rules(), Snapshot((occ,), capabilities=silent), NOW, ours).actions
                    if isinstance(a, (Flag, Unflag))]


def test_on_a_file_the_mark_goes_on_comes_off_and_then_nothing_is_written(tmp_path: Path) -> None:
    e = make_env(tmp_path)
    e.calendar.write_bytes(calendar_of(invite("clash@t", "Catch-up", local(TUE, 11, 30), minutes=30)))
    rules_path = e.rules
    app = App(rules_path, e.state)
    first = app.sync(load_rules(rules_path), NOW)
    assert [c.occurrence.uid for c in first.plan.flags] == ["clash@t"]
    assert "CATEGORIES:Conflict" in e.calendar.read_text()
    assert not [a for a in app.sync(load_rules(rules_path), NOW + timedelta(minutes=1)).plan.actions if isinstance(a, Flag)]

    rules_path.write_text(rules_path.read_text().replace('["11:30", "16:30"]', '["12:30", "16:30"]'))
    second = App(rules_path, e.state).sync(load_rules(rules_path), NOW + timedelta(minutes=2))
    assert [a.occurrence.uid for a in second.plan.actions if isinstance(a, Unflag)] == ["clash@t"]
    assert "Conflict" not in e.calendar.read_text()
    before = os.stat(e.calendar).st_mtime_ns
    third = App(rules_path, e.state).sync(load_rules(rules_path), NOW + timedelta(minutes=3))
    assert third.plan.actions == () and os.stat(e.calendar).st_mtime_ns == before
