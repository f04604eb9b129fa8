"""`boundaryd sync` on an iCalendar file with SMTP configured: one notice, one reply per decline,
nothing the second time, and nothing lost while the mail server is down."""

from __future__ import annotations

import icalendar

from clirun import NOW, OWNER, calendar_of, invite, make_env
from smtp_server import SmtpServer, free_port
from test_sync import at


def setup(tmp_path, port: int, user: bool = False):
    auth = ", username: alice, password_env: TEST_SMTP_PASSWORD" if user else ""
    e = make_env(tmp_path, smtp=f", smtp: {{host: 127.0.0.1, port: {port}, security: none, timeout: 5{auth}}}")
    e.calendar.write_bytes(
        calendar_of(
            invite("single@t", "Listing review", at(1, 9), organizer="dana@client.example"),
            # Wednesdays on prospecting, Saturdays free: not a standing conflict, declined one by one
            invite("series@t", "Weekly sync", at(2, 10), 30, rrule={"FREQ": ["WEEKLY"], "BYDAY": ["WE", "SA"], "COUNT": ["12"]}),
            invite("call@t", "Quick call", at(0, 11, 30), 30),
        )
    )
    return e


def test_one_notice_and_one_reply_per_decline_then_nothing(tmp_path) -> None:
    with SmtpServer(mode="none", users={"alice": "pw-for-tests"}) as srv:
        e = setup(tmp_path, srv.port, user=True)
        env = {"TEST_SMTP_PASSWORD": "pw-for-tests"}
        out = e.run("sync", "--now", NOW, env=env)
        got = srv.wait_for(4)
        assert "Mail: 4 sent" in out.stdout
        assert len(got) == 4
        notices = [r for r in got if r.rcpt_tos == [OWNER]]
        replies = [r for r in got if r.rcpt_tos != [OWNER]]
        assert len(notices) == 1 and "3 declined, 1 flagged" in str(notices[0].message["Subject"])
        assert sorted(r.rcpt_tos[0] for r in replies) == ["bob@client.example", "bob@client.example", "dana@client.example"]
        rids = []
        for r in replies:
            part = next(p for p in r.message.walk() if p.get_content_type() == "text/calendar")
            ev = next(iter(icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")))
            rids.append(ev.get("RECURRENCE-ID") and ev["RECURRENCE-ID"].dt)
        assert sum(1 for r in rids if r) == 2  # both instances of the series in the window
        assert srv.auth_attempts and all(ok for _, ok in srv.auth_attempts)

        e.run("sync", "--now", NOW, env=env)
        assert len(srv.received) == 4  # the second sync sends nothing


def test_mail_server_down_then_back(tmp_path) -> None:
    port = free_port()
    e = setup(tmp_path, port)
    out = e.run("sync", "--now", NOW)  # the calendar work is done; mail waits
    assert "waiting in the outbox" in out.stdout
    listing = e.run("notices").stdout
    assert listing.count("waiting") >= 4
    with SmtpServer(mode="none", port=port) as srv:
        e.run("sync", "--now", NOW)
        assert len(srv.wait_for(4)) == 4
        e.run("sync", "--now", NOW)
        assert len(srv.received) == 4
    assert "sent" in e.run("notices").stdout
