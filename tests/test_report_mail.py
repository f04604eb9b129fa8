"""The ledger on paper and by mail: ``report --html`` and ``--email`` through a real SMTP server
(aiosmtpd), the weekly email (``notify.report``) sent exactly once by the first sync at or after
its time, and the HTML page at phone width in real headless Chromium (with a screenshot)."""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from boundaryd.engine.app import App
from clirun import OWNER, calendar_of, invite, make_env
from smtp_server import SmtpServer
from test_notice_phone import ARGS, CHROMIUM, _browser_skip

TZ = ZoneInfo("America/Toronto")
FIRST = date(2026, 10, 5)  # eight weeks before Monday 30 Nov


def at(day: int, hh: int, mm: int = 0, monday: date = FIRST) -> datetime:
    return datetime.combine(monday + timedelta(days=day), time(hh, mm), TZ)


def _env(tmp_path: Path, port: int | None = None, report: bool = True) -> Any:
    smtp = f", smtp: {{host: 127.0.0.1, port: {port}, security: none, timeout: 5}}" if port else ""
    e = make_env(tmp_path, smtp=smtp)
    if report:
        text = e.rules.read_text().replace("  replies: auto\n", '  replies: auto\n  report: {day: sun, time: "18:00"}\n')
        e.rules.write_text(text)
    # a VIP over prospecting every Tuesday (lost time), a decline on Thursdays, for ten weeks
    e.calendar.write_bytes(calendar_of(
        invite("vip@t", "Portfolio review", at(1, 9), 90, organizer="pat@bigclient.com",
               rrule={"FREQ": ["WEEKLY"], "COUNT": ["10"]}),
        invite("bob@t", "Listing review", at(3, 9), 60, organizer="bob@client.example"),
        invite("own@t", "Dentist", at(2, 10), 45, organizer=None),
    ))
    return e


def _reports(srv: SmtpServer) -> list[Any]:
    return [r.message for r in srv.received if "boundaries" in str(r.message["Subject"])]


def test_the_weekly_email_goes_once_at_or_after_its_time(tmp_path: Path) -> None:
    with SmtpServer(mode="none") as srv:
        e = _env(tmp_path, srv.port)
        app = App(e.rules, e.state)
        rules = app.load_rules()
        app.sync(rules, at(0, 7))
        app.sync(rules, at(6, 17, 59))  # Sunday, a minute early
        assert _reports(srv) == []
        app.sync(rules, at(6, 18, 5))  # the first sync at or after 18:00 sends it
        assert len(_reports(srv)) == 1
        assert app.send_weekly_report(rules, at(6, 18, 6)) is None  # the daemon's job at that time: already sent
        app.sync(rules, at(6, 19))
        app.sync(rules, at(7, 9))  # Monday: still the same due time
        assert len(_reports(srv)) == 1
        (msg,) = _reports(srv)
        assert msg["To"].addresses[0].addr_spec == OWNER
        text = msg.get_body(("plain",)).get_content()
        assert "Your boundaries, Oct 5 – 11, 2026" in text and "pat@bigclient.com: 1h 30m (1 meeting)" in text
        page = msg.get_body(("html",)).get_content()
        assert page.count("<svg") == 1 and "Kept vs planned hours" in page

        # the next week: no sync on Sunday evening; the daemon's wall-clock job sends it
        app.sync(rules, at(13, 12))
        assert app.send_weekly_report(rules, at(13, 18)) is not None
        app.sync(rules, at(13, 18, 1))
        assert len(_reports(srv)) == 2
        assert "Oct 12 – 18, 2026" in _reports(srv)[1].get_body(("plain",)).get_content()


def test_no_weekly_email_without_notify_report_nor_for_a_week_never_recorded(tmp_path: Path) -> None:
    with SmtpServer(mode="none") as srv:
        e = _env(tmp_path / "a", srv.port, report=False)
        app = App(e.rules, e.state)
        app.sync(app.load_rules(), at(6, 18, 30))
        f = _env(tmp_path / "b", srv.port)
        app = App(f.rules, f.state)
        app.sync(app.load_rules(), at(7, 9))  # first run on a Monday: last week has no record, nothing sent
        app.sync(app.load_rules(), at(13, 18))  # this week it ran: sent
        assert len(_reports(srv)) == 1


def _eight_weeks(tmp_path: Path, port: int | None = None) -> Any:
    e = _env(tmp_path, port, report=False)
    app = App(e.rules, e.state)
    rules = app.load_rules()
    for week in range(9):
        app.sync(rules, at(0, 7, monday=FIRST + timedelta(weeks=week)))
        app.sync(rules, at(4, 12, monday=FIRST + timedelta(weeks=week)))
    return e


def test_report_html_and_email_now(tmp_path: Path) -> None:
    with SmtpServer(mode="none") as srv:
        e = _eight_weeks(tmp_path, srv.port)
        now = at(4, 12, monday=FIRST + timedelta(weeks=8)).isoformat()
        page = tmp_path / "ledger.html"
        out = e.run("report", "--now", now, "--html", str(page), "--email").stdout
        assert f"Wrote {page}" in out and "Queued: boundaryd: your week's boundaries" in out
        html = page.read_text()
        assert html.count("<rect") >= 2 * 9 and "Nov 30 – Dec 6, 2026" in html
        (got,) = _reports(srv)  # the syncs' notices went too; one ledger
        assert got.get_body(("html",)).get_content().count("<svg") == 1
        assert "Kept of planned, week by week:" in got.get_body(("plain",)).get_content()


def test_report_page_reads_on_a_phone(tmp_path: Path) -> None:
    why = _browser_skip()
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    e = _eight_weeks(tmp_path)
    page_file = tmp_path / "ledger.html"
    e.run("report", "--now", at(4, 12, monday=FIRST + timedelta(weeks=8)).isoformat(), "--html", str(page_file))
    shot = Path(os.environ.get("BOUNDARYD_SHOT_DIR", str(tmp_path))) / "report-375.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 800})
            page.set_content(page_file.read_text(), wait_until="load")
            width = page.evaluate("document.documentElement.scrollWidth")
            widest = page.evaluate(
                "Math.max(...Array.from(document.querySelectorAll('body *')).map(e => e.getBoundingClientRect().right))"
            )
            chart = page.evaluate("(() => { const r = document.querySelector('svg').getBoundingClientRect();"
                                  " return [r.width, r.height]; })()")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert width <= 375, f"scrolls sideways: {width}px wide (screenshot {shot})"
    assert widest <= 375, widest
    assert 300 <= chart[0] <= 360 and chart[1] > 150, chart  # the chart fills the column, not a thumbnail
    assert shot.stat().st_size > 10_000
