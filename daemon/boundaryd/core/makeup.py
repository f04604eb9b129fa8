"""Make-up time: a block with ``weekly_target`` keeps its week whole.

Pure, part of the planner. Per week (Monday to Sunday in the rules' zone) and block:
``planned`` is the minutes of its instances, ``lost`` the minutes of them meetings let through
took (allowed, flagged, kept, accepted by the owner), ``kept`` = planned − lost, and ``needed`` =
target − kept (the target defaults to planned). Make-up events go in free ``makeup`` time of the
same week (never over blocks, busy meetings, held offers or other make-up time; each at least
``makeup.min``; never in the past) until kept + made up reaches the target; they go again when
no longer needed. Make-up events already written that are still free and needed are kept as they
are, so nothing moves while nothing changes. Minutes are real minutes (UTC arithmetic), also in a
week with a daylight-saving change.

What a later sync can no longer read (meetings let through and make-up events that are past, and
flexible instances moved) comes from the journal as :class:`LedgerRow`s, the one record of the
week's past the weekly report reads too; lost time is measured from a past meeting's row against
the week's instances (a moved flexible instance where it went), as for a meeting ahead.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from boundaryd.core import carry
from boundaryd.core.flexible import Moves
from boundaryd.core.holds import cached_event
from boundaryd.core.ical import block_events, expand_blocks
from boundaryd.core.ical_owned import owned_uid, role_of
from boundaryd.core.model import BlockEvent, BlockInstance, Conflict, Decision, LedgerRow, Occurrence
from boundaryd.core.rules import Block, Rules
from boundaryd.core.rules_model import Makeup
from boundaryd.core.week import LET_THROUGH, BlockWeek, block_week, minutes, monday_of, week_bounds
from boundaryd.core.week import taken as taken_from
from boundaryd.presentation.owned_words import makeup_title

Interval = tuple[datetime, datetime]
GRID = 15  # make-up events start on the quarter hour


#: one block's week (the one computation: ``core.week``)
Balance = BlockWeek


def tracked(rules: Rules) -> list[Block]:
    """Blocks whose week is kept whole (a ``weekly_target`` or a ``makeup``)."""
    return [b for b in rules.blocks if b.weekly_target is not None or b.makeup is not None]


def makeup_of(rules: Rules, block: Block) -> Makeup:
    """Where ``block``'s make-up time may go: its ``makeup``, else working hours."""
    if block.makeup is not None:
        return block.makeup
    wh = rules.working_hours
    return Makeup.model_construct(days=wh.days, start=wh.start, end=wh.end, min=timedelta(minutes=30))


def planned_instances(rules: Rules, monday: date) -> list[BlockInstance]:
    """The tracked blocks' instances starting in the week of ``monday`` (the whole week, past included)."""
    ws, we = week_bounds(monday, rules.tz)
    events = [ev for b in tracked(rules) for ev in block_events(rules, b, anchor=monday)]
    return [b for b in expand_blocks(rules, events, ws, we) if ws <= b.start < we]


Lost = tuple[str, datetime, datetime]  # (block, start, end): a stretch of a block a meeting took


#: a meeting's row, carried while its occurrence and decision are the same (a quiet cycle makes none)
_ROWS: carry.Carried[LedgerRow] = carry.Carried()


def meeting_rows(rules: Rules, conflicts: Iterable[Conflict], now: datetime, window_end: datetime) -> list[LedgerRow]:
    """The journal's rows of the plan's meetings in its window: organizer, decision, blocks landed on."""
    me = rules.owner.emails[0] if rules.owner.emails else ""
    return [
        _ROWS.get(c.occurrence, (c.decision, c.block, c.blocks, me), _meeting_row, c, me)
        for c in conflicts if now <= c.occurrence.start < window_end
    ]


def _meeting_row(c: Conflict, me: str) -> LedgerRow:
    o = c.occurrence
    return LedgerRow("meeting", c.block, f"{o.uid}|{o.key[1]}", o.start, o.end, o.uid, o.key[1], o.all_day,
                     o.organizer or me, c.decision.value, tuple(c.blocks))


def lost_rows(rules: Rules, blocks: Sequence[BlockInstance], conflicts: Iterable[Conflict]) -> list[Lost]:
    """Time meetings let through take from tracked blocks' instances (one stretch per meeting and instance)."""
    return _lost(rules, blocks, [((c.occurrence.start, c.occurrence.end, c.occurrence.all_day), c.blocks)
                                 for c in conflicts if c.decision is not Decision.DECLINE])


def past_lost(rules: Rules, blocks: Sequence[BlockInstance], rows: Iterable[LedgerRow]) -> list[Lost]:
    """The same for the journal's rows of meetings let through."""
    return _lost(rules, blocks, [((r.start, r.end, r.all_day), r.blocks) for r in rows
                                 if r.kind == "meeting" and r.decision in LET_THROUGH])


def _lost(rules: Rules, blocks: Sequence[BlockInstance],
          meetings: Iterable[tuple[tuple[datetime, datetime, bool], Collection[str]]]) -> list[Lost]:
    ids = {b.id for b in tracked(rules)}
    out: list[Lost] = []
    for m, landed in meetings:
        hit = [b for b in blocks if b.block in ids and b.block in landed]
        out.extend((b.block, s, e) for b, s, e in taken_from(hit, [m]))
    return out


def week_balance(
    rules: Rules,
    conflicts: Iterable[Conflict],
    makeups: Iterable[tuple[str, datetime, datetime]],
    monday: date,
    blocks: Sequence[BlockInstance] | None = None,
    past: Iterable[LedgerRow] = (),
) -> list[Balance]:
    """Each tracked block's week of ``monday``: target, planned, lost, made up (minutes).

    ``conflicts``: the plan's (meetings let through count as lost); ``makeups``: make-up events as
    (block, start, end); ``blocks``: the instances meetings are measured against (default: the
    week's, expanded from the rules); ``past``: journal rows for what is no longer read (meetings let
    through, measured against the week's instances with the ``flex`` rows' moves).
    """
    bounds = week_bounds(monday, rules.tz)
    instances = planned_instances(rules, monday)
    lost = lost_rows(rules, instances if blocks is None else blocks, conflicts)
    past = list(past)
    if any(r.kind == "meeting" for r in past):
        moved = tuple(r for r in past if r.kind == "flex")
        where = Moves(moved=moved).instances(rules, instances, bounds[1]) if moved else instances
        lost += past_lost(rules, where, past)
    made = list(makeups)
    return [
        block_week(
            b.id,
            None if b.weekly_target is None else int(b.weekly_target.total_seconds()) // 60,
            [(i.start, i.end) for i in instances if i.block == b.id],
            [(s, e) for bid, s, e in lost if bid == b.id],
            [(s, e) for bid, s, e in made if bid == b.id],
            bounds,
        )
        for b in tracked(rules)
    ]


def block_of(key: str) -> str:
    """The block a make-up event's key (``block@local start``) makes up for."""
    return key.split("@", 1)[0]


def makeups_of(owned: Iterable[Occurrence | LedgerRow]) -> list[tuple[str, datetime, datetime]]:
    """(block, start, end) of the make-up events among owned occurrences read back (or journal rows):
    what :func:`week_balance` takes as ``makeups``."""
    out = []
    for o in owned:
        if isinstance(o, LedgerRow):
            if o.kind == "makeup":
                out.append((o.block, o.start, o.end))
        elif o.owned_block is not None and role_of(o.owned_block)[0] == "makeup":
            out.append((block_of(role_of(o.owned_block)[1]), o.start, o.end))
    return out


# --- the make-up events a plan wants ------------------------------------------------------------


@dataclass(frozen=True)
class Makeups:
    """This plan's make-up events (those begun, from the journal, and those ahead)."""

    rows: tuple[LedgerRow, ...] = ()  # kind "makeup", key "block@local start"

    def events(self, rules: Rules, owned: Collection[str], now: datetime) -> dict[str, BlockEvent]:
        """The owned events carrying the make-up time (one begun only while still on the calendar)."""
        out = {}
        for r in self.rules_rows(rules):
            ev = cached_event(
                "makeup", r.key, makeup_title(rules.owner.locale, rules.block(r.block).label),
                r.start.astimezone(rules.tz), r.end.astimezone(rules.tz),
            )
            if r.start >= now or ev.uid in owned:
                out[ev.uid] = ev
        return out

    def rules_rows(self, rules: Rules) -> list[LedgerRow]:
        ids = {b.id for b in rules.blocks}
        return [r for r in self.rows if r.block in ids]


def plan_makeups(
    rules: Rules,
    blocks: Sequence[BlockInstance],
    conflicts: Sequence[Conflict],
    busy: Sequence[Interval],
    remembered: Iterable[LedgerRow],
    owned: Collection[str],
    now: datetime,
    window_end: datetime,
) -> Makeups:
    """The make-up events for each week the window touches. ``busy``: meetings not declined and
    held offers (blocks come from ``blocks``); ``remembered``: the journal's rows; ``owned``: UIDs
    of the owned events on the calendar (a remembered make-up still there is kept when it fits)."""
    if not tracked(rules):
        return Makeups()
    memory = list(remembered)
    past = [r for r in memory if r.start < now and r.kind in ("meeting", "makeup")]
    ahead = [r for r in memory if r.kind == "makeup" and r.start >= now and owned_uid("makeup", r.key) in owned]
    before = [*(r for r in past if r.kind == "meeting"), *(r for r in memory if r.kind == "flex")]
    taken: list[Interval] = [*busy, *((b.start, b.end) for b in blocks)]
    rows: list[LedgerRow] = [r for r in past if r.kind == "makeup"]
    monday = monday_of(now, rules.tz)
    while week_bounds(monday, rules.tz)[0] < window_end:
        ws, we = week_bounds(monday, rules.tz)
        made_before = [(r.block, r.start, r.end) for r in rows if r.start < now]
        balances = week_balance(rules, conflicts, made_before, monday, blocks, before)
        for bal in balances:
            need = bal.needed_minutes - bal.made_up_minutes
            kept = [r for r in ahead if r.block == bal.block and ws <= r.start < we]
            chosen = _place(rules, rules.block(bal.block), need, kept, taken, max(now, ws), min(we, window_end))
            rows.extend(chosen)
            taken.extend((r.start, r.end) for r in chosen)
        monday += timedelta(days=7)
    return Makeups(tuple(sorted(rows, key=lambda r: (r.start, r.key))))


def _place(
    rules: Rules, block: Block, need: int, kept: Sequence[LedgerRow], taken: Sequence[Interval], lo: datetime, hi: datetime
) -> list[LedgerRow]:
    """Make-up rows for ``need`` minutes in ``[lo, hi)``: the ones already written first, then the
    earliest free time."""
    mk = makeup_of(rules, block)
    least = int(mk.min.total_seconds()) // 60
    out: list[LedgerRow] = []
    busy = list(taken)
    for r in sorted(kept, key=lambda r: r.start):
        if need <= 0:
            break
        length = min(minutes(r.start, r.end), max(need, least))
        end = _after(r.start, length)
        if _inside(rules, mk, r.start, end, lo, hi) and not _overlaps(r.start, end, busy):
            out.append(LedgerRow("makeup", block.id, r.key, r.start, end))
            busy.append((r.start, end))
            need -= length
    while need > 0:  # the earliest free stretch that takes the whole need, else the earliest one
        gaps = [g for g in _week_gaps(rules, mk, lo, hi, busy) if minutes(*g) >= least]
        if not gaps:
            break
        want = max(need, least)
        s, e = next((g for g in gaps if minutes(*g) >= want), gaps[0])
        length = min(minutes(s, e), want)
        end = _after(s, length)
        out.append(LedgerRow("makeup", block.id, f"{block.id}@{s:%Y-%m-%dT%H:%M}", s, end))
        busy.append((s, end))
        need -= length
    return out


def _week_gaps(rules: Rules, mk: Makeup, lo: datetime, hi: datetime, busy: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    day = lo.astimezone(rules.tz).date()
    while datetime.combine(day, time(0), rules.tz) < hi:
        if day.weekday() in mk.days:
            out.extend(_gaps(rules, mk, day, lo, hi, busy))
        day += timedelta(days=1)
    return out


def _after(s: datetime, mins: int) -> datetime:
    return (s.astimezone(timezone.utc) + timedelta(minutes=mins)).astimezone(s.tzinfo)


def _overlaps(s: datetime, e: datetime, busy: Iterable[Interval]) -> bool:
    return any(bs < e and be > s for bs, be in busy)


def _inside(rules: Rules, mk: Makeup, s: datetime, e: datetime, lo: datetime, hi: datetime) -> bool:
    local = s.astimezone(rules.tz)
    day_lo = datetime.combine(local.date(), mk.start, rules.tz)
    day_hi = datetime.combine(local.date(), mk.end, rules.tz)
    return local.weekday() in mk.days and max(lo, day_lo) <= s and e <= min(hi, day_hi)


def _gaps(rules: Rules, mk: Makeup, day: date, lo: datetime, hi: datetime, busy: Sequence[Interval]) -> list[Interval]:
    """The free stretches of ``day``'s make-up window, each starting on the quarter hour."""
    start = max(datetime.combine(day, mk.start, rules.tz), lo)
    end = min(datetime.combine(day, mk.end, rules.tz), hi)
    out = []
    cursor = _ceil(start)
    for bs, be in sorted(x for x in busy if x[0] < end and x[1] > start):
        if bs > cursor:
            out.append((cursor, bs))
        cursor = max(cursor, _ceil(be))
    if cursor < end:
        out.append((cursor, end))
    return [(s, e) for s, e in out if s < e]


def _ceil(t: datetime) -> datetime:
    extra = (t.minute % GRID) * 60 + t.second + t.microsecond / 1e6
    return t if not extra else t + timedelta(seconds=GRID * 60 - extra)
