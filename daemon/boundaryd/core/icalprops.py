"""Typed accessors over icalendar components: each reads one property and returns a plain value.

icalendar types a property lookup as one of some thirty value classes (or ``Any``); the rest of
boundaryd wants a ``str``, a ``datetime`` or a ``timedelta``. These helpers take a component (or a
plain dict of its properties, which the hot path uses for speed) as a read-only mapping of
upper-case property names, check what they find, and say so when it is not what iCalendar allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar

#: a component's properties by upper-case name: an ``icalendar.Component`` or ``dict(component)``
Props = Mapping[str, object]

MAX_TEXT = 64 * 1024  # longer invitation text is cut: it comes from strangers


def one_line(e: BaseException) -> str:
    """An exception as one short line of text (library messages can span lines)."""
    return " ".join(str(e).split())[:300] or type(e).__name__


def as_local(value: date | datetime, tz: ZoneInfo) -> datetime:
    """A DATE or DATE-TIME value as an aware datetime in ``tz`` (a date: its local midnight)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:  # floating: the owner's wall clock
            return value.replace(tzinfo=tz)
        return value.astimezone(tz)
    return datetime.combine(value, time(0), tz)


def existing(t: datetime) -> datetime:
    """``t`` as a wall-clock time that exists in its zone. One in a spring-forward gap moves
    forward by the gap (RFC 5545 3.3.5: 02:30 on the night America/Toronto goes from 2:00 to 3:00
    is 03:30 EDT; zoneinfo reads it, fold 0, with the offset from before the change, and through
    UTC that is 03:30); any other is unchanged (an ambiguous fall-back time keeps its fold)."""
    if t.tzinfo is None:
        return t
    return t.astimezone(timezone.utc).astimezone(t.tzinfo)


def timed_span(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """A timed instance's start and end as times that exist, from the wall-clock DTSTART and DTEND
    of an expanded instance (recurring-ical-events writes DTEND as DTSTART + DURATION on the wall
    clock). A start in a gap moves forward by the gap and keeps its length (an hour at 02:30 on
    that night is 03:30-04:30 EDT, never an empty 03:30-03:30); an end in a gap moves forward too;
    the end is never before the start. The block writer's expansion and the reader both use it,
    so the instances the planner protects are the ones read back."""
    s = existing(start)
    if s.replace(tzinfo=None) != start.replace(tzinfo=None) and start.tzinfo is end.tzinfo:
        end = s.replace(fold=0) + (end.replace(tzinfo=None) - start.replace(tzinfo=None))
    e = existing(end)
    return s, (e if e.astimezone(timezone.utc) >= s.astimezone(timezone.utc) else s)


def props_of(comp: icalendar.Component) -> dict[str, object]:
    """A component's properties as a plain dict, for many lookups in a row.

    icalendar stores property names upper-case; its case-folding ``get()`` raises and catches
    KeyError on every absent property, and even ``dict(comp)`` goes through its case-folding
    ``__getitem__`` once per property. Reading the underlying dict directly does neither.
    """
    return dict(dict.items(comp))


# The accessors below sit on the reading hot path (a dozen per occurrence, thousands of
# occurrences a sync): each does its own lookup inline rather than calling another accessor.


def first(props: Props, name: str) -> object | None:
    """The property's value; the first one when the property occurs several times."""
    v = props.get(name)
    if type(v) is list:
        return v[0] if v else None
    return v


def values(props: Props, name: str) -> list[object]:
    """Every value of a property that may occur several times (ATTENDEE, CATEGORIES, EXDATE)."""
    v = props.get(name)
    if v is None:
        return []
    return list(v) if isinstance(v, list) else [v]


def text(props: Props, name: str, default: str = "") -> str:
    """A text property, cut at :data:`MAX_TEXT` characters."""
    v = props.get(name)
    if type(v) is list:
        v = v[0] if v else None
    return default if v is None else str(v)[:MAX_TEXT]


def upper(props: Props, name: str, default: str) -> str:
    """An enumerated property (STATUS, TRANSP) in upper case."""
    return text(props, name, default).upper()


def integer(props: Props, name: str, default: int = 0) -> int:
    """An INTEGER property; ``default`` when absent or not a number."""
    v = first(props, name)
    if v is None:
        return default
    if isinstance(v, int):  # vInt
        return int(v)
    try:
        return int(str(v))
    except ValueError:
        return default


def when(props: Props, name: str) -> date | datetime | None:
    """A DATE or DATE-TIME property (DTSTART, DTEND, RECURRENCE-ID); None when absent.

    Raises ValueError for a value of another type (a PERIOD or a bare TIME), which no reader here
    can place on a calendar.
    """
    v = props.get(name)
    if v is None:
        return None
    if type(v) is list:
        v = v[0] if v else None
    dt = getattr(v, "dt", v)  # icalendar's vDDDTypes and relatives hold the value in .dt
    if isinstance(dt, date):  # datetime is a date too
        return dt
    raise ValueError(f"{name} is not a date or date-time ({type(dt).__name__})")


def required_when(props: Props, name: str) -> date | datetime:
    """Like :func:`when`, for a property the component cannot be without."""
    dt = when(props, name)
    if dt is None:
        raise ValueError(f"no {name}")
    return dt


def duration(props: Props, name: str = "DURATION") -> timedelta | None:
    """A DURATION property; None when absent. ValueError for another type."""
    v = props.get(name)
    if v is None:
        return None
    if type(v) is list:
        v = v[0] if v else None
    td = getattr(v, "dt", v)
    if isinstance(td, timedelta):
        return td
    raise ValueError(f"{name} is not a duration ({type(td).__name__})")


def params(value: object) -> icalendar.Parameters:
    """The parameters of a property value (CN, PARTSTAT, …), to change them; an empty set for a
    plain value. The returned mapping is the value's own, so changing it changes the property.
    """
    p = getattr(value, "params", None)
    return p if isinstance(p, icalendar.Parameters) else icalendar.Parameters()


def param(value: object, name: str, default: str = "") -> str:
    """One parameter of a property value, as text; ``default`` when the value has none."""
    p = getattr(value, "params", None)
    if not isinstance(p, icalendar.Parameters):
        return default
    found = p.get(name)
    return default if found is None else str(found)


def email(value: object) -> str:
    """A CAL-ADDRESS as a bare lower-case address (without ``mailto:``)."""
    s = str(value).strip()
    if s.lower().startswith("mailto:"):
        s = s[7:]
    return s.strip().lower()[:320]


def categories(props: Props) -> tuple[str, ...]:
    """Every category, over all CATEGORIES properties."""
    cats: list[str] = []
    for item in values(props, "CATEGORIES"):
        names = getattr(item, "cats", None)
        if isinstance(names, list):
            cats.extend(str(c) for c in names)
        else:
            cats.append(str(item))
    return tuple(cats)


#: a recurrence rule as icalendar's vRecur takes it: part name → its values
Recur = dict[str, list[object]]


def recur_from_text(rrule: str) -> Recur:
    """An RRULE value's text as rule parts."""
    return {str(k): list(v) for k, v in icalendar.vRecur.from_ical(rrule).items()}


def recur_text(rule: Recur) -> str:
    """Rule parts as RRULE text, in icalendar's canonical order (what it writes on the event)."""
    raw = icalendar.vRecur(rule).to_ical()  # type: ignore[no-untyped-call]  # vRecur.to_ical is unannotated; returns bytes
    if not isinstance(raw, bytes):
        raise TypeError(f"vRecur.to_ical returned {type(raw).__name__}")
    return raw.decode()
