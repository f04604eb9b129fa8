"""Conflict notices, weekly previews and alerts: content, HTML grid, and hostile invitations."""

from __future__ import annotations

import email
import email.policy
import re
import sys
import time
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from boundaryd.core.model import Decision
from boundaryd.delivery.mail import MAX_MESSAGE_BYTES, Outbox, SmtpTransport, deliver
from boundaryd.delivery.notice import build_notice, build_owner_alert, build_weekly_preview
from mail_fixtures import conflict, load_rules, occurrence, week_blocks
from smtp_server import SmtpServer


class _Html(HTMLParser):
    """Collects tags, text, and cells of the grid (by background colour)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []
        self.bg_cells: list[tuple[str, str]] = []
        self._bg: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "td" and a.get("bgcolor"):
            self._bg = a["bgcolor"]
            self.bg_cells.append((a["bgcolor"] or "", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._bg = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._bg is not None and self.bg_cells:
            bg, t = self.bg_cells[-1]
            self.bg_cells[-1] = (bg, t + data)


def parts(msg: email.message.EmailMessage) -> tuple[str, str]:
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()  # type: ignore[union-attr]


def parse_html(page: str) -> _Html:
    p = _Html()
    p.feed(page)
    p.close()
    return p


@pytest.fixture(scope="module")
def rules():  # type: ignore[no-untyped-def]
    return load_rules()


def now_of(rules) -> datetime:  # type: ignore[no-untyped-def]
    return datetime(2026, 11, 23, 7, 0, tzinfo=rules.tz)


def test_notice_through_smtp_says_what_happened(rules, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tz = rules.tz
    d1 = conflict(occurrence(tz))
    d2 = conflict(occurrence(tz, uid="e2", summary="Pipeline review", start=datetime(2026, 11, 26, 10, tzinfo=tz),
                              end=datetime(2026, 11, 26, 11, tzinfo=tz)))
    f1 = conflict(
        occurrence(tz, uid="e3", summary="Board call", start=datetime(2026, 11, 25, 18, tzinfo=tz),
                   end=datetime(2026, 11, 25, 19, tzinfo=tz), organizer="carol@x.example", organizer_name="Carol"),
        Decision.FLAG, block="family", reason="already accepted", message="", alternatives=(),
    )
    msg = build_notice(rules=rules, conflicts=[f1, d2, d1], blocks=week_blocks(tz), now=now_of(rules), key="notice-1")
    with SmtpServer("none") as srv:
        ob = Outbox(tmp_path / "outbox")
        ob.put("notice-1", msg)
        assert deliver(ob, SmtpTransport(srv.config())).sent == 1
        (got,) = srv.wait_for(1)
    m = got.message
    assert got.rcpt_tos == ["alice@example.com"]
    assert str(m["Subject"]) == "boundaryd: 2 declined, 1 flagged"
    assert m["From"].addresses[0].addr_spec == "boundaryd@example.com"
    assert m["Auto-Submitted"] == "auto-generated"
    assert m.get_content_type() == "multipart/alternative"
    text, page = parts(m)

    # the text part: every conflict, in the owner's zone, with who, block, decision, reason, alternatives
    assert "2 declined, 1 flagged." in text
    assert text.index("FLAGGED") < text.index("DECLINED")  # what needs the owner's action first
    assert '"Quarterly sync"  Tue 24 Nov 2026, 09:00–10:00' in text
    assert "asked by:  Bob Builder <bob@client.example>" in text
    assert "block:     Prospecting calls (08:30–11:00)" in text
    assert "declined: you are invited and the block declines" in text
    assert "offered:   Wed 25 Nov 11:00–12:00" in text
    assert '"Board call"  Wed 25 Nov 2026, 18:00–19:00' in text
    assert "block:     Family dinner (17:30–19:30)" in text
    assert "flagged: already accepted" in text
    assert "Times are in America/Toronto." in text

    # the HTML part says the same, plus the picture
    h = parse_html(page)
    all_text = " ".join(h.text)
    for s in ("Quarterly sync", "Pipeline review", "Board call", "Bob Builder <bob@client.example>",
              "Prospecting calls (08:30–11:00)", "already accepted", "Wed 25 Nov 11:00–12:00", "Tue 24 Nov 2026, 09:00–10:00"):
        assert s in all_text, s
    assert "script" not in h.tags and "img" not in h.tags
    # the grid shows the affected days (Tue, Wed, Thu) and no others
    heads = re.findall(r"<b>((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d+ \w+)</b>", page)
    assert heads == ["Tue 24 Nov", "Wed 25 Nov", "Thu 26 Nov"]
    # blocks in their colour, meetings drawn in the decision's colour with their titles
    colours = {bg for bg, _ in h.bg_cells}
    assert "#fce8b2" in colours and "#c6dafc" in colours  # prospecting, family
    assert ("#d93025", "Quarterly sync") in h.bg_cells
    assert ("#f29900", "Board call") in h.bg_cells
    assert ("#fce8b2", "Prospecting calls") in h.bg_cells
    # the 09:00–10:00 meeting covers exactly two half-hour cells in red on Tuesday
    assert sum(1 for bg, _ in h.bg_cells if bg == "#d93025") == 4  # 2 declines x 2 half hours


def test_all_day_and_keep_and_allow(rules) -> None:  # type: ignore[no-untyped-def]
    tz = rules.tz
    sunday = conflict(
        occurrence(tz, uid="s", summary="Offsite", all_day=True, start=datetime(2026, 11, 29, tzinfo=tz),
                   end=datetime(2026, 11, 30, tzinfo=tz)), block="sunday", alternatives=(),
    )
    allowed = conflict(occurrence(tz, uid="a", summary="Urgent: contract"), Decision.ALLOW,
                       reason="keyword 'urgent' found", message="", alternatives=())
    msg = build_notice(rules=rules, conflicts=[sunday, allowed], blocks=week_blocks(tz), now=now_of(rules), key="k")
    assert str(msg["Subject"]) == "boundaryd: 1 declined, 1 allowed"
    text, page = parts(msg)
    assert '"Offsite"  Sun 29 Nov 2026, all day' in text
    assert "ALLOWED" in text and "keyword 'urgent' found" in text
    h = parse_html(page)
    assert ("#d93025", "Offsite") in h.bg_cells
    assert "all day" in " ".join(h.text)


def test_hostile_invitations(rules) -> None:  # type: ignore[no-untyped-def]
    tz = rules.tz
    evil = conflict(
        occurrence(
            tz,
            summary="Hi\r\nBcc: victim@evil.example\r\nContent-Type: text/html\r\n\r\n<b>x</b>",
            organizer_name="Eve\r\nBcc: e@evil.example <script>alert('n')</script>",
            description="<script>alert(document.cookie)</script><img src=http://evil.example/t.png>" + "D" * 1_000_000,
        ),
        reason="<b>bold</b>",
    )
    garbage = conflict(
        occurrence(tz, uid="g", summary=b"caf\xe9 \xff\xfe\x00\x1b[31m".decode("utf-8", "surrogateescape"),
                   organizer_name="\udcff\ud800", description="\x00\x07\u202eevil"),
    )
    huge = conflict(occurrence(tz, uid="h" * 1000, summary="S" * 1_000_000, organizer_name="N" * 1_000_000))
    msg = build_notice(rules=rules, conflicts=[evil, garbage, huge], blocks=week_blocks(tz), now=now_of(rules), key="k")
    raw = msg.as_bytes()
    assert len(raw) < 200_000
    head = raw.split(b"\n\n", 1)[0]
    assert not re.search(rb"^(bcc|cc|content-type: text/html)", head, re.IGNORECASE | re.MULTILINE)
    back = email.message_from_bytes(raw, policy=email.policy.default)
    assert back["Bcc"] is None
    assert back.get_content_type() == "multipart/alternative"
    text, page = parts(back)  # type: ignore[arg-type]
    h = parse_html(page)
    assert "script" not in h.tags and "img" not in h.tags and "b" in h.tags  # our own <b> only
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "\x00" not in text and "\x1b" not in text and "\u202e" not in text
    assert "S" * 201 not in text and "S" * 150 in text  # bounded, ends in an ellipsis
    assert "…" in text


def test_five_thousand_conflicts_are_summarized_not_cut(rules) -> None:  # type: ignore[no-untyped-def]
    tz = rules.tz
    base = datetime(2026, 11, 23, 8, 30, tzinfo=tz)
    cs = []
    for i in range(5000):
        start = base + timedelta(days=i % 14, minutes=(i * 7) % 120)
        d = Decision.DECLINE if i % 3 else Decision.FLAG
        cs.append(conflict(occurrence(tz, uid=f"u{i}", summary=f"Meeting {i} " + "<x>" * 100, start=start,
                                      end=start + timedelta(minutes=30), description="z" * 10_000), d))
    t0 = time.monotonic()
    msg = build_notice(rules=rules, conflicts=cs, blocks=week_blocks(tz), now=now_of(rules), key="big")
    assert time.monotonic() - t0 < 20
    raw = msg.as_bytes()
    assert len(raw) <= MAX_MESSAGE_BYTES
    assert str(msg["Subject"]) == "boundaryd: 3,333 declined, 1,667 flagged"
    text, page = parts(msg)
    m = re.search(r"and ([\d,]+) more \(([\d,]+) declined, ([\d,]+) flagged\)", text)
    assert m is not None
    rest = int(m.group(1).replace(",", ""))
    described = text.count("    asked by:")
    assert described + rest == 5000 and described > 0
    assert int(m.group(2).replace(",", "")) + int(m.group(3).replace(",", "")) == rest
    assert f"and {rest:,} more" in page
    assert page.rstrip().endswith("</html>")
    parse_html(page)  # well-formed enough to parse
    assert "first 7 of the 14 days" in text or "first 7 of the 14 days" in page


def test_weekly_preview(rules) -> None:  # type: ignore[no-untyped-def]
    tz = rules.tz
    c = conflict(occurrence(tz))
    later = conflict(occurrence(tz, uid="later", start=datetime(2026, 12, 8, 9, tzinfo=tz), end=datetime(2026, 12, 8, 10, tzinfo=tz)))
    sunday_evening = datetime(2026, 11, 22, 18, 0, tzinfo=tz)
    msg = build_weekly_preview(rules=rules, conflicts=[c, later], blocks=week_blocks(tz), now=sunday_evening, key="week-48")
    assert str(msg["Subject"]) == "boundaryd: your week ahead, Mon 23 Nov – Sun 29 Nov (1 conflict)"
    text, page = parts(msg)
    assert "Mon 23 Nov  Prospecting calls 08:30–11:00, Family dinner 17:30–19:30" in text
    assert "Sun 29 Nov  Day off all day, Family dinner 17:30–19:30" in text
    assert "Quarterly sync" in text and "later" not in text
    heads = re.findall(r"<b>((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d+ \w+)</b>", page)
    assert heads == ["Mon 23 Nov", "Tue 24 Nov", "Wed 25 Nov", "Thu 26 Nov", "Fri 27 Nov", "Sat 28 Nov", "Sun 29 Nov"]
    h = parse_html(page)
    assert sum(1 for bg, t in h.bg_cells if bg == "#fce8b2" and t == "Prospecting calls") == 5
    assert ("#d2e3fc", "Day off") in h.bg_cells
    # sent midweek: the 7 days from today
    wed = build_weekly_preview(rules=rules, conflicts=[], blocks=week_blocks(tz), now=datetime(2026, 11, 25, 9, tzinfo=tz), key="w")
    assert str(wed["Subject"]) == "boundaryd: your week ahead, Wed 25 Nov – Tue 1 Dec"


def test_owner_alert(rules) -> None:  # type: ignore[no-untyped-def]
    msg = build_owner_alert(
        rules=rules, subject="rules file does not validate\r\nBcc: x@evil.example",
        text="rules.yaml:3:5: unknown key 'tz'\n", now=now_of(rules), key="alert-1",
    )
    assert str(msg["Subject"]) == "boundaryd: rules file does not validate Bcc: x@evil.example"
    assert msg["Bcc"] is None
    assert msg.get_content_type() == "text/plain"
    assert "rules.yaml:3:5: unknown key 'tz'" in msg.get_content()
    assert msg["To"].addresses[0].addr_spec == "alice@example.com"


def test_notice_with_stand_in_rules() -> None:
    """The notice needs only the attributes the shared context lists."""
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Paris")
    rules = SimpleNamespace(
        timezone="Europe/Paris", tz=tz, owner=SimpleNamespace(name=None, emails=["me@example.org"]),
        notify=SimpleNamespace(email=None), blocks=[],
        working_hours=SimpleNamespace(start=datetime(2000, 1, 1, 9).time(), end=datetime(2000, 1, 1, 17).time()),
    )
    occ = occurrence(tz, start=datetime(2026, 11, 24, 23, 30, tzinfo=tz), end=datetime(2026, 11, 25, 0, 30, tzinfo=tz))
    msg = build_notice(rules=rules, conflicts=[conflict(occ, block="late")], blocks=[], now=datetime(2026, 11, 23, tzinfo=tz), key="k")
    assert msg["To"] == "me@example.org" and msg["From"].addresses[0].addr_spec == "me@example.org"
    text, page = parts(msg)
    assert "Tue 24 Nov 2026, 23:30–Wed 25 Nov 00:30" in text
    assert "block:     late" in text
    heads = re.findall(r"<b>((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d+ \w+)</b>", page)
    assert heads == ["Tue 24 Nov"]
