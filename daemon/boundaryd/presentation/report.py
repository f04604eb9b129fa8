"""The weekly boundary ledger in words: the terminal table, ``report --json``, the HTML page and
the email (``report.txt`` / ``report.html``, the chart from ``report_chart``).

Dates are written by Babel in the owner's locale (``owner.locale``); durations as "12h 30m".
Organizers' addresses come from invitations: cleaned here, escaped by the HTML template.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from boundaryd.core.ledger import Ledger, WeekPoint
from boundaryd.presentation.notice import SUBJECT_PREFIX, MailView
from boundaryd.presentation.report_chart import Bar, chart_svg
from boundaryd.presentation.safe import clean_header
from boundaryd.presentation.templating import render
from boundaryd.presentation.times import zone_name

__all__ = ["duration_words", "ledger_json", "report_html", "report_text", "report_view"]

#: Babel's thin and narrow no-break spaces, as plain spaces (terminals and plain-text mail)
_PLAIN = str.maketrans({"\u2009": " ", "\u202f": " ", "\u00a0": " "})
_COLUMNS = ("Block", "Target", "Planned", "Kept", "Lost", "Made up")


def duration_words(minutes: int) -> str:
    """ "12h 30m", "45m", "10h", "0m"; a negative one with a minus sign."""
    sign, m = ("-" if minutes < 0 else ""), abs(int(minutes))
    h, m = divmod(m, 60)
    if h and m:
        return f"{sign}{h}h {m}m"
    return f"{sign}{h}h" if h else f"{sign}{m}m"


def ledger_json(ledger: Ledger) -> dict[str, Any]:
    """``report --json``: exactly the shape SPEC gives (history: the recorded weeks before, oldest first)."""
    return {
        "week": {"start": ledger.start.isoformat(), "end": ledger.end.isoformat()},
        "blocks": [
            {"block": b.block, "target_minutes": b.target_minutes, "planned_minutes": b.planned_minutes,
             "kept_minutes": b.kept_minutes, "lost_minutes": b.lost_minutes, "made_up_minutes": b.made_up_minutes}
            for b in ledger.blocks
        ],
        "declined": ledger.declined,
        "flagged": ledger.flagged,
        "allowed": ledger.allowed,
        "by_person": [{"person": p.person, "lost_minutes": p.lost_minutes, "events": p.events} for p in ledger.by_person],
        "history": [
            {"week": h.week.isoformat(), "planned_minutes": h.planned_minutes, "kept_minutes": h.kept_minutes}
            for h in ledger.history
        ],
    }


@dataclass(frozen=True)
class _Line:
    title: str
    target: str
    planned: str
    kept: str
    lost: str
    made_up: str
    pct: int  # kept of planned, for the HTML bar
    note: str  # short of the target
    makeup: bool  # the block has a target or make-up time: say how much was made up


def _locale(rules: Any) -> str:
    return str(getattr(getattr(rules, "owner", None), "locale", None) or "en_US")


def _short_date(d: date, locale: str) -> str:
    from babel.dates import format_skeleton

    return str(format_skeleton("Md", d, locale=locale)).translate(_PLAIN)


def _span(ledger: Ledger, locale: str) -> str:
    from babel.dates import format_interval

    first = ledger.start.date()
    return str(format_interval(first, first + timedelta(days=6), "yMMMd", locale=locale)).translate(_PLAIN)


def _lines(ledger: Ledger) -> list[_Line]:
    out = []
    for b in ledger.blocks:
        note = ""
        if b.target_minutes is not None and b.kept_minutes + b.made_up_minutes < b.target_minutes:
            note = f"{duration_words(b.target_minutes - b.kept_minutes - b.made_up_minutes)} short of its target"
        pct = round(100 * b.kept_minutes / b.planned_minutes) if b.planned_minutes > 0 else 0
        out.append(_Line(
            clean_header(b.title, 60), "-" if b.target_minutes is None else duration_words(b.target_minutes),
            duration_words(b.planned_minutes), duration_words(b.kept_minutes), duration_words(b.lost_minutes),
            duration_words(b.made_up_minutes), max(0, min(pct, 100)), note,
            b.target_minutes is not None or b.made_up_minutes > 0,
        ))
    return out


def _intro(ledger: Ledger, recorded: bool) -> str:
    if not recorded:
        return "boundaryd has no record of this week (it was not running then)."
    planned, kept = ledger.planned_minutes, ledger.kept_minutes
    if planned <= 0:
        return "No protected time was planned this week."
    lost = sum(b.lost_minutes for b in ledger.blocks)
    made = sum(b.made_up_minutes for b in ledger.blocks)
    text = f"You kept {duration_words(kept)} of the {duration_words(planned)} you protected ({round(100 * kept / planned)}%)."
    if lost:
        text += f" Meetings you let through took {duration_words(lost)}."
    if made:
        text += f" Make-up time scheduled: {duration_words(made)}."
    return text


def _counts(ledger: Ledger) -> str:
    if not (ledger.declined or ledger.flagged or ledger.allowed):
        return "No meeting was declined, flagged or let through an exception."
    return f"{ledger.declined} declined, {ledger.flagged} flagged, {ledger.allowed} let through by an exception."


def _people(ledger: Ledger, rules: Any) -> list[tuple[str, str, str]]:
    owners = set(getattr(getattr(rules, "owner", None), "emails", ()) or ())
    out = []
    for p in ledger.by_person:
        who = "you (your own events)" if p.person in owners or not p.person else clean_header(p.person, 120)
        out.append((who, duration_words(p.lost_minutes), f"{p.events} meeting{'s' if p.events != 1 else ''}"))
    return out


def _bars(ledger: Ledger, locale: str, recorded: bool) -> list[Bar]:
    known = {h.week: h for h in ledger.history}
    first = ledger.start.date() - timedelta(weeks=8)
    bars = []
    for n in range(9):
        week = first + timedelta(weeks=n)
        point: WeekPoint | None = ledger.point if n == 8 else known.get(week)
        if n == 8 and not recorded:
            point = None
        bars.append(Bar(week, _short_date(week, locale), None if point is None else point.planned_minutes,
                        0 if point is None else point.kept_minutes, current=n == 8))
    return bars


def _values(rules: Any, ledger: Ledger, recorded: bool) -> dict[str, Any]:
    from markupsafe import Markup

    locale = _locale(rules)
    span = _span(ledger, locale)
    lines = _lines(ledger)
    bars = _bars(ledger, locale, recorded)
    widths = [max(len(c), *(len(getattr(x, f)) for x in lines)) if lines else len(c)
              for c, f in zip(_COLUMNS, ("title", "target", "planned", "kept", "lost", "made_up"), strict=True)]

    def row(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    heading = f"Your boundaries, {span}"
    title = "Kept vs planned hours, the last 9 weeks"
    return {
        "subject": SUBJECT_PREFIX + f"your week's boundaries: {duration_words(ledger.kept_minutes)} of "
        f"{duration_words(ledger.planned_minutes)} kept",
        "heading": heading,
        "intro": _intro(ledger, recorded),
        "lines": lines,
        "table": [row(_COLUMNS)] + [row((x.title, x.target, x.planned, x.kept, x.lost, x.made_up)) for x in lines],
        "notes": [f"{x.title}: {x.note}" for x in lines if x.note],
        "counts": _counts(ledger),
        "people": _people(ledger, rules),
        "history": [(b.label, duration_words(b.kept_minutes), duration_words(b.planned_minutes), b.current)
                    for b in bars if b.planned_minutes is not None],
        "chart_title": title,
        "chart": Markup(chart_svg(bars, title, ("kept", "planned", "–"))),
        "zone": zone_name(rules),
        "recorded": recorded,
    }


def report_text(rules: Any, ledger: Ledger, recorded: bool = True, brief: bool = False) -> str:
    """The terminal's (and the email's text part's) ledger; ``brief``: without the history (the demo)."""
    return render("report.txt", **_values(rules, ledger, recorded), brief=brief)


def report_html(rules: Any, ledger: Ledger, recorded: bool = True) -> str:
    v = _values(rules, ledger, recorded)
    return render("report.html", **v)


def report_view(rules: Any, ledger: Ledger, recorded: bool = True) -> MailView:
    """The weekly email's words (``delivery.notice.build_mail`` makes the message)."""
    v = _values(rules, ledger, recorded)

    def both(_n_detail: int) -> tuple[str, str]:
        return render("report.txt", **v, brief=False), render("report.html", **v)

    return MailView(str(v["subject"]), 0, both)
