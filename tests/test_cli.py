"""The command line's outside: exit codes, one-line errors naming the file, nothing changed on exit 2."""

from __future__ import annotations

import re

from clirun import NOW, calendar_of, invite, make_env
from test_sync import at

ERROR_LINE = re.compile(r"^boundaryd: error: \S+")


def test_check_prints_the_protected_week(tmp_path) -> None:
    e = make_env(tmp_path)
    out = e.run("check", "--now", NOW).stdout
    assert "OK, 3 blocks" in out
    assert "Mon Nov 23" in out and "08:30–11:00 Prospecting calls" in out
    assert "Sun Nov 29" in out and "all day Day off" in out
    assert "Protected this week" in out
    out = e.run("check", "rules/example.yaml").stdout
    assert "OK, 7 blocks" in out


def test_check_reports_every_problem_and_exits_2(tmp_path) -> None:
    e = make_env(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(e.rules.read_text().replace('start: "08:30"', 'start: "25:00"').replace("kind: day-off", "kynd: day-off"))
    p = e.run("check", str(bad), check=2)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 2
    assert all(ERROR_LINE.match(line) for line in lines)
    assert f"{bad}:16:12:" in p.stderr and "'25:00' is not a time" in p.stderr
    assert "unknown key 'kynd'" in p.stderr and "did you mean 'kind'" in p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""


def test_bad_rules_change_nothing(tmp_path) -> None:
    e = make_env(tmp_path)
    e.calendar.write_bytes(calendar_of(invite("single@t", "Listing review", at(1, 9))))
    before = e.calendar.read_bytes()
    e.rules.write_text(e.rules.read_text().replace("timezone: America/Toronto", "timezone: Mars/Olympus"))
    p = e.run("sync", "--now", NOW, check=2)
    assert "unknown time zone 'Mars/Olympus'" in p.stderr
    assert e.calendar.read_bytes() == before
    assert not (e.state / "outbox").exists()


def test_missing_rules_file(tmp_path) -> None:
    e = make_env(tmp_path)
    e.rules.unlink()
    p = e.run("plan", check=2)
    assert f"boundaryd: error: {e.rules}: no rules file here" in p.stderr


def test_unreadable_calendar_is_exit_2_and_untouched(tmp_path) -> None:
    e = make_env(tmp_path)
    e.calendar.write_text("this is not a calendar\n")
    mtime = e.calendar.stat().st_mtime_ns
    p = e.run("sync", "--now", NOW, check=2)
    assert f"boundaryd: error: {e.calendar}: not an iCalendar file" in p.stderr
    assert e.calendar.read_text() == "this is not a calendar\n" and e.calendar.stat().st_mtime_ns == mtime


def test_one_broken_event_is_reported_and_the_rest_enforced(tmp_path) -> None:
    e = make_env(tmp_path)
    good = calendar_of(invite("single@t", "Listing review", at(1, 9))).decode()
    broken = "BEGIN:VEVENT\r\nUID:broken@t\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:2026XX24T090000\r\nSUMMARY:broken\r\nEND:VEVENT\r\n"
    e.calendar.write_text(good.replace("END:VCALENDAR", broken + "END:VCALENDAR"))
    p = e.run("sync", "--now", NOW, "--json")
    assert "broken@t" in p.stderr and "skipped" in p.stderr
    import json

    data = json.loads(p.stdout)
    assert [s["event"] for s in data["skipped"]] == ["broken@t"]
    assert any(c["event"] == "single@t" and c["decision"] == "decline" for c in data["conflicts"])
    assert "UID:broken@t" in e.calendar.read_text()  # kept as it was


def test_bad_usage_is_exit_2(tmp_path) -> None:
    e = make_env(tmp_path)
    assert "give an offset" in e.run("plan", "--now", "2026-11-23T07:00", check=2).stderr
    assert "use ics:PATH" in e.run("plan", "--calendar", "ftp:x", check=2).stderr
    assert "credentials never go in a URI" in e.run("plan", "--calendar", "caldav:https://u:p@h/x", check=2).stderr
    assert e.run("frobnicate", check=2).returncode == 2


def test_verbose_shows_the_traceback(tmp_path) -> None:
    e = make_env(tmp_path)
    e.calendar.write_text("nope")
    assert "Traceback" in e.run("-v", "sync", "--now", NOW, check=2).stderr


def test_demo_runs_from_scratch(tmp_path) -> None:
    e = make_env(tmp_path)
    out = e.run("demo", "--dir", str(tmp_path / "d"), "--now", "2026-11-22T19:00:00-05:00").stdout
    assert "Declined (" in out and "Flagged (" in out and "Allowed (" in out
    assert "organizer matches *@bigclient.com" in out and "keyword 'urgent' found" in out
    assert "outbox" in out
    again = e.run("--rules", str(tmp_path / "d/rules.yaml"), "--state", str(tmp_path / "d/state"), "sync", "--now", "2026-11-22T19:00:00-05:00").stdout
    assert "Calendar events: up to date" in again


def test_week_table_html_and_email(tmp_path) -> None:
    e = make_env(tmp_path)
    e.calendar.write_bytes(calendar_of(invite("single@t", "Listing <b>review</b>", at(1, 9))))
    out = e.run("week", "--now", NOW, "--html", str(tmp_path / "week.html"), "--email").stdout
    assert "Tue Nov 24" in out and "Known conflicts (1)" in out and "Listing <b>review</b>" in out
    page = (tmp_path / "week.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "Prospecting calls" in page
    assert "Listing &lt;b&gt;review&lt;/b&gt;" in page and "<b>review</b>" not in page
    assert "your week ahead" in out
    assert "your week ahead" in e.run("notices").stdout


def test_hostile_invitation_cannot_inject_headers(tmp_path) -> None:
    import email
    import email.policy

    e = make_env(tmp_path)
    evil = "Meeting\r\nBcc: victim@evil.example\r\nSubject: pwned"
    e.calendar.write_bytes(
        calendar_of(
            invite("evil@t", evil, at(1, 9), organizer="mallory@evil.example", DESCRIPTION="<script>alert(1)</script>" * 1000)
        )
    )
    out = e.run("sync", "--now", NOW).stdout
    assert "Bcc:" not in out.replace("Bcc: victim", "")  # the terminal shows it on one line
    for p in (e.state / "outbox").rglob("bd.*"):
        if p.is_file() and p.parent.name != "tmp":
            msg = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            assert msg.get_all("Bcc") is None and len(msg.get_all("Subject")) == 1
            assert "pwned" not in str(msg["Subject"]) or "\n" not in str(msg["Subject"])
            for part in msg.walk():
                if part.get_content_type() == "text/html":
                    assert "<script>" not in part.get_content()
