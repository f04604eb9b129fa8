"""The notice as the owner reads it on a phone: flags first, every item with its ref and the
command that changes its fate, "declined" only when the organizer was told, and one column no
wider than 375 px (checked in real headless Chromium)."""

from __future__ import annotations

import email.message
import os
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from boundaryd.core.model import Attendee, Decision
from boundaryd.delivery.notice import build_notice, build_weekly_preview
from mail_fixtures import conflict, load_rules, occurrence, week_blocks


@pytest.fixture(scope="module")
def rules() -> Any:
    return load_rules()


def parts(msg: email.message.EmailMessage) -> tuple[str, str]:
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()  # type: ignore[union-attr]


def _at(tz: Any, day: int, hour: int, **over: Any) -> Any:
    return occurrence(tz, start=datetime(2026, 11, day, hour, tzinfo=tz), end=datetime(2026, 11, day, hour + 1, tzinfo=tz), **over)


def _mixed(tz: Any) -> list[Any]:
    """A decline told by the server, one waiting in the outbox, one nobody tells, a flag, an allow."""
    return [
        conflict(_at(tz, 24, 9, uid="told", summary="Told sync"), ref="aaa111"),
        conflict(_at(tz, 24, 10, uid="outbox", summary="Outbox sync"), ref="bbb222"),
        conflict(_at(tz, 25, 9, uid="nobody", summary="Silent sync"), ref="ccc333"),
        conflict(_at(tz, 26, 9, uid="flag", summary="Flagged sync"), Decision.FLAG, ref="ddd444", reason="already accepted"),
        conflict(_at(tz, 23, 9, uid="allow", summary="Urgent: allowed"), Decision.ALLOW, ref="eee555", reason="keyword"),
    ]


TOLD = {
    ("told", ""): ("server", "the calendar server tells the organizer"),
    ("outbox", ""): ("outbox", "replies: outbox"),
    ("nobody", ""): ("nobody", "the organizer's address is not usable"),
}


def test_flags_first_then_untold_then_declined_then_allowed(rules: Any) -> None:
    tz = rules.tz
    msg = build_notice(rules=rules, conflicts=_mixed(tz), blocks=week_blocks(tz), now=datetime(2026, 11, 23, 7, tzinfo=tz),
                       key="n", told=TOLD)
    assert str(msg["Subject"]) == "boundaryd: 1 declined, 1 flagged, 1 allowed, 2 declined on your calendar only"
    text, page = parts(msg)
    assert "1 declined, 1 flagged, 1 allowed, 2 declined on your calendar only.\n" in text
    order = [text.index(f'"{t}"') for t in ("Flagged sync", "Outbox sync", "Silent sync", "Told sync", "Urgent: allowed")]
    assert order == sorted(order), text
    assert text.index("FLAGGED") < text.index("DECLINED ON YOUR CALENDAR ONLY") < text.index("\nDECLINED\n") < text.index("ALLOWED")
    # each item: its ref and the command that changes its fate
    assert "ref:       ddd444\n" in text and "change it: boundaryd decline ddd444\n" in text
    assert "change it: boundaryd allow aaa111\n" in text and "change it: boundaryd allow bbb222\n" in text
    assert "change it: boundaryd allow ccc333\n" in text
    # "declined" only when the organizer was told
    told_item = text[text.index('"Told sync"'):text.index('"Urgent: allowed"')]
    assert "decision:  declined: you are invited" in told_item and "outbox" not in told_item
    out_item = text[text.index('"Outbox sync"'):text.index('"Silent sync"')]
    assert "decision:  declined on your calendar only:" in out_item
    assert "organizer: decline waiting in your outbox — send it or the organizer will not know" in out_item
    silent = text[text.index('"Silent sync"'):text.index('"Told sync"')]
    assert "organizer: the organizer was not told: the organizer&#x27;s address" not in silent
    assert "organizer: the organizer was not told: the organizer's address is not usable" in silent
    # the HTML says the same, in the same order
    cards = [page.index(f"<b>{t}</b>") for t in ("Flagged sync", "Outbox sync", "Silent sync", "Told sync", "Urgent: allowed")]
    assert cards == sorted(cards)
    assert "decline waiting in your outbox — send it or the organizer will not know" in page
    assert "boundaryd decline ddd444" in page and "boundaryd allow bbb222" in page


def test_a_decline_without_telling_data_reads_as_before(rules: Any) -> None:
    """A digest's declines were planned by an earlier sync: they keep their plain wording."""
    tz = rules.tz
    msg = build_notice(rules=rules, conflicts=[conflict(occurrence(tz), ref="abc123")], blocks=week_blocks(tz),
                       now=datetime(2026, 11, 23, 7, tzinfo=tz), key="n")
    text, _ = parts(msg)
    assert "\nDECLINED\n" in text and "organizer:" not in text and "change it: boundaryd allow abc123" in text


# --- one column at 375 px, in real headless Chromium -------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _browser_skip() -> str | None:
    if os.environ.get("BOUNDARYD_CLOCK_CHECK"):
        return "under the clock check (libfaketime): no browser there"
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        return f"Debian's chromium is not installed ({CHROMIUM}); apt-get install chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright; no browser download needed)"
    return None


def _crowded(rules: Any, preview: bool = False) -> str:
    """A notice with many conflicts over a full week, with long hostile titles."""
    tz = rules.tz
    evil = "<script>alert(1)</script>" + "Supercalifragilistic" * 12 + " " + "W" * 300
    cs = []
    for i in range(40):
        day, hour = 23 + i % 7, 8 + (i * 3) % 11
        occ = _at(tz, day, hour, uid=f"u{i}", summary=f"{evil} #{i}", organizer=f"{'x' * 90}{i}@{'y' * 60}.example",
                  organizer_name="Z" * 120, description="D" * 400,
                  attendees=(Attendee("alice@example.com"), Attendee("bob@client.example")))
        decision = (Decision.FLAG, Decision.DECLINE, Decision.ALLOW)[i % 3]
        cs.append(conflict(occ, decision, ref=f"r{i:05d}", reason="R" * 250, message="M" * 500,
                           alternatives=tuple(occ.start + timedelta(days=1, hours=h) for h in range(5))))
    told = {c.occurrence.key: ("outbox", "replies: outbox") for c in cs[1::6]}
    now = datetime(2026, 11, 23, 7, tzinfo=tz)
    if preview:
        return parts(build_weekly_preview(rules=rules, conflicts=cs, blocks=week_blocks(tz), now=now, key="p"))[1]
    return parts(build_notice(rules=rules, conflicts=cs, blocks=week_blocks(tz), now=now, key="n", told=told))[1]


@pytest.mark.parametrize("preview", [False, True], ids=["notice", "weekly-preview"])
def test_notice_is_one_column_no_wider_than_375px(rules: Any, tmp_path: Path, preview: bool) -> None:
    why = _browser_skip()
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    page_html = _crowded(rules, preview)
    assert "<script>" not in page_html
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 800})
            page.set_content(page_html, wait_until="load")
            width = page.evaluate("document.documentElement.scrollWidth")
            widest = page.evaluate(
                "Math.max(...Array.from(document.querySelectorAll('body *')).map(e => e.getBoundingClientRect().right))"
            )
            days = page.evaluate("Array.from(document.querySelectorAll('[data-day]')).map(e => e.getBoundingClientRect().left)")
            shot = Path(os.environ.get("BOUNDARYD_SHOT_DIR", str(tmp_path))) / f"{'preview' if preview else 'notice'}-375.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert width <= 375, f"scrolls sideways: {width}px wide (screenshot {shot})"
    assert widest <= 375, widest
    # the week is stacked: every day's picture starts at the same left edge, one under another
    assert len(days) == 7 and len(set(days)) == 1, days
    assert shot.stat().st_size > 10_000
