"""Blocks as iCalendar: the owned VEVENT each block time is written as, and its instances read back.

The instances the planner protects are expanded from the very events boundaryd writes, so what
is on the calendar and what is defended cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone, tzinfo

import icalendar
import recurring_ical_events

from boundaryd.core.icalprops import (
    Recur,
    as_local,
    duration,
    props_of,
    recur_from_text,
    recur_text,
    required_when,
    text,
    timed_span,
    when,
)
from boundaryd.core.model import BlockEvent, BlockInstance
from boundaryd.core.rules import Block, Rules
from boundaryd.core.vtimezone import add_timezones

PRODID = "-//boundaryd//boundaryd//EN"
BLOCK_PROP = "X-BOUNDARYD-BLOCK"
HASH_PROP = "X-BOUNDARYD-HASH"
UID_DOMAIN = "boundaryd"
RRULE_EPOCH = date(2024, 1, 1)  # where `rrule:` blocks without `since:` start counting
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def block_uid(block: Block, span_start: time | None) -> str:
    part = "allday" if span_start is None else f"{span_start:%H%M}"
    return f"{block.id}-{part}@{UID_DOMAIN}"


def _rrule_of(block: Block) -> Recur:
    if block.rrule is not None:
        return recur_from_text(block.rrule)
    assert block.days is not None
    if len(block.days) == 7:
        return {"FREQ": ["DAILY"]}
    return {"FREQ": ["WEEKLY"], "BYDAY": [_BYDAY[d] for d in sorted(block.days)]}


def _first_on_or_after(rrule_text: str, anchor: datetime) -> datetime:
    """The first instance of the rule at or after ``anchor`` (so DTSTART is itself an instance)."""
    from dateutil.rrule import rrulestr

    naive = anchor.replace(tzinfo=None)
    rule = rrulestr(rrule_text, dtstart=naive, ignoretz=True)
    found = rule.after(naive, inc=True)
    if not isinstance(found, datetime):  # the rule has no instance from the anchor on
        return anchor
    return found.replace(tzinfo=anchor.tzinfo)


def _fingerprint(
    rules: Rules, block: Block, uid: str, rrule_text: str, span: tuple[time | None, timedelta], focus: str | None,
    moved: Sequence[date] = (),
) -> str:
    """A hash of everything the event is written from: it differs exactly when the event must be rewritten.

    ``focus``: the decline message of a focus-time event, None for any other (which keeps the
    fingerprint it always had).
    """
    span_start, length = span
    definition: dict[str, object] = {
        "v": 1,
        "uid": uid,
        "tz": rules.timezone,
        "title": block.label,
        "kind": block.kind,
        "rrule": rrule_text,
        "since": block.since.isoformat() if block.since else None,
        "start": span_start.isoformat() if span_start else None,
        "length": length.total_seconds(),
        "skips": [d.isoformat() for d in rules.skipped_dates(block.id)],
        "private": block.private,
    }
    if focus is not None:
        definition["focus"] = focus
    if moved:  # flexible instances moved elsewhere (EXDATEs; the fingerprint is unchanged without)
        definition["moved"] = [d.isoformat() for d in sorted(moved)]
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:16]


# The VEVENT text of a block event by everything it is written from (a daemon writes the same
# events every cycle; building them with icalendar is most of what planning the blocks costs).
_BLOCK_TEXT: OrderedDict[tuple[object, ...], str] = OrderedDict()
_BLOCK_TEXT_MAX = 256


def _block_text(
    block: Block, uid: str, rrule: Recur, rrule_text: str, first_day: date,
    span: tuple[time | None, timedelta], tz: tzinfo, skips: Sequence[date], fingerprint: str,
) -> str:
    span_start, length = span
    ev = icalendar.Event()
    ev.add("UID", uid)
    ev.add("SUMMARY", block.label)
    if span_start is None:
        day = _first_on_or_after(rrule_text, datetime.combine(first_day, time(0), tz)).date()
        ev.add("DTSTART", day)
        ev.add("DTEND", day + timedelta(days=1))
        for d in skips:
            ev.add("EXDATE", d)
    else:
        ev.add("DTSTART", _first_on_or_after(rrule_text, datetime.combine(first_day, span_start, tz)))
        ev.add("DURATION", length)
        for d in skips:
            ev.add("EXDATE", datetime.combine(d, span_start, tz))
    ev.add("RRULE", rrule)
    ev.add("TRANSP", "OPAQUE")
    ev.add("CLASS", "PRIVATE")
    ev.add("STATUS", "CONFIRMED")
    ev.add("CATEGORIES", ["boundaryd", block.kind])
    ev.add("DESCRIPTION", f"Protected by boundaryd (block {block.id}). Edit the rules file to change it.")
    ev.add(BLOCK_PROP, block.id)
    ev.add(HASH_PROP, fingerprint)
    return str(ev.to_ical().decode())


def block_events(
    rules: Rules, block: Block, anchor: date, *, focus: bool = False, decline_message: str = "",
    moved: Sequence[date] = (),
) -> list[BlockEvent]:
    """The owned events that carry ``block``: one per daily start time (or one all-day).

    ``focus``/``decline_message``: the planner's choice of the provider's focus time (timed spans only).
    ``moved``: dates whose instance a flexible block moved elsewhere (excluded like skips).
    """
    tz = rules.tz
    rrule = _rrule_of(block)
    rrule_text = recur_text(rrule)
    skips = sorted({*rules.skipped_dates(block.id), *moved})
    # An rrule's phase (INTERVAL, COUNT) counts from its first day: `since`, else a fixed epoch,
    # never the day boundaryd happens to run (that would shift every-other-week blocks daily).
    first_day = block.since or (RRULE_EPOCH if block.rrule is not None else anchor)
    spans: Sequence[tuple[time | None, timedelta]] = block.spans or [(None, timedelta(days=1))]
    out = []
    for span_start, length in spans:
        uid = block_uid(block, span_start)
        as_focus = focus and span_start is not None
        fingerprint = _fingerprint(
            rules, block, uid, rrule_text, (span_start, length), decline_message if as_focus else None, moved
        )
        key = (uid, block.id, block.label, block.kind, rrule_text, first_day, span_start, length, rules.timezone,
               tuple(skips), fingerprint)
        ical = _BLOCK_TEXT.get(key)
        if ical is None:
            ical = _block_text(block, uid, rrule, rrule_text, first_day, (span_start, length), tz, skips, fingerprint)
            _BLOCK_TEXT[key] = ical
            while len(_BLOCK_TEXT) > _BLOCK_TEXT_MAX:
                _BLOCK_TEXT.popitem(last=False)
        out.append(
            BlockEvent(
                uid=uid, block=block.id, title=block.label, fingerprint=fingerprint, ical=ical,
                focus=as_focus, decline_message=decline_message if as_focus else "",
            )
        )
    return out


def event_from(ical_text: str) -> icalendar.Event:
    """The VEVENT a :class:`BlockEvent` carries, parsed."""
    comp = icalendar.Event.from_ical(ical_text)
    if not isinstance(comp, icalendar.Event):
        raise ValueError(f"not a VEVENT but {comp.name}")
    return comp


def block_component(event: BlockEvent, stamp: datetime) -> icalendar.Event:
    comp = event_from(event.ical)
    comp.add("DTSTAMP", stamp.astimezone(timezone.utc))
    return comp


def new_calendar() -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    return cal


def block_calendar(event: BlockEvent, stamp: datetime) -> icalendar.Calendar:
    """A VCALENDAR holding the block's VEVENT and its VTIMEZONE (one CalDAV resource)."""
    cal = new_calendar()
    cal.add_component(block_component(event, stamp))
    add_timezones(cal)
    return cal


def block_instances(rules: Rules, start: datetime, end: datetime) -> list[BlockInstance]:
    """The rules' blocks in ``[start, end)`` as a backend without focus time writes them (from ``start``'s day).

    What ``planner.block_instances`` gives with no capabilities, without importing the planner
    (``boundaryd check`` uses it; a test keeps the two equal).
    """
    events: dict[str, BlockEvent] = {}
    for block in rules.blocks:
        for ev in block_events(rules, block, anchor=start.date()):
            events[ev.uid] = ev
    return expand_blocks(rules, list(events.values()), start, end)


_EXPANDED: OrderedDict[tuple[object, ...], list[BlockInstance]] = OrderedDict()
_EXPANDED_MAX = 16
_DAY = timedelta(days=1)


def _day_floor(t: datetime) -> datetime:
    u = t.astimezone(timezone.utc)
    return datetime.combine(u.date(), time(0), timezone.utc)


def expand_blocks(
    rules: Rules, events: Sequence[BlockEvent], start: datetime, end: datetime
) -> list[BlockInstance]:
    """Block instances overlapping ``[start, end)``, by expanding the very events we write.

    A pure function of the events' text, the blocks' titles and kinds, the zone and the window, so
    the expansion of a window widened to whole UTC days is kept (a small LRU): a daemon's quiet
    cycles, a minute apart, expand once a day. The instances are then cut to ``[start, end)``.
    """
    wide_start, wide_end = _day_floor(start), _day_floor(end) + _DAY
    key = (
        tuple(e.ical for e in events), rules.tz, rules.timezone,
        tuple((b.id, b.label, b.kind) for b in rules.blocks), wide_start, wide_end,
    )
    wide = _EXPANDED.get(key)
    if wide is None:
        wide = _expand(rules, events, wide_start, wide_end)
        _EXPANDED[key] = wide
        while len(_EXPANDED) > _EXPANDED_MAX:
            _EXPANDED.popitem(last=False)
    else:
        _EXPANDED.move_to_end(key)
    return [b for b in wide if b.start < end and b.end > start]


def _expand(rules: Rules, events: Sequence[BlockEvent], start: datetime, end: datetime) -> list[BlockInstance]:
    cal = new_calendar()
    for e in events:
        cal.add_component(event_from(e.ical))
    tz = rules.tz
    out = []
    for inst in recurring_ical_events.of(cal).between(start - timedelta(days=2), end + timedelta(days=1)):
        props = props_of(inst)
        bid = text(props, BLOCK_PROP)
        block = rules.block(bid)
        dtstart = required_when(props, "DTSTART")
        s = as_local(dtstart, tz)
        all_day = not isinstance(dtstart, datetime)
        length = duration(props)
        dtend = when(props, "DTEND")
        if all_day:
            e_ = datetime.combine(s.date() + timedelta(days=1), time(0), tz)
        elif length is not None:  # the length on the wall clock, as the reader reads it
            s, e_ = timed_span(s, s + length)
        elif dtend is not None:
            s, e_ = timed_span(s, as_local(dtend, tz))
        else:
            raise ValueError(f"block event {bid}: neither DURATION nor DTEND")
        if s < end and e_ > start:
            out.append(BlockInstance(block=bid, title=block.label, kind=block.kind, start=s, end=e_, all_day=all_day))
    out.sort(key=lambda b: (b.start, b.block))
    return out
