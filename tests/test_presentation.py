"""Every template of the presentation layer, rendered with hostile and very long invitation text.

What a person reads is rendered from ``boundaryd/presentation/templates``. Invitation text comes
from strangers: here each template is fed CR/LF (header injection), HTML and script, quotes,
NUL and escape bytes, bidi overrides and megabyte fields, and must come out escaped (HTML),
on one line (fields in text), and bounded.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from boundaryd.core import model
from boundaryd.core.actions import WriteBlock
from boundaryd.core.ledger import Ledger
from boundaryd.core.model import Decision
from boundaryd.presentation import notice, render, reply, report, templating
from mail_fixtures import conflict, load_rules, occurrence, week_blocks

TEMPLATES = Path(templating.__file__).parent / "templates"
MEGA = 1_000_000
HOSTILE = (
    "Hi\r\nBcc: victim@evil.example\r\n\r\n<script>alert('x')</script><img src=http://evil.example/t.png>"
    ' "quoted" & \'single\' \x00\x1b[31m\u202eevil\u2028next\u2029para\x85nel'
)
LONG = "L" * MEGA


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def tags_of(page: str) -> _Tags:
    p = _Tags()
    p.feed(page)
    p.close()
    return p


@pytest.fixture(scope="module")
def rules() -> Any:
    return load_rules()


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """The names of the templates rendered during a test."""
    names: set[str] = set()
    real = templating.render

    def spy(name: str, **values: Any) -> str:
        names.add(name)
        return real(name, **values)

    for mod in (notice, render, reply, report):
        monkeypatch.setattr(mod, "render", spy)
    yield names


def hostile_conflicts(tz: Any) -> list[model.Conflict]:
    """One conflict per decision, each with hostile text in every field a stranger controls."""
    out = []
    for i, d in enumerate((Decision.DECLINE, Decision.FLAG, Decision.ALLOW, Decision.KEEP)):
        start = datetime(2026, 11, 24 + i, 9, 0, tzinfo=tz)
        occ = occurrence(
            tz,
            uid=f"{HOSTILE}-{i}",
            summary=HOSTILE + LONG,
            organizer=HOSTILE + "@x",
            organizer_name=HOSTILE + LONG,
            description=HOSTILE + LONG,
            start=start,
            end=start + timedelta(hours=1),
        )
        out.append(
            conflict(occ, d, block="prospecting", blocks=("prospecting", HOSTILE, *[LONG] * 6),
                     reason=HOSTILE + LONG, message=HOSTILE + LONG)
        )
    return out


def assert_clean_text(text: str, max_line: int) -> None:
    for bad in ("\r", "\x00", "\x1b", "\u202e", "\u2028", "\u2029", "\x85"):
        assert bad not in text
    assert max(len(line) for line in text.split("\n")) <= max_line
    assert not re.search(r"^bcc:", text, re.IGNORECASE | re.MULTILINE)  # no line starts where a header would


def assert_escaped_html(page: str) -> None:
    t = tags_of(page)
    assert "script" not in t.tags and "img" not in t.tags
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "http://evil.example" not in [v for _, v in t.attrs]
    assert "&quot;quoted&quot; &amp; &#x27;single&#x27;" in page
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</body></html>\n")


def test_every_template_is_rendered_by_these_tests(rules: Any, rendered: set[str]) -> None:
    tz = rules.tz
    cs = hostile_conflicts(tz)
    now = datetime(2026, 11, 23, 7, tzinfo=tz)
    notice.notice_view(rules=rules, conflicts=cs, blocks=week_blocks(tz), now=now).render(4)
    notice.preview_view(rules=rules, conflicts=cs, blocks=week_blocks(tz), now=now).render(4)
    notice.alert_view("s", "t")
    reply.reply_text(cs[0].occurrence, comment="", owner_name=None, owner="a@b.c")
    render.week_table(week_blocks(tz), date(2026, 11, 23))
    plan = model.Plan(now=now, window_start=now, window_end=now + timedelta(days=14), blocks=(),
                      actions=(), conflicts=tuple(cs))
    render.plan_summary(plan, executed=False)
    render.conflict_line(cs[0])
    report.report_view(rules, Ledger(now, now + timedelta(days=7), (), 0, 0, 0, ())).render(0)  # the weekly ledger
    top_level = {p.name for p in TEMPLATES.iterdir()}
    included = {"page.html", "grid.html", "conflicts.html", "conflicts.txt", "footer.txt", "conflict.txt"}
    assert top_level - included <= rendered, "a template no test renders"
    assert included <= top_level


def test_notice_escapes_and_bounds_hostile_text(rules: Any) -> None:
    tz = rules.tz
    cs = hostile_conflicts(tz)
    view = notice.notice_view(rules=rules, conflicts=cs, blocks=week_blocks(tz), now=datetime(2026, 11, 23, 7, tzinfo=tz))
    assert "\n" not in view.subject and "\r" not in view.subject
    text, page = view.render(len(cs))
    assert_clean_text(text, max_line=700)
    assert_escaped_html(page)
    assert len(text) < 12_000 and len(page) < 120_000  # 4 MB of input, a bounded message
    assert text.count("    asked by:") == 4
    # the grid labels are short: a megabyte title is cut to a cell
    assert max(len(s) for s in tags_of(page).text) < 1000
    # nothing described: every conflict counted in one line, still escaped and bounded
    text0, page0 = view.render(0)
    assert "and 4 more (1 declined, 1 flagged, 1 allowed, 1 noted)" in text0
    assert "asked by" not in text0 and len(page0) < len(page)


def test_preview_escapes_and_bounds_hostile_text(rules: Any) -> None:
    tz = rules.tz
    blocks = [*week_blocks(tz), model.BlockInstance("x", HOSTILE + LONG, "personal",
                                                    datetime(2026, 11, 25, 12, tzinfo=tz), datetime(2026, 11, 25, 13, tzinfo=tz))]
    view = notice.preview_view(rules=rules, conflicts=hostile_conflicts(tz), blocks=blocks,
                               now=datetime(2026, 11, 22, 18, tzinfo=tz))
    assert view.subject == "boundaryd: your week ahead, Mon 23 Nov – Sun 29 Nov (4 conflicts)"
    text, page = view.render(4)
    assert_clean_text(text, max_line=700)
    assert_escaped_html(page)
    assert len(text) < 14_000 and len(page) < 150_000


def test_alert_keeps_lines_but_drops_control_characters() -> None:
    subject, body = notice.alert_view(HOSTILE + LONG, "It broke:\r\n\r\n\r\n\r\n" + HOSTILE + LONG)
    assert subject.startswith("boundaryd: Hi Bcc: victim@evil.example <script>") and "\n" not in subject
    assert len(subject) <= len("boundaryd: ") + 150
    assert body.startswith("It broke:\n\nHi\nBcc:")  # a body line, never a header: it sits under the text
    assert "\r" not in body and "\x00" not in body and "\u202e" not in body
    assert len(body) < 201_000
    assert body.endswith("\n-- \nboundaryd keeps your protected blocks on your calendar. `boundaryd notices` lists what it sent.\n")


def test_reply_subject_and_text_are_single_lines_per_field(rules: Any) -> None:
    occ = hostile_conflicts(rules.tz)[0].occurrence
    subject = reply.reply_subject(occ)
    assert "\n" not in subject and "\r" not in subject and len(subject) < 160
    assert subject.endswith("(Tue 24 Nov 2026)")
    text = reply.reply_text(occ, comment="", owner_name=HOSTILE + LONG, owner="alice@example.com")
    assert text.startswith("I'm not available then.\n\n-- \n")
    sig = text.split("-- \n", 1)[1]
    assert sig.count("\n") == 1 and len(sig) < 400 and "\r" not in sig
    assert reply.reply_text(occ, comment="Busy.\nSorry.", owner_name=None, owner="a@b.c").startswith("Busy.\nSorry.\n\n-- \na@b.c declined")
    assert reply.problem_words("organizer-unusable", occ).count("\n") == 0


def test_cli_lines_are_one_line_per_field_and_bounded(rules: Any) -> None:
    tz = rules.tz
    cs = hostile_conflicts(tz)
    for c in cs:
        lines = render.conflict_line(c)
        assert all("\r" not in line and "\x1b" not in line for line in lines[:1])
        assert len(lines[0]) < 200
    now = datetime(2026, 11, 23, 7, tzinfo=tz)
    plan = model.Plan(
        now=now, window_start=now, window_end=now + timedelta(days=14), blocks=(), actions=(),
        conflicts=tuple(cs), skipped=(model.Skipped(uid=HOSTILE + LONG, reason=HOSTILE + LONG),),
    )
    out = render.plan_summary(plan, executed=True)
    skipped = out.split("\n")[-1]
    assert skipped.startswith("Skipped unreadable event Hi Bcc: victim@evil.example") and len(skipped) < 260
    assert "\x1b" not in skipped and "\u202e" not in skipped
    assert "Declined (1):" in out and "Flagged (1):" in out and "Allowed (1):" in out and "Kept (policy keep) (1):" in out


def test_plan_summary_and_week_table_exact() -> None:
    tz = load_rules().tz
    now = datetime(2026, 11, 23, 7, tzinfo=tz)
    occ = occurrence(tz)
    plan = model.Plan(
        now=now, window_start=now, window_end=now + timedelta(days=14), blocks=(),
        actions=(WriteBlock(model.BlockEvent("u1", "b", "B", "f1", ""), "create"),
                 WriteBlock(model.BlockEvent("u2", "b", "B", "f2", ""), "create")),
        conflicts=(conflict(occ), conflict(occ, Decision.DECLINE, alternatives=())),
    )
    assert render.plan_summary(plan, executed=False) == "\n".join([
        "Window: Mon Nov 23 07:00 → Mon Dec 07 07:00 (America/Toronto)",
        "Calendar events: 2 to create",
        "Would decline (2):",
        "  Tue Nov 24 09:00–10:00  Quarterly sync from Bob Builder",
        "      on prospecting: you are invited and the block declines",
        "      offered: Wed Nov 25 11:00",
        "  Tue Nov 24 09:00–10:00  Quarterly sync from Bob Builder",
        "      on prospecting: you are invited and the block declines",
        "      offered: no free slot in working hours inside the horizon",
    ])
    empty = model.Plan(now=now, window_start=now, window_end=now, blocks=(), actions=(), conflicts=())
    assert render.plan_summary(empty, executed=True).split("\n")[1:] == [
        "Calendar events: up to date", "No meeting lands on a protected block."]
    table = render.week_table(week_blocks(tz)[:3], date(2026, 11, 23), days=2)
    assert table == (
        "Mon Nov 23   08:30–11:00 Prospecting calls · 17:30–19:30 Family dinner\n"
        "Tue Nov 24   08:30–11:00 Prospecting calls\n"
        "\n"
        "Protected this week: 5h prospecting, 2h family"
    )
    assert render.week_table([], date(2026, 11, 23), days=1) == "Mon Nov 23   —"


def test_html_templates_escape_with_quotes() -> None:
    page = templating.render("page.html", subject=HOSTILE)
    assert f"<title>{html.escape(HOSTILE, quote=True)}</title>" in page
    assert "<script>" not in page
    # text templates do not escape: what they show is cleaned text, not markup
    assert templating.render("alert.txt", text="<b>&</b>").startswith("<b>&</b>\n\n-- \n")


def test_undefined_template_values_are_errors() -> None:
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        templating.render("alert.txt")


def test_notice_text_exact_and_html_one_row_per_line(rules: Any) -> None:
    tz = rules.tz
    view = notice.notice_view(rules=rules, conflicts=[conflict(occurrence(tz))], blocks=week_blocks(tz),
                              now=datetime(2026, 11, 23, 7, tzinfo=tz))
    assert view.subject == "boundaryd: 1 declined"
    text, page = view.render(1)
    assert text == (
        "boundaryd checked your calendar on Mon 23 Nov 2026 07:00 (America/Toronto).\n"
        "1 declined.\n"
        "\n"
        "DECLINED\n"
        '  "Quarterly sync"  Tue 24 Nov 2026, 09:00–10:00\n'
        "    asked by:  Bob Builder <bob@client.example>\n"
        "    block:     Prospecting calls (08:30–11:00)\n"
        "    decision:  declined: you are invited and the block declines\n"
        "    offered:   Wed 25 Nov 11:00–12:00\n"
        "    message:   Thanks for the invitation. I'm not available then; could we meet Wed 25 Nov at 11:00?\n"
        "    details:   Agenda: numbers\n"
        "\n"
        "\n"
        "Times are in America/Toronto.\n"
        "-- \n"
        "boundaryd keeps your protected blocks on your calendar. `boundaryd notices` lists what it sent.\n"
    )
    rows = [line for line in page.split("\n") if line.startswith("<tr><td style=\"font-size:10px")]
    # the day stacked (one column on a phone): the half hours that hold something, each with its time, one row a line
    labels = [re.match(r'<tr><td style="[^"]*">([^<]*)</td>', line).group(1) for line in rows]  # type: ignore[union-attr]
    assert labels == ["08:30", "09:00", "09:30", "10:00", "10:30", "17:30", "18:00", "18:30", "19:00"]
    assert all(line.endswith("</td></tr>") and line.count("<tr>") == 1 for line in rows)
    card = next(line for line in page.split("\n") if line.startswith('<table role="presentation" cellpadding="0" cellspacing="0" border="0" width="100%"'))
    assert card.endswith("</table>") and card.count("<tr>") == 8  # title + 7 facts
    assert ">Bob Builder &lt;bob@client.example&gt;</td>" in card and "I&#x27;m not available then" in card
    assert "\n\n<p style=\"color:#5f6368;font-size:12px;margin-top:24px\">boundaryd keeps" in page
