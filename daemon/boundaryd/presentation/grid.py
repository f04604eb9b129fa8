"""The week picture of a notice or preview, as data for ``templates/grid.html``.

Computed as a grid: one column per day with two lanes — the protected block, the meeting — and
one row per half hour over the working hours (widened to what is on those days), plus an "all
day" row when something lasts all day. A block lane has the block's colour; a meeting lane has
the colour of the strictest decision there, with the block's colour as its right edge when it
lies over one.

Drawn stacked (``Grid.stacked``), so it reads on a phone: one day under another, each day the
half hours that hold something, with their time and the two lanes — one column, never wider
than the screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from boundaryd.core import model
from boundaryd.core.ical import as_local
from boundaryd.core.model import Decision
from boundaryd.presentation.safe import clean_header
from boundaryd.presentation.times import fmt_day

__all__ = ["DECISION_BG", "ORDER", "Cell", "Day", "Grid", "Row", "week_grid"]

ORDER = (Decision.DECLINE, Decision.FLAG, Decision.ALLOW, Decision.KEEP)
DECISION_BG = {Decision.DECLINE: "#d93025", Decision.FLAG: "#f29900", Decision.ALLOW: "#188038", Decision.KEEP: "#5f6368"}
KIND_BG = {
    "family": "#c6dafc",
    "workout": "#b7e1cd",
    "prospecting": "#fce8b2",
    "follow-up": "#f4c7c3",
    "call-return": "#d7c9f1",
    "buffer": "#e8eaed",
    "personal": "#c5e8f7",
    "day-off": "#d2e3fc",
}
_NO_KIND = "#e8eaed"
_SLOT = timedelta(minutes=30)


@dataclass(frozen=True)
class Cell:
    """One lane of one row: ``bg`` None is an empty lane (drawn in ``under``, else white)."""

    bg: str | None
    text: str
    first_lane: bool = False
    fg: str = "#202124"
    under: str | None = None


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Cell, ...]
    all_day: bool = False
    time: str = ""  # the half hour it starts ("09:30"); the label shows whole hours only


@dataclass(frozen=True)
class Day:
    """One day of the stacked picture: its heading and the rows that hold something (two cells each)."""

    label: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Chip:
    colour: str
    text: str
    decision: bool  # a decision's colour ("meeting declined"), else a block kind's


@dataclass(frozen=True)
class Grid:
    days: tuple[str, ...]
    rows: tuple[Row, ...]
    legend: tuple[Chip, ...]

    @property
    def stacked(self) -> tuple[Day, ...]:
        """The picture one day under another: each day's rows that hold a block or a meeting."""
        out = []
        for i, label in enumerate(self.days):
            rows = []
            for r in self.rows:
                lanes = r.cells[2 * i : 2 * i + 2]
                if any(c.bg is not None for c in lanes):
                    rows.append(Row(r.label if r.all_day else r.time, tuple(lanes), r.all_day, r.time))
            out.append(Day(label, tuple(rows)))
        return tuple(out)


@dataclass
class _Day:
    timed_blocks: list[tuple[datetime, datetime, model.BlockInstance]]
    allday_blocks: list[model.BlockInstance]
    timed_meet: list[tuple[datetime, datetime, model.Conflict]]
    allday_meet: list[model.Conflict]


def _on_day(d: date, blocks: Sequence[model.BlockInstance], cs: Sequence[model.Conflict], tz: ZoneInfo) -> _Day:
    """What falls on day ``d``, clipped to it."""
    out = _Day([], [], [], [])
    d0 = datetime.combine(d, time(0), tz)
    d1 = datetime.combine(d + timedelta(days=1), time(0), tz)
    for b in blocks:
        s, e = as_local(b.start, tz), as_local(b.end, tz)
        if s < d1 and e > d0:
            if b.all_day:
                out.allday_blocks.append(b)
            else:
                out.timed_blocks.append((max(s, d0), min(e, d1), b))
    for c in cs:
        o = c.occurrence
        s, e = as_local(o.start, tz), as_local(o.end, tz)
        e = max(e, s + timedelta(minutes=1))
        if s < d1 and e > d0:
            if o.all_day:
                out.allday_meet.append(c)
            else:
                out.timed_meet.append((max(s, d0), min(e, d1), c))
    return out


def _hours(rules: Any, by_day: dict[date, _Day], tz: ZoneInfo) -> tuple[int, int]:
    """The hours shown: working hours, widened to what is on these days."""
    wh = getattr(rules, "working_hours", None)
    first = getattr(wh, "start", time(9)).hour
    last = getattr(wh, "end", time(17))
    last_h = last.hour + (1 if last.minute else 0)
    for d, day in by_day.items():
        d0 = datetime.combine(d, time(0), tz)
        for s, e, _ in [*day.timed_blocks, *day.timed_meet]:
            first = min(first, int((s - d0).total_seconds() // 3600))
            last_h = max(last_h, int(-(-(e - d0).total_seconds() // 3600)))
    return max(0, first), min(24, max(last_h, first + 1))


def _label(titles: Iterable[str]) -> str:
    items = list(titles)
    if not items:
        return ""
    first = clean_header(items[0][:200], 22) or "(no title)"
    return first + (f" +{len(items) - 1:,}" if len(items) > 1 else "")


def _strictest(cs: Iterable[model.Conflict]) -> str:
    return DECISION_BG[max((c.decision for c in cs), key=lambda x: x.rank)]


def _all_day_row(days: Sequence[date], by_day: dict[date, _Day]) -> Row:
    cells: list[Cell] = []
    for d in days:
        b_lane, m_lane = by_day[d].allday_blocks, by_day[d].allday_meet
        cells.append(Cell(KIND_BG.get(b_lane[0].kind, _NO_KIND) if b_lane else None, _label(b.title for b in b_lane), True))
        under = KIND_BG.get(b_lane[0].kind) if b_lane else None
        mbg = _strictest(m_lane) if m_lane else None
        cells.append(Cell(mbg, _label(c.occurrence.summary for c in m_lane), fg="#ffffff", under=under))
    return Row("all day", tuple(cells), all_day=True)


def _slot_row(i: int, first: int, days: Sequence[date], by_day: dict[date, _Day], tz: ZoneInfo) -> Row:
    cells: list[Cell] = []
    for d in days:
        s0 = datetime.combine(d, time(0), tz) + timedelta(hours=first) + i * _SLOT
        s1 = s0 + _SLOT
        b_here = [(s, b) for s, e, b in by_day[d].timed_blocks if s < s1 and e > s0]
        m_here = [(s, c) for s, e, c in by_day[d].timed_meet if s < s1 and e > s0]
        b_starts = [b.title for s, b in b_here if s >= s0 or (i == 0 and s < s0)]
        m_starts = [c.occurrence.summary for s, c in m_here if s >= s0 or (i == 0 and s < s0)]
        bbg = KIND_BG.get(b_here[0][1].kind, _NO_KIND) if b_here else None
        cells.append(Cell(bbg, _label(b_starts), first_lane=True))
        mbg = _strictest(c for _, c in m_here) if m_here else None
        cells.append(Cell(mbg, _label(m_starts), fg="#ffffff", under=bbg))
    start = f"{first + i // 2:02d}:{30 * (i % 2):02d}"
    return Row(start if i % 2 == 0 else "", tuple(cells), time=start)


def _legend(blocks: Sequence[model.BlockInstance], cs: Sequence[model.Conflict], days: Sequence[date], tz: ZoneInfo) -> tuple[Chip, ...]:
    shown_days = set(days)
    kinds: dict[str, str] = {}
    for b in blocks:
        if as_local(b.start, tz).date() in shown_days and b.kind not in kinds and len(kinds) < 12:
            kinds[b.kind] = clean_header(b.title, 40)
    decisions = sorted({c.decision for c in cs if as_local(c.occurrence.start, tz).date() in shown_days}, key=ORDER.index)
    chips = [Chip(KIND_BG.get(k, _NO_KIND), t, False) for k, t in kinds.items()]
    chips += [Chip(DECISION_BG[d], f"meeting {model.PAST_TENSE[d]}", True) for d in decisions]
    return tuple(chips)


def week_grid(
    days: Sequence[date],
    blocks: Sequence[model.BlockInstance],
    cs: Sequence[model.Conflict],
    tz: ZoneInfo,
    rules: Any,
) -> Grid:
    """The grid of ``days``: the blocks and the conflicting meetings on them."""
    by_day = {d: _on_day(d, blocks, cs, tz) for d in days}
    first, last_h = _hours(rules, by_day, tz)
    n_slots = int((last_h - first) * timedelta(hours=1) / _SLOT)
    rows: list[Row] = []
    if any(by_day[d].allday_blocks or by_day[d].allday_meet for d in days):
        rows.append(_all_day_row(days, by_day))
    rows += [_slot_row(i, first, days, by_day, tz) for i in range(n_slots)]
    return Grid(tuple(fmt_day(d) for d in days), tuple(rows), _legend(blocks, cs, days, tz))
