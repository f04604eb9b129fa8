"""What the owner reads in a notice, a weekly preview and an alert: subject, text and HTML.

``delivery.notice`` puts these into messages; everything said is decided here and in the
templates (``notice.txt``/``notice.html``, ``preview.txt``/``preview.html``, ``alert.txt``, with
``conflicts.*``, ``grid.html``, ``page.html`` and ``footer.txt``). A view renders with as many
conflicts described one by one as asked (``render(n_detail)``); the rest are summarized in one
line, so the delivery side can shrink a message that would be too large.

Invitation text is cleaned here (one line, bounded per field: ``presentation.safe``) and
HTML-escaped by the templates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from boundaryd.core import model
from boundaryd.core.ical import as_local
from boundaryd.core.model import Decision
from boundaryd.presentation.grid import DECISION_BG, week_grid
from boundaryd.presentation.safe import clean_header, clean_text
from boundaryd.presentation.templating import render
from boundaryd.presentation.times import fmt_day, fmt_dt, rules_tz, span_local, when, zone_name
from boundaryd.presentation.words_leads import lead_lines

__all__ = ["GRID_MAX_DAYS", "NOTICE_ORDER", "MailView", "Told", "alert_view", "notice_view", "preview_view"]

#: days drawn in a notice's grid (the first affected ones)
GRID_MAX_DAYS = 7
SUBJECT_PREFIX = "boundaryd: "
_LABEL = {Decision.DECLINE: "Declined", Decision.FLAG: "Flagged", Decision.ALLOW: "Allowed", Decision.KEEP: "Noted"}
#: the order a notice lists conflicts in: what needs the owner's action first
NOTICE_ORDER = (Decision.FLAG, Decision.DECLINE, Decision.ALLOW, Decision.KEEP)
#: how the organizer of a declined meeting learns of it (``core.actions.Telling``'s values) -> told or not
_TOLD = {"server": True, "reply": True, "outbox": False, "nobody": False}
#: a decline whose organizer was not told: the group it is listed under, and its colour
_UNTOLD = "Declined on your calendar only"
_UNTOLD_BG = "#a142f4"
#: a conflict's occurrence key -> (``Telling`` value, ``told_why``): how each decline of this sync reaches its organizer
Told = Mapping[tuple[str, str], tuple[str, str]]
_NO_TOLD: Told = MappingProxyType({})


@dataclass(frozen=True)
class Facts:
    """One conflict as a notice describes it; every field cleaned and bounded."""

    decision: Decision
    title: str
    when: str
    who: str
    block: str
    reason: str
    offered: str
    message: str
    details: str
    ref: str = ""
    command: str = ""  # the command that changes this conflict's fate
    told: str = ""  # for a decline: whether and how the organizer learns of it


def command_for(c: model.Conflict, owners: Sequence[str] = ()) -> str:
    """``boundaryd decline REF`` for a flag on an invitation, ``boundaryd allow REF`` (undo) for a decline."""
    if not c.ref:
        return ""
    occ = c.occurrence
    invited = occ.organizer not in owners and any(a.email in owners for a in occ.attendees)
    if c.decision is Decision.FLAG and invited:
        return f"boundaryd decline {c.ref}" + (" --series" if c.series else "")
    if c.decision is Decision.DECLINE:
        return f"boundaryd allow {c.ref}" + (" --series" if c.series else "")
    return ""


@dataclass(frozen=True)
class Group:
    label: str
    colour: str
    facts: tuple[Facts, ...]


@dataclass(frozen=True)
class MailView:
    """A message's words: its subject, and ``render(n_detail) -> (text, html)``."""

    subject: str
    count: int  # conflicts it could describe one by one
    _render: Any

    def render(self, n_detail: int) -> tuple[str, str]:
        text, page = self._render(n_detail)
        return str(text), str(page)


def counts(decisions: Iterable[Decision]) -> str:
    return model.counts_text(Counter(decisions).elements())


def honest_counts(cs: Sequence[model.Conflict], told: Told = _NO_TOLD) -> str:
    """``counts`` where a decline its organizer was not told of is counted as what it is."""
    untold = sum(1 for c in cs if c.decision is Decision.DECLINE and not told_note(c, told)[0])
    said = counts(c.decision for c in cs if not (c.decision is Decision.DECLINE and not told_note(c, told)[0]))
    return ", ".join(x for x in (said, f"{untold:,} {_UNTOLD.lower()}" if untold else "") if x)


#: a conflict's ``block`` when a ``busy_from`` source decided it (``core.busy.PREFIX``)
_SOURCE = "busy_from:"


def _source_name(block_id: str) -> str:
    """A block id as the owner reads it: a ``busy_from`` source by its name, not its raw id."""
    return f"{block_id[len(_SOURCE):]} (busy_from)" if block_id.startswith(_SOURCE) else block_id


def _block_title(c: model.Conflict, rules: Any, blocks: Sequence[model.BlockInstance], tz: ZoneInfo) -> str:
    occ = c.occurrence
    if c.block.startswith(_SOURCE):
        return clean_header(_source_name(c.block), 80)
    s, e = as_local(occ.start, tz), as_local(occ.end, tz)
    for b in blocks:
        if b.block == c.block and as_local(b.start, tz) < max(e, s + timedelta(seconds=1)) and as_local(b.end, tz) > s:
            return f"{clean_header(b.title, 80)} ({span_local(b.start, b.end, b.all_day, tz)})"
    for b in getattr(rules, "blocks", ()) or ():
        if getattr(b, "id", None) == c.block:
            label = getattr(b, "label", None) or getattr(b, "title", None) or c.block
            return clean_header(label, 80)
    return clean_header(c.block, 80)


def told_note(c: model.Conflict, told: Told) -> tuple[bool, str]:
    """Whether the organizer of a declined ``c`` was (or is being) told, and the words that say how.

    A decline this sync did not plan (a digest of earlier ones) counts as told: it was notified
    when made."""
    how, why = told.get(c.occurrence.key, ("", ""))
    why = clean_header(why, 200)
    if how == "outbox":
        return False, "decline waiting in your outbox — send it or the organizer will not know" + (f" ({why})" if why else "")
    if how == "nobody":
        return False, "the organizer was not told" + (f": {why}" if why else "")
    return True, why


def facts(c: model.Conflict, rules: Any, blocks: Sequence[model.BlockInstance], tz: ZoneInfo, told: Told = _NO_TOLD) -> Facts:
    occ = c.occurrence
    name = clean_header(occ.organizer_name, 80)
    addr = clean_header(occ.organizer, 120)
    who = f"{name} <{addr}>" if name and addr else (name or addr or "(no organizer: your own event)")
    length = as_local(occ.end, tz) - as_local(occ.start, tz)
    offered = ", ".join(
        f"{fmt_day(as_local(a, tz).date())} {span_local(a, as_local(a, tz) + length, False, tz)}" for a in c.alternatives[:5]
    )
    others = [b for b in c.blocks if b != c.block]
    block = _block_title(c, rules, blocks, tz)
    if others:
        block += " (also " + ", ".join(clean_header(_source_name(b), 40) for b in others[:5]) + (" ..." if len(others) > 5 else "") + ")"
    return Facts(
        decision=c.decision,
        title=clean_header(occ.summary, 200) or "(no title)",
        when=when(occ, tz) + (" (every occurrence in the window)" if c.series else ""),
        who=who,
        block=block,
        reason=clean_header(c.reason, 300),
        offered=offered,
        message=clean_header(c.message, 600) if c.decision is Decision.DECLINE else "",
        details=clean_header(occ.description, 200),
        ref=c.ref,
        command=command_for(c, getattr(getattr(rules, "owner", None), "emails", ())),
        told=told_note(c, told)[1] if c.decision is Decision.DECLINE else "",
    )


def _group_of(c: model.Conflict, told: Told) -> tuple[int, str, str]:
    """Where ``c`` is listed: (rank, label, colour). Flags first (they need the owner's action), then
    declines the organizer was not told of (they need it too), then declines, allowed, kept."""
    if c.decision is Decision.DECLINE and not told_note(c, told)[0]:
        return (1, _UNTOLD, _UNTOLD_BG)
    rank = NOTICE_ORDER.index(c.decision)
    return (rank + (1 if rank >= 1 else 0), _LABEL[c.decision], DECISION_BG[c.decision])


def ordered(cs: Iterable[model.Conflict], told: Told = _NO_TOLD) -> list[model.Conflict]:
    """``cs`` (already in time order) in the order a notice lists them (stable within a group)."""
    return sorted(cs, key=lambda c: _group_of(c, told)[0])


def _described(
    cs: Sequence[model.Conflict],
    n_detail: int,
    rules: Any,
    blocks: Sequence[model.BlockInstance],
    tz: ZoneInfo,
    told: Told = _NO_TOLD,
) -> dict[str, Any]:
    """The template values for the conflicts: ``groups`` described one by one, ``rest`` in one line."""
    shown = ordered(cs, told)[:n_detail]
    rest = ordered(cs, told)[n_detail:]
    groups: list[Group] = []
    for c in shown:
        _, label, colour = _group_of(c, told)
        f = facts(c, rules, blocks, tz, told)
        if groups and groups[-1].label == label:
            groups[-1] = Group(label, colour, (*groups[-1].facts, f))
        else:
            groups.append(Group(label, colour, (f,)))
    summary = (
        f"and {len(rest):,} more ({honest_counts(rest, told)}): run `boundaryd plan` to see them all." if rest else ""
    )
    return {"groups": groups, "rest": summary}


def _sorted(cs: Iterable[model.Conflict], tz: ZoneInfo) -> list[model.Conflict]:
    return sorted(cs, key=lambda c: (as_local(c.occurrence.start, tz), c.occurrence.uid))


def notice_view(
    *,
    rules: Any,
    conflicts: Sequence[model.Conflict],
    blocks: Sequence[model.BlockInstance],
    now: datetime,
    told: Told = _NO_TOLD,
) -> MailView:
    """The notice for the new conflicts of a sync (or a digest); ``told`` says how each of this
    sync's declines reaches its organizer (a decline not in it counts as told)."""
    tz = rules_tz(rules)
    cs = _sorted(conflicts, tz)
    leads = lead_lines(cs)  # a new lead's notice: the sentence first, and as the subject
    subject = SUBJECT_PREFIX + (clean_header(leads[0], 150) if leads else honest_counts(cs, told) or "no new conflicts")
    days = sorted({as_local(c.occurrence.start, tz).date() for c in cs})
    grid_days = days[:GRID_MAX_DAYS]
    values: dict[str, Any] = {
        "subject": subject,
        "zone": zone_name(rules),
        "intro": f"boundaryd checked your calendar on {fmt_dt(as_local(now, tz))} ({zone_name(rules)}).",
        "counted": (honest_counts(cs, told) + ".") if cs else "Nothing new.",
        "leads": leads,
        "grid": week_grid(grid_days, blocks, cs, tz, rules) if grid_days else None,
        "grid_note": (
            f"The picture shows the first {len(grid_days)} of the {len(days)} days with conflicts."
            if len(days) > len(grid_days)
            else ""
        ),
    }

    def draw(n_detail: int) -> tuple[str, str]:
        v = values | _described(cs, n_detail, rules, blocks, tz, told)
        return render("notice.txt", **v), render("notice.html", **v)

    return MailView(subject, len(cs), draw)


def preview_view(
    *,
    rules: Any,
    conflicts: Sequence[model.Conflict],
    blocks: Sequence[model.BlockInstance],
    now: datetime,
    start: date | None = None,
) -> MailView:
    """"Your week ahead": the protected blocks of 7 days and the conflicts already known.

    The week starts at ``start``; by default the coming Monday when ``now`` falls on a Saturday
    or Sunday (a preview sent before the week starts), else today.
    """
    tz = rules_tz(rules)
    today = as_local(now, tz).date()
    if start is None:
        start = today + timedelta(days=7 - today.weekday()) if today.weekday() >= 5 else today
    days = [start + timedelta(days=i) for i in range(7)]
    lo = datetime.combine(days[0], time(0), tz)
    hi = datetime.combine(days[-1] + timedelta(days=1), time(0), tz)
    week_blocks = [b for b in blocks if as_local(b.end, tz) > lo and as_local(b.start, tz) < hi]
    cs = _sorted((c for c in conflicts if lo <= as_local(c.occurrence.start, tz) < hi), tz)
    span = f"{fmt_day(days[0])} – {fmt_day(days[-1])}"
    n, nb = len(cs), len(week_blocks)
    subject = f"{SUBJECT_PREFIX}your week ahead, {span}" + (f" ({n:,} conflict{'s' if n != 1 else ''})" if n else "")
    protected = sum(((as_local(b.end, tz) - as_local(b.start, tz)) for b in week_blocks if not b.all_day), timedelta())
    so_far = f", {counts(c.decision for c in cs)} so far." if cs else ", no conflicts so far."
    day_lines = []
    for d in days:
        items = sorted((b for b in week_blocks if as_local(b.start, tz).date() == d), key=lambda b: (not b.all_day, b.start))
        line = ", ".join(f"{clean_header(b.title, 60)} {span_local(b.start, b.end, b.all_day, tz)}" for b in items)
        day_lines.append({"day": fmt_day(d), "blocks": line})
    values: dict[str, Any] = {
        "subject": subject,
        "zone": zone_name(rules),
        "span": span,
        "intro": f"Your week ahead, {span}: {nb} protected block{'s' if nb != 1 else ''}"
        f" ({protected.total_seconds() / 3600:g} hours)" + so_far,
        "days": day_lines,
        "has_conflicts": bool(cs),
        "grid": week_grid(days, week_blocks, cs, tz, rules),
    }

    def draw(n_detail: int) -> tuple[str, str]:
        v = values | _described(cs, n_detail, rules, week_blocks, tz)
        return render("preview.txt", **v), render("preview.html", **v)

    return MailView(subject, len(cs), draw)


def alert_view(subject: str, text: str) -> tuple[str, str]:
    """A one-off alert to the owner: its subject and its text (cleaned, bounded)."""
    return SUBJECT_PREFIX + clean_header(subject.removeprefix(SUBJECT_PREFIX), 150), render("alert.txt", text=clean_text(text, 200_000))
