"""The emails the owner reads: conflict notices, the weekly preview, and one-off alerts.

A notice has a ``text/plain`` part and a ``text/html`` part that say the same thing. The HTML
draws the affected days as a week grid — the protected blocks in their colours, the conflicting
meetings drawn over them in the colour of the decision — then describes each conflict: the
meeting, its time in the owner's zone, who asked, the block, the decision, the reason and the
alternatives offered. The HTML is plain tables with inline styles and ``bgcolor`` attributes,
so it renders in webmail, Outlook, Apple Mail and Thunderbird alike; it has no scripts, no
images and no remote content.

Invitation text comes from strangers. Here it is: kept out of headers except through
``mail.clean_header`` (one line, no control characters, bounded), HTML-escaped in the HTML part,
and bounded per field. The message as a whole stays under ``mail.MAX_MESSAGE_BYTES`` (1 MB): at
most ``MAX_DETAILED`` conflicts are described one by one, the rest are summarized ("and 2,431
more: ..."), and if the message would still be too large fewer are described — whole entries,
never a cut in the middle of one.
"""

from __future__ import annotations

import email.utils
import html
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from boundaryd.core import model
from boundaryd.core.ical import as_local
from boundaryd.core.model import Decision
from boundaryd.delivery.mail import (
    MAX_MESSAGE_BYTES,
    clean_header,
    clean_text,
    format_address,
    message_id,
    usable_address,
)

__all__ = ["MAX_DETAILED", "build_notice", "build_owner_alert", "build_weekly_preview"]

#: conflicts described one by one in a notice; the rest are counted
MAX_DETAILED = 100
#: days drawn in a notice's grid (the first affected ones)
GRID_MAX_DAYS = 7
_SLOT = timedelta(minutes=30)

_LABEL = {Decision.DECLINE: "Declined", Decision.FLAG: "Flagged", Decision.ALLOW: "Allowed", Decision.KEEP: "Noted"}
_PAST = model.PAST_TENSE
_ORDER = (Decision.DECLINE, Decision.FLAG, Decision.ALLOW, Decision.KEEP)
_DECISION_BG = {Decision.DECLINE: "#d93025", Decision.FLAG: "#f29900", Decision.ALLOW: "#188038", Decision.KEEP: "#5f6368"}
_KIND_BG = {
    "family": "#c6dafc",
    "workout": "#b7e1cd",
    "prospecting": "#fce8b2",
    "follow-up": "#f4c7c3",
    "call-return": "#d7c9f1",
    "buffer": "#e8eaed",
    "personal": "#c5e8f7",
    "day-off": "#d2e3fc",
}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FONT = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"


# --- public ---------------------------------------------------------------------------------


def build_notice(
    *,
    rules: Any,
    conflicts: Sequence[model.Conflict],
    blocks: Sequence[model.BlockInstance],
    now: datetime,
    key: str,
) -> EmailMessage:
    """One email for the new conflicts of a sync (or a digest)."""
    tz = _tz(rules)
    cs = sorted(conflicts, key=lambda c: (as_local(c.occurrence.start, tz), c.occurrence.uid))
    counts = Counter(c.decision for c in cs)
    subject = "boundaryd: " + (_counts(counts) or "no new conflicts")
    days = sorted({as_local(c.occurrence.start, tz).date() for c in cs})
    grid_days = days[:GRID_MAX_DAYS]
    intro = f"boundaryd checked your calendar on {_fmt_dt(as_local(now, tz))} ({_zone(rules)})."
    counted = (_counts(counts) + ".") if cs else "Nothing new."
    more_days = len(days) - len(grid_days)
    grid_note = (
        f"The picture shows the first {len(grid_days)} of the {len(days)} days with conflicts." if more_days > 0 else ""
    )

    def render(n_detail: int) -> tuple[str, str]:
        text = [intro, counted, ""]
        text += _text_conflicts(cs, n_detail, rules, blocks, tz)
        text += ["", f"Times are in {_zone(rules)}.", _footer_text()]
        body = [_h1(counted), _p(intro)]
        if grid_days:
            body.append(_grid_html(grid_days, blocks, cs, tz, rules))
            if grid_note:
                body.append(_p(grid_note, small=True))
        body.append(_html_conflicts(cs, n_detail, rules, blocks, tz))
        body.append(_p(f"Times are in {html.escape(_zone(rules))}.", small=True, raw=True))
        return "\n".join(text) + "\n", _page(subject, "".join(body))

    return _fit(rules, subject, now, key, render, len(cs))


def build_weekly_preview(
    *,
    rules: Any,
    conflicts: Sequence[model.Conflict],
    blocks: Sequence[model.BlockInstance],
    now: datetime,
    key: str,
    start: date | None = None,
) -> EmailMessage:
    """"Your week ahead": the protected blocks of 7 days and the conflicts already known.

    The week starts at ``start``; by default the coming Monday when ``now`` falls on a Saturday
    or Sunday (a preview sent before the week starts), else today.
    """
    tz = _tz(rules)
    today = as_local(now, tz).date()
    if start is None:
        start = today + timedelta(days=7 - today.weekday()) if today.weekday() >= 5 else today
    days = [start + timedelta(days=i) for i in range(7)]
    lo = datetime.combine(days[0], time(0), tz)
    hi = datetime.combine(days[-1] + timedelta(days=1), time(0), tz)
    week_blocks = [b for b in blocks if as_local(b.end, tz) > lo and as_local(b.start, tz) < hi]
    cs = sorted(
        (c for c in conflicts if lo <= as_local(c.occurrence.start, tz) < hi),
        key=lambda c: (as_local(c.occurrence.start, tz), c.occurrence.uid),
    )
    span = f"{_fmt_day(days[0])} – {_fmt_day(days[-1])}"
    n = len(cs)
    subject = f"boundaryd: your week ahead, {span}" + (f" ({n:,} conflict{'s' if n != 1 else ''})" if n else "")
    protected = sum(((as_local(b.end, tz) - as_local(b.start, tz)) for b in week_blocks if not b.all_day), timedelta())
    hours = protected.total_seconds() / 3600
    intro = (
        f"Your week ahead, {span}: {len(week_blocks)} protected block{'s' if len(week_blocks) != 1 else ''}"
        f" ({hours:g} hours)" + (f", {_counts(Counter(c.decision for c in cs))} so far." if cs else ", no conflicts so far.")
    )

    def render(n_detail: int) -> tuple[str, str]:
        text = [intro, ""]
        for d in days:
            items = sorted((b for b in week_blocks if as_local(b.start, tz).date() == d), key=lambda b: (not b.all_day, b.start))
            line = ", ".join(f"{clean_header(b.title, 60)} {_span_local(b.start, b.end, b.all_day, tz)}" for b in items)
            text.append(f"{_fmt_day(d):<11} {line or '-'}")
        text.append("")
        if cs:
            text += _text_conflicts(cs, n_detail, rules, week_blocks, tz)
            text.append("")
        text += [f"Times are in {_zone(rules)}.", _footer_text()]
        body = [_h1(f"Your week ahead, {html.escape(span)}", raw=True), _p(intro)]
        body.append(_grid_html(days, week_blocks, cs, tz, rules))
        if cs:
            body.append(_html_conflicts(cs, n_detail, rules, week_blocks, tz))
        body.append(_p(f"Times are in {html.escape(_zone(rules))}.", small=True, raw=True))
        return "\n".join(text) + "\n", _page(subject, "".join(body))

    return _fit(rules, subject, now, key, render, len(cs))


def build_owner_alert(*, rules: Any, subject: str, text: str, now: datetime, key: str) -> EmailMessage:
    """A plain one-off notice to the owner (the daemon failing, a rules file that does not validate)."""
    msg = _envelope(rules, "boundaryd: " + clean_header(subject, 150), now, key)
    msg.set_content(clean_text(text, 200_000) + "\n\n" + _footer_text() + "\n")
    return msg


# --- composing --------------------------------------------------------------------------------


def _fit(rules: Any, subject: str, now: datetime, key: str, render: Any, n: int) -> EmailMessage:
    """The message with as many conflicts described as fit under MAX_MESSAGE_BYTES."""
    detail = min(n, MAX_DETAILED)
    while True:
        text, page = render(detail)
        msg = _envelope(rules, subject, now, key)
        msg.set_content(text)
        msg.add_alternative(page, subtype="html")
        if detail == 0 or len(msg.as_bytes()) <= MAX_MESSAGE_BYTES:
            return msg
        detail //= 2


def _envelope(rules: Any, subject: str, now: datetime, key: str) -> EmailMessage:
    to = _notify_to(rules)
    sender = _notify_from(rules) or to
    msg = EmailMessage()
    msg["From"] = format_address("boundaryd", sender)
    msg["To"] = format_address(getattr(rules.owner, "name", None) or "", to)
    msg["Subject"] = clean_header(subject, 200)
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = message_id(key, sender.rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    return msg


def _notify_to(rules: Any) -> str:
    addr = getattr(rules, "notify_to", None)
    if not addr:
        em = getattr(getattr(rules, "notify", None), "email", None)
        addr = getattr(em, "to", None) or rules.owner.emails[0]
    return usable_address(addr) or clean_header(addr, 254)


def _notify_from(rules: Any) -> str | None:
    addr = getattr(rules, "notify_from", None)
    if not addr:
        em = getattr(getattr(rules, "notify", None), "email", None)
        addr = getattr(em, "from_", None)
    return (usable_address(addr) or clean_header(addr, 254)) if addr else None


def _counts(counts: Counter[Decision]) -> str:
    return model.counts_text(counts.elements())


def _footer_text() -> str:
    return "-- \nboundaryd keeps your protected blocks on your calendar. `boundaryd notices` lists what it sent."


# --- times ------------------------------------------------------------------------------------


def _tz(rules: Any) -> ZoneInfo:
    tz = getattr(rules, "tz", None)
    return tz if tz is not None else ZoneInfo(rules.timezone)


def _zone(rules: Any) -> str:
    return str(getattr(rules, "timezone", None) or _tz(rules).key)


def _fmt_day(d: date) -> str:
    return f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]}"


def _fmt_dt(t: datetime) -> str:
    return f"{_fmt_day(t.date())} {t.year} {t:%H:%M}"


def _hm(t: datetime, day_start: datetime | None = None) -> str:
    if day_start is not None and t - day_start >= timedelta(days=1) and t.hour == 0 and t.minute == 0:
        return "24:00"
    return f"{t:%H:%M}"


def _span_local(start: datetime | date, end: datetime | date, all_day: bool, tz: ZoneInfo) -> str:
    s, e = as_local(start, tz), as_local(end, tz)
    if all_day:
        last = (e - timedelta(seconds=1)).date()
        return "all day" if last <= s.date() else f"all day to {_fmt_day(last)}"
    if e.date() == s.date() or (e - s <= timedelta(days=1) and e.hour == 0 and e.minute == 0 and e.date() == s.date() + timedelta(days=1)):
        return f"{_hm(s)}–{_hm(e, datetime.combine(s.date(), time(0), tz))}"
    return f"{_hm(s)}–{_fmt_day(e.date())} {_hm(e)}"


def _when(occ: model.Occurrence, tz: ZoneInfo) -> str:
    s = as_local(occ.start, tz)
    return f"{_fmt_day(s.date())} {s.year}, {_span_local(occ.start, occ.end, occ.all_day, tz)}"


# --- what a conflict says -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    decision: Decision
    title: str
    when: str
    who: str
    block: str
    reason: str
    offered: str
    message: str
    details: str


def _block_title(c: model.Conflict, rules: Any, blocks: Sequence[model.BlockInstance], tz: ZoneInfo) -> str:
    occ = c.occurrence
    s, e = as_local(occ.start, tz), as_local(occ.end, tz)
    for b in blocks:
        if b.block == c.block and as_local(b.start, tz) < max(e, s + timedelta(seconds=1)) and as_local(b.end, tz) > s:
            return f"{clean_header(b.title, 80)} ({_span_local(b.start, b.end, b.all_day, tz)})"
    for b in getattr(rules, "blocks", ()) or ():
        if getattr(b, "id", None) == c.block:
            label = getattr(b, "label", None) or getattr(b, "title", None) or c.block
            return clean_header(label, 80)
    return clean_header(c.block, 80)


def _facts(c: model.Conflict, rules: Any, blocks: Sequence[model.BlockInstance], tz: ZoneInfo) -> _Facts:
    occ = c.occurrence
    name = clean_header(occ.organizer_name, 80)
    addr = clean_header(occ.organizer, 120)
    who = f"{name} <{addr}>" if name and addr else (name or addr or "(no organizer: your own event)")
    length = as_local(occ.end, tz) - as_local(occ.start, tz)
    offered = ", ".join(
        f"{_fmt_day(as_local(a, tz).date())} {_span_local(a, as_local(a, tz) + length, False, tz)}" for a in c.alternatives[:5]
    )
    others = [b for b in c.blocks if b != c.block]
    block = _block_title(c, rules, blocks, tz)
    if others:
        block += " (also " + ", ".join(clean_header(b, 40) for b in others[:5]) + (" ..." if len(others) > 5 else "") + ")"
    return _Facts(
        decision=c.decision,
        title=clean_header(occ.summary, 200) or "(no title)",
        when=_when(occ, tz),
        who=who,
        block=block,
        reason=clean_header(c.reason, 300),
        offered=offered,
        message=clean_header(c.message, 600) if c.decision is Decision.DECLINE else "",
        details=clean_header(occ.description, 200),
    )


def _rest_summary(rest: Sequence[model.Conflict]) -> str:
    counts = Counter(c.decision for c in rest)
    return f"and {len(rest):,} more ({_counts(counts)}): run `boundaryd plan` to see them all."


def _text_conflicts(
    cs: Sequence[model.Conflict], n_detail: int, rules: Any, blocks: Sequence[model.BlockInstance], tz: ZoneInfo
) -> list[str]:
    out: list[str] = []
    shown = list(cs[:n_detail])
    for decision in _ORDER:
        group = [c for c in shown if c.decision is decision]
        if not group:
            continue
        out.append(_LABEL[decision].upper())
        for c in group:
            f = _facts(c, rules, blocks, tz)
            out.append(f'  "{f.title}"  {f.when}')
            out.append(f"    asked by:  {f.who}")
            out.append(f"    block:     {f.block}")
            out.append(f"    decision:  {_LABEL[decision].lower()}: {f.reason}")
            if f.offered:
                out.append(f"    offered:   {f.offered}")
            if f.message:
                out.append(f"    message:   {f.message}")
            if f.details:
                out.append(f"    details:   {f.details}")
            out.append("")
    rest = list(cs[n_detail:])
    if rest:
        out.append(_rest_summary(rest))
    return out


# --- HTML -----------------------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _page(subject: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width\">"
        f"<title>{_e(subject)}</title></head>\n"
        f"<body style=\"margin:0;padding:16px;background:#ffffff;color:#202124;{_FONT};font-size:14px\">\n"
        f"{body}\n"
        f"<p style=\"color:#5f6368;font-size:12px;margin-top:24px\">boundaryd keeps your protected blocks on your calendar."
        " <code>boundaryd notices</code> lists what it sent.</p>\n"
        "</body></html>\n"
    )


def _h1(text: str, raw: bool = False) -> str:
    return f"<h1 style=\"font-size:18px;margin:0 0 8px 0\">{text if raw else _e(text)}</h1>\n"


def _p(text: str, small: bool = False, raw: bool = False) -> str:
    style = "color:#5f6368;font-size:12px;margin:4px 0 12px 0" if small else "margin:4px 0 12px 0"
    return f"<p style=\"{style}\">{text if raw else _e(text)}</p>\n"


def _html_conflicts(
    cs: Sequence[model.Conflict], n_detail: int, rules: Any, blocks: Sequence[model.BlockInstance], tz: ZoneInfo
) -> str:
    rows: list[str] = []
    shown = list(cs[:n_detail])
    for decision in _ORDER:
        group = [c for c in shown if c.decision is decision]
        if not group:
            continue
        rows.append(f"<h2 style=\"font-size:16px;margin:20px 0 6px 0\">{_e(_LABEL[decision])}</h2>\n")
        for c in group:
            f = _facts(c, rules, blocks, tz)
            badge = (
                f"<span style=\"background:{_DECISION_BG[decision]};color:#ffffff;border-radius:3px;"
                f"padding:1px 6px;font-size:12px\">{_e(_LABEL[decision])}</span>"
            )
            lines = [
                ("When", f.when),
                ("Asked by", f.who),
                ("Block", f.block),
                ("Why", f.reason),
            ]
            if f.offered:
                lines.append(("Offered", f.offered))
            if f.message:
                lines.append(("Message", f.message))
            if f.details:
                lines.append(("Details", f.details))
            cells = "".join(
                f"<tr><td width=\"90\" style=\"color:#5f6368;padding:1px 12px 1px 0;vertical-align:top;white-space:nowrap;width:90px\">{_e(k)}</td>"
                f"<td style=\"padding:1px 0;vertical-align:top\">{_e(v)}</td></tr>"
                for k, v in lines
            )
            rows.append(
                "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" width=\"100%\" "
                f"style=\"border-left:4px solid {_DECISION_BG[decision]};margin:0 0 10px 0;padding-left:8px\">"
                f"<tr><td colspan=\"2\" style=\"padding:2px 0 4px 0\">{badge} <b>{_e(f.title)}</b></td></tr>"
                f"{cells}</table>\n"
            )
    rest = list(cs[n_detail:])
    if rest:
        rows.append(_p(_rest_summary(rest)))
    return "".join(rows)


def _grid_html(
    days: Sequence[date],
    blocks: Sequence[model.BlockInstance],
    cs: Sequence[model.Conflict],
    tz: ZoneInfo,
    rules: Any,
) -> str:
    """A week grid: one column per day (two lanes: block, meeting), one row per half hour."""
    # what falls on each day, clipped to it
    timed_blocks: dict[date, list[tuple[datetime, datetime, model.BlockInstance]]] = {d: [] for d in days}
    allday_blocks: dict[date, list[model.BlockInstance]] = {d: [] for d in days}
    timed_meet: dict[date, list[tuple[datetime, datetime, model.Conflict]]] = {d: [] for d in days}
    allday_meet: dict[date, list[model.Conflict]] = {d: [] for d in days}
    for d in days:
        d0 = datetime.combine(d, time(0), tz)
        d1 = datetime.combine(d + timedelta(days=1), time(0), tz)
        for b in blocks:
            s, e = as_local(b.start, tz), as_local(b.end, tz)
            if s < d1 and e > d0:
                if b.all_day:
                    allday_blocks[d].append(b)
                else:
                    timed_blocks[d].append((max(s, d0), min(e, d1), b))
        for c in cs:
            o = c.occurrence
            s, e = as_local(o.start, tz), as_local(o.end, tz)
            e = max(e, s + timedelta(minutes=1))
            if s < d1 and e > d0:
                if o.all_day:
                    allday_meet[d].append(c)
                else:
                    timed_meet[d].append((max(s, d0), min(e, d1), c))

    # the hours shown: working hours, widened to what is on these days
    wh = getattr(rules, "working_hours", None)
    first = getattr(wh, "start", time(9)).hour
    last = getattr(wh, "end", time(17))
    last_h = last.hour + (1 if last.minute else 0)
    for d in days:
        d0 = datetime.combine(d, time(0), tz)
        for s, e, _ in [*timed_blocks[d], *timed_meet[d]]:
            first = min(first, int((s - d0).total_seconds() // 3600))
            last_h = max(last_h, int(-(-(e - d0).total_seconds() // 3600)))
    first, last_h = max(0, first), min(24, max(last_h, first + 1))
    n_slots = int((last_h - first) * timedelta(hours=1) / _SLOT)

    th = "padding:3px 4px;font-size:11px;color:#3c4043;border-bottom:1px solid #dadce0;text-align:left"
    out = [
        (
            "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" "
            "style=\"border-collapse:collapse;table-layout:fixed;width:100%;max-width:760px;margin:8px 0 4px 0\">"
        ),
        f"<tr><td style=\"{th};width:40px\"></td>",
    ]
    for d in days:
        out.append(f"<td colspan=\"2\" style=\"{th};border-left:1px solid #dadce0\"><b>{_e(_fmt_day(d))}</b></td>")
    out.append("</tr>\n")

    if any(allday_blocks[d] or allday_meet[d] for d in days):
        out.append(f"<tr><td style=\"{th}\">all day</td>")
        for d in days:
            b_lane = allday_blocks[d]
            m_lane = allday_meet[d]
            out.append(_cell(_KIND_BG.get(b_lane[0].kind, "#e8eaed") if b_lane else None,
                             _label([b.title for b in b_lane]), first_lane=True))
            mbg = _DECISION_BG[max((c.decision for c in m_lane), key=lambda x: x.rank)] if m_lane else None
            out.append(_cell(mbg, _label([c.occurrence.summary for c in m_lane]), fg="#ffffff",
                             under=_KIND_BG.get(b_lane[0].kind) if b_lane else None))
        out.append("</tr>\n")

    for i in range(n_slots):
        label = f"{first + i // 2:02d}:00" if i % 2 == 0 else ""
        out.append(f"<tr><td style=\"font-size:10px;color:#80868b;padding:0 4px;vertical-align:top;height:14px\">{label}</td>")
        for d in days:
            s0 = datetime.combine(d, time(0), tz) + timedelta(hours=first) + i * _SLOT
            s1 = s0 + _SLOT
            b_here = [(s, b) for s, e, b in timed_blocks[d] if s < s1 and e > s0]
            m_here = [(s, c) for s, e, c in timed_meet[d] if s < s1 and e > s0]
            b_starts = [b.title for s, b in b_here if s >= s0 or (i == 0 and s < s0)]
            m_starts = [c.occurrence.summary for s, c in m_here if s >= s0 or (i == 0 and s < s0)]
            bbg = _KIND_BG.get(b_here[0][1].kind, "#e8eaed") if b_here else None
            out.append(_cell(bbg, _label(b_starts), first_lane=True))
            mbg = _DECISION_BG[max((c.decision for _, c in m_here), key=lambda x: x.rank)] if m_here else None
            out.append(_cell(mbg, _label(m_starts), fg="#ffffff", under=bbg))
        out.append("</tr>\n")
    out.append("</table>\n")
    out.append(_legend(blocks, cs, days, tz))
    return "".join(out)


def _label(titles: Iterable[str]) -> str:
    items = list(titles)
    if not items:
        return ""
    first = clean_header(items[0][:200], 22) or "(no title)"
    return first + (f" +{len(items) - 1:,}" if len(items) > 1 else "")


def _cell(bg: str | None, text: str, *, first_lane: bool = False, fg: str = "#202124", under: str | None = None) -> str:
    """One lane of one half hour. A meeting lane over a block shows the block's colour around it."""
    border = "border-left:1px solid #dadce0;" if first_lane else ""
    if bg is None:
        color = under or "#ffffff"
        return f"<td bgcolor=\"{color}\" style=\"{border}background:{color};height:14px\"></td>"
    edge = f"border-right:3px solid {under};" if under else ""
    return (
        f"<td bgcolor=\"{bg}\" style=\"{border}{edge}background:{bg};color:{fg};font-size:10px;line-height:12px;"
        f"height:14px;overflow:hidden;white-space:nowrap;padding:0 2px\">{_e(text)}</td>"
    )


def _legend(blocks: Sequence[model.BlockInstance], cs: Sequence[model.Conflict], days: Sequence[date], tz: ZoneInfo) -> str:
    shown_days = set(days)
    kinds: dict[str, str] = {}
    for b in blocks:
        if as_local(b.start, tz).date() in shown_days and b.kind not in kinds and len(kinds) < 12:
            kinds[b.kind] = clean_header(b.title, 40)
    decisions = sorted({c.decision for c in cs if as_local(c.occurrence.start, tz).date() in shown_days}, key=_ORDER.index)
    chips = [
        f"<span style=\"display:inline-block;margin:0 10px 2px 0\"><span style=\"background:{_KIND_BG.get(k, '#e8eaed')};"
        f"border:1px solid #dadce0\">&nbsp;&nbsp;&nbsp;&nbsp;</span> {_e(t)}</span>"
        for k, t in kinds.items()
    ]
    chips += [
        f"<span style=\"display:inline-block;margin:0 10px 2px 0\"><span style=\"background:{_DECISION_BG[d]}\">"
        f"&nbsp;&nbsp;&nbsp;&nbsp;</span> meeting {_e(_PAST[d])}</span>"
        for d in decisions
    ]
    return f"<p style=\"font-size:11px;color:#3c4043;margin:2px 0 14px 0\">{''.join(chips)}</p>\n" if chips else ""
