"""iCalendar in and out: calendars → Occurrences, blocks → owned VEVENTs, declines and flags as edits.

Shared by the iCalendar-file and CalDAV backends. Parsing is icalendar's, recurrence expansion is
recurring-ical-events', time zones are zoneinfo's: nothing here expands a rule by hand.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import x_wr_timezone

from boundaryd.core.model import Attendee, BlockEvent, BlockInstance, Occurrence, OwnedEvent, Skipped
from boundaryd.core.rules import Block, Rules
from boundaryd.errors import BadInput

PRODID = "-//boundaryd//boundaryd//EN"
BLOCK_PROP = "X-BOUNDARYD-BLOCK"
HASH_PROP = "X-BOUNDARYD-HASH"
CONFLICT_CATEGORY = "Conflict"
UID_DOMAIN = "boundaryd"
_TIME_PROPS = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID")
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MAX_TEXT = 64 * 1024  # longer invitation text is cut: it comes from strangers
RRULE_EPOCH = date(2024, 1, 1)  # where `rrule:` blocks without `since:` start counting


# --- reading ------------------------------------------------------------------------------


def parse_calendar(data: bytes | str, name: str) -> icalendar.Calendar:
    """Parse a whole calendar; BadInput when it is not a calendar at all."""
    if isinstance(data, bytes):
        text = data.decode("utf-8", errors="replace")
    else:
        text = data
    text = text.lstrip("\ufeff")  # a byte order mark, as some Windows exports write
    if "BEGIN:VCALENDAR" not in text[:4096].upper():
        raise BadInput(f"{name}: not an iCalendar file (no BEGIN:VCALENDAR)")
    try:
        cals = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as e:  # noqa: BLE001 - icalendar raises ValueError and friends on damage
        raise BadInput(f"{name}: cannot be read as iCalendar ({_one_line(e)})") from None
    if not cals:
        raise BadInput(f"{name}: no VCALENDAR in the file")
    cal = cals[0]
    for extra in cals[1:]:  # several VCALENDARs in one file: read them as one
        for sub in extra.subcomponents:
            cal.add_component(sub)
    if cal.get("X-WR-TIMEZONE"):
        try:
            cal = x_wr_timezone.to_standard(cal)
        except Exception as e:  # noqa: BLE001 - a broken event must not stop the rest
            raise BadInput(f"{name}: X-WR-TIMEZONE could not be applied ({_one_line(e)})") from None
    return cal


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:300] or type(e).__name__


def _broken_reason(comp: icalendar.Component) -> str | None:
    for prop, msg in getattr(comp, "errors", ()):
        if prop in _TIME_PROPS or prop is None:
            return f"{prop or 'structure'}: {_one_line(Exception(msg))}"
    if "DTSTART" not in comp:
        return "no DTSTART"
    return None


def _text(comp: Mapping[str, Any], prop: str) -> str:
    v = comp.get(prop)
    if v is None:
        return ""
    if isinstance(v, list):
        v = v[0]
    s = str(v)
    return s[:MAX_TEXT]


def _email(value: Any) -> str:
    s = str(value).strip()
    if s.lower().startswith("mailto:"):
        s = s[7:]
    return s.strip().lower()[:320]


def as_local(value: date | datetime, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # floating: the owner's wall clock
            return value.replace(tzinfo=tz)
        return value.astimezone(tz)
    return datetime.combine(value, time(0), tz)


def _attendees(comp: Mapping[str, Any]) -> tuple[Attendee, ...]:
    raw = comp.get("ATTENDEE")
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for a in items:
        params = getattr(a, "params", {})
        out.append(
            Attendee(
                email=_email(a),
                partstat=str(params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
                name=str(params.get("CN", ""))[:256],
            )
        )
    return tuple(out)


def _categories(comp: Mapping[str, Any]) -> tuple[str, ...]:
    raw = comp.get("CATEGORIES")
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    cats: list[str] = []
    for item in items:
        cats.extend(str(c) for c in getattr(item, "cats", [item]))
    return tuple(cats)


def occurrence_from(comp: icalendar.Component, tz: ZoneInfo, in_series: bool) -> Occurrence:
    """The planner's view of one expanded instance (a component recurring-ical-events returned)."""
    # a plain dict of the (upper-case) property names: icalendar's case-folding get() raises and
    # catches KeyError on every absent property, which was most of this function's cost
    props: dict[str, Any] = dict(comp)
    start_v = props["DTSTART"].dt
    all_day = not isinstance(start_v, datetime)
    start = as_local(start_v, tz)
    end_p = props.get("DTEND")
    if end_p is not None:
        end = as_local(end_p.dt, tz)
    elif props.get("DURATION") is not None:
        end = start + props["DURATION"].dt
    else:
        end = start + (timedelta(days=1) if all_day else timedelta(0))
    if all_day:  # a local day, whatever DST does to its length
        end = datetime.combine(end.date(), time(0), tz)
    rid: date | datetime | None = None
    if in_series and props.get("RECURRENCE-ID") is not None:
        r = props["RECURRENCE-ID"].dt
        rid = as_local(r, tz) if isinstance(r, datetime) else r
    organizer = props.get("ORGANIZER")
    block = props.get(BLOCK_PROP)
    try:
        seq = int(props.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        seq = 0
    return Occurrence(
        uid=str(props.get("UID", ""))[:1024],
        recurrence_id=rid,
        summary=_text(props, "SUMMARY"),
        description=_text(props, "DESCRIPTION"),
        start=start,
        end=max(end, start),
        all_day=all_day,
        organizer=_email(organizer) if organizer is not None else "",
        organizer_name=str(getattr(organizer, "params", {}).get("CN", ""))[:256] if organizer is not None else "",
        attendees=_attendees(props),
        status=str(props.get("STATUS", "CONFIRMED")).upper(),
        transparent=str(props.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT",
        owned_block=str(block) if block is not None else None,
        categories=_categories(props),
        sequence=seq,
    )


def occurrences_of(
    cal: icalendar.Calendar, start: datetime, end: datetime, tz: ZoneInfo
) -> tuple[list[Occurrence], list[OwnedEvent], list[Skipped]]:
    """Every occurrence starting in ``[start, end)``, the owned events, and the unreadable ones."""
    groups: dict[str, list[icalendar.Component]] = defaultdict(list)
    skipped: list[Skipped] = []
    others: list[icalendar.Component] = []
    for comp in cal.subcomponents:
        if comp.name != "VEVENT":
            others.append(comp)
            continue
        uid = str(comp.get("UID", "")).strip()
        if not uid:
            skipped.append(Skipped(uid="(no UID)", reason=f"event {_text(comp, 'SUMMARY')[:60]!r} has no UID"))
            continue
        groups[uid].append(comp)

    good: list[icalendar.Component] = []
    owned: list[OwnedEvent] = []
    series: set[str] = set()
    for uid, comps in groups.items():
        reason = next((r for c in comps if (r := _broken_reason(c))), None)
        if reason:
            skipped.append(Skipped(uid=uid[:200], reason=reason))
            continue
        good.extend(comps)
        # `in`, not get(): a miss in get() raises and catches KeyError, the bulk of this loop's cost
        if any(p in c for c in comps for p in ("RRULE", "RDATE", "RECURRENCE-ID")):
            series.add(uid)
        for c in comps:
            if BLOCK_PROP in c and "RECURRENCE-ID" not in c:
                owned.append(OwnedEvent(uid=uid, block=str(c[BLOCK_PROP]), fingerprint=str(c.get(HASH_PROP, ""))))

    occurrences: list[Occurrence] = []
    for instance in _expand(others, good, start, end, skipped):
        try:
            occ = occurrence_from(instance, tz, str(instance.get("UID")) in series)
        except Exception as e:  # noqa: BLE001 - a broken event must not stop the rest  # one unreadable instance must not stop the rest
            skipped.append(Skipped(uid=str(instance.get("UID", ""))[:200], reason=_one_line(e)))
            continue
        if start <= occ.start < end:
            occurrences.append(occ)
    return occurrences, owned, skipped


def _expand(
    others: list[icalendar.Component],
    events: list[icalendar.Component],
    start: datetime,
    end: datetime,
    skipped: list[Skipped],
) -> Iterable[icalendar.Component]:
    """Expand all events at once; if that fails, per UID so one bad series is skipped alone."""
    cal = icalendar.Calendar()
    cal.subcomponents = [*others, *events]
    # widen by a day each side: floating and all-day times are compared in UTC by the library
    lo, hi = start - timedelta(days=1), end + timedelta(days=1)
    try:
        return list(recurring_ical_events.of(cal).between(lo, hi))
    except Exception:  # noqa: BLE001, S110 - fall back to per-UID expansion below
        pass
    by_uid: dict[str, list[icalendar.Component]] = defaultdict(list)
    for e in events:
        by_uid[str(e["UID"])].append(e)
    out: list[icalendar.Component] = []
    for uid, comps in by_uid.items():
        one = icalendar.Calendar()
        one.subcomponents = [*others, *comps]
        try:
            out.extend(recurring_ical_events.of(one).between(lo, hi))
        except Exception as e:  # noqa: BLE001 - a broken event must not stop the rest
            skipped.append(Skipped(uid=uid[:200], reason=f"recurrence cannot be expanded ({_one_line(e)})"))
    return out


# --- blocks ---------------------------------------------------------------------------------


def block_uid(block: Block, span_start: time | None) -> str:
    part = "allday" if span_start is None else f"{span_start:%H%M}"
    return f"{block.id}-{part}@{UID_DOMAIN}"


def _rrule_of(block: Block) -> dict[str, Any]:
    if block.rrule is not None:
        return dict(icalendar.vRecur.from_ical(block.rrule))
    assert block.days is not None
    if len(block.days) == 7:
        return {"FREQ": ["DAILY"]}
    return {"FREQ": ["WEEKLY"], "BYDAY": [_BYDAY[d] for d in sorted(block.days)]}


def _first_on_or_after(rrule: dict[str, Any], anchor: datetime) -> datetime:
    """The first instance of the rule at or after ``anchor`` (so DTSTART is itself an instance)."""
    from dateutil.rrule import rrulestr

    text = icalendar.vRecur(rrule).to_ical().decode()
    naive = anchor.replace(tzinfo=None)
    rule = rrulestr(text, dtstart=naive, ignoretz=True)
    first = rule.after(naive, inc=True)
    if first is None:
        return anchor
    return first.replace(tzinfo=anchor.tzinfo)


def block_events(
    rules: Rules, block: Block, anchor: date, *, focus: bool = False, decline_message: str = ""
) -> list[BlockEvent]:
    """The owned events that carry ``block``: one per daily start time (or one all-day).
    ``focus``/``decline_message``: the planner's choice of focus time (timed spans only)."""
    tz = rules.tz
    rrule = _rrule_of(block)
    skips = rules.skipped_dates(block.id)
    # An rrule's phase (INTERVAL, COUNT) counts from its first day: `since`, else a fixed epoch,
    # never the day boundaryd happens to run (that would shift every-other-week blocks daily).
    first_day = block.since or (RRULE_EPOCH if block.rrule is not None else anchor)
    spans: Sequence[tuple[time | None, timedelta]] = block.spans or [(None, timedelta(days=1))]
    out = []
    for span_start, length in spans:
        uid = block_uid(block, span_start)
        definition = {
            "v": 1,
            "uid": uid,
            "tz": rules.timezone,
            "title": block.label,
            "kind": block.kind,
            "rrule": icalendar.vRecur(rrule).to_ical().decode(),
            "since": block.since.isoformat() if block.since else None,
            "start": span_start.isoformat() if span_start else None,
            "length": length.total_seconds(),
            "skips": [d.isoformat() for d in skips],
            "private": block.private,
        }
        as_focus = focus and span_start is not None
        if as_focus:  # only then, so every other block keeps the fingerprint it always had
            definition["focus"] = decline_message
        fingerprint = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:16]
        ev = icalendar.Event()
        ev.add("UID", uid)
        ev.add("SUMMARY", block.label)
        if span_start is None:
            dtstart: date | datetime = _first_on_or_after(
                rrule, datetime.combine(first_day, time(0), tz)
            ).date()
            ev.add("DTSTART", dtstart)
            ev.add("DTEND", dtstart + timedelta(days=1))
            for d in skips:
                ev.add("EXDATE", d)
        else:
            dtstart = _first_on_or_after(rrule, datetime.combine(first_day, span_start, tz))
            ev.add("DTSTART", dtstart)
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
        out.append(
            BlockEvent(
                uid=uid, block=block.id, title=block.label, fingerprint=fingerprint, ical=ev.to_ical().decode(),
                focus=as_focus, decline_message=decline_message if as_focus else "",
            )
        )
    return out


def block_component(event: BlockEvent, stamp: datetime) -> icalendar.Event:
    comp = icalendar.Event.from_ical(event.ical)
    comp.add("DTSTAMP", stamp.astimezone(timezone.utc))
    return comp


def block_calendar(event: BlockEvent, stamp: datetime) -> icalendar.Calendar:
    """A VCALENDAR holding the block's VEVENT and its VTIMEZONE (one CalDAV resource)."""
    cal = new_calendar()
    cal.add_component(block_component(event, stamp))
    cal.add_missing_timezones()
    return cal


def new_calendar() -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    return cal


def expand_blocks(
    rules: Rules, events: Sequence[BlockEvent], start: datetime, end: datetime
) -> list[BlockInstance]:
    """Block instances overlapping ``[start, end)``, by expanding the very events we write."""
    cal = new_calendar()
    for e in events:
        cal.add_component(icalendar.Event.from_ical(e.ical))
    tz = rules.tz
    out = []
    for inst in recurring_ical_events.of(cal).between(start - timedelta(days=2), end + timedelta(days=1)):
        bid = str(inst[BLOCK_PROP])
        block = rules.block(bid)
        s = as_local(inst["DTSTART"].dt, tz)
        all_day = not isinstance(inst["DTSTART"].dt, datetime)
        if all_day:
            e_ = datetime.combine(s.date() + timedelta(days=1), time(0), tz)
        else:
            e_ = (s.astimezone(timezone.utc) + inst["DURATION"].dt).astimezone(tz) if inst.get("DURATION") else as_local(inst["DTEND"].dt, tz)
        if s < end and e_ > start:
            out.append(BlockInstance(block=bid, title=block.label, kind=block.kind, start=s, end=e_, all_day=all_day))
    out.sort(key=lambda b: (b.start, b.block))
    return out


# --- edits on the owner's copy --------------------------------------------------------------


def _components(cal: icalendar.Calendar, uid: str) -> list[icalendar.Component]:
    return [c for c in cal.subcomponents if c.name == "VEVENT" and str(c.get("UID", "")).strip() == uid]


def _same_instant(a: date | datetime, b: date | datetime, tz: ZoneInfo) -> bool:
    if isinstance(a, datetime) != isinstance(b, datetime):
        return False
    if isinstance(a, datetime) and isinstance(b, datetime):
        return as_local(a, tz) == as_local(b, tz)
    return a == b


def _instance_component(cal: icalendar.Calendar, occ: Occurrence, tz: ZoneInfo) -> icalendar.Component | None:
    """The component that holds this occurrence, creating an override for one instance of a series."""
    comps = _components(cal, occ.uid)
    if not comps:
        return None
    if occ.recurrence_id is None:
        plain = [c for c in comps if c.get("RECURRENCE-ID") is None]
        return plain[0] if plain else comps[0]
    for c in comps:
        rid = c.get("RECURRENCE-ID")
        if rid is not None and _same_instant(rid.dt, occ.recurrence_id, tz):
            return c
    masters = [c for c in comps if c.get("RECURRENCE-ID") is None]
    if not masters:
        return None
    master = masters[0]
    override = copy.deepcopy(master)
    for prop in ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "DTSTART", "DTEND", "DURATION"):
        override.pop(prop, None)
    m_start = master["DTSTART"].dt
    rid_v = occ.recurrence_id
    if isinstance(m_start, datetime) and isinstance(rid_v, datetime):
        value: date | datetime = rid_v.astimezone(m_start.tzinfo) if m_start.tzinfo else rid_v.astimezone(tz).replace(tzinfo=None)
    else:
        value = rid_v if not isinstance(rid_v, datetime) else rid_v.date()
    length = _length(master)
    override.add("RECURRENCE-ID", value)
    override.add("DTSTART", value)
    override.add("DTEND", value + length)
    cal.add_component(override)
    return override


def _length(comp: icalendar.Component) -> timedelta:
    start = comp["DTSTART"].dt
    if comp.get("DTEND") is not None:
        return comp["DTEND"].dt - start
    if comp.get("DURATION") is not None:
        return comp["DURATION"].dt
    return timedelta(days=1) if not isinstance(start, datetime) else timedelta(0)


def decline_in(
    cal: icalendar.Calendar, occ: Occurrence, owner_emails: Sequence[str], comment: str | None, tz: ZoneInfo
) -> bool:
    """Set the owner's PARTSTAT=DECLINED on this occurrence only, with ``comment`` as COMMENT
    (None: leave COMMENT alone, for servers that let attendees change nothing else).
    Returns whether anything changed."""
    comp = _instance_component(cal, occ, tz)
    if comp is None:
        return False
    owners = {e.lower() for e in owner_emails}
    raw = comp.get("ATTENDEE")
    items = raw if isinstance(raw, list) else ([raw] if raw is not None else [])
    changed = False
    for a in items:
        if _email(a) in owners and str(a.params.get("PARTSTAT", "")).upper() != "DECLINED":
            a.params["PARTSTAT"] = "DECLINED"
            a.params.pop("RSVP", None)
            changed = True
    if comment is not None and (changed or str(comp.get("COMMENT", "")) != comment):
        comp.pop("COMMENT", None)
        comp.add("COMMENT", comment)
        changed = True
    return changed


def flag_in(cal: icalendar.Calendar, occ: Occurrence, tz: ZoneInfo) -> bool:
    """Add CATEGORIES:Conflict to the owner's copy of this occurrence. Returns whether it changed."""
    comps = _components(cal, occ.uid)
    if not comps:
        return False
    # check before creating an override, so flagging twice writes nothing
    if occ.recurrence_id is None or any(
        c.get("RECURRENCE-ID") is not None and _same_instant(c["RECURRENCE-ID"].dt, occ.recurrence_id, tz) for c in comps
    ):
        comp = _instance_component(cal, occ, tz)
        if comp is None or CONFLICT_CATEGORY in _categories(comp):
            return False
    else:
        comp = _instance_component(cal, occ, tz)
        if comp is None:
            return False
    comp.add("CATEGORIES", [CONFLICT_CATEGORY])
    return True


def remove_uid(cal: icalendar.Calendar, uid: str) -> bool:
    before = len(cal.subcomponents)
    cal.subcomponents = [c for c in cal.subcomponents if not (c.name == "VEVENT" and str(c.get("UID", "")).strip() == uid)]
    return len(cal.subcomponents) != before


def put_block_in(cal: icalendar.Calendar, event: BlockEvent, stamp: datetime) -> None:
    remove_uid(cal, event.uid)
    cal.add_component(block_component(event, stamp))
    cal.add_missing_timezones()
