"""Dates and times as the emails write them: "Tue 24 Nov", "09:00–10:00", "all day to Mon 30 Nov".

Always in the owner's zone (the rules' ``timezone``), always English day and month names (no
locale), so a notice reads the same wherever the daemon runs.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from boundaryd.core import model
from boundaryd.core.ical import as_local

__all__ = ["fmt_day", "fmt_dt", "hm", "rules_tz", "span_local", "when", "zone_name"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rules_tz(rules: Any) -> ZoneInfo:
    """The owner's zone: ``rules.tz``, else ``ZoneInfo(rules.timezone)``."""
    tz = getattr(rules, "tz", None)
    return tz if tz is not None else ZoneInfo(rules.timezone)


def zone_name(rules: Any) -> str:
    """The owner's zone as the rules name it ("America/Toronto")."""
    return str(getattr(rules, "timezone", None) or rules_tz(rules).key)


def fmt_day(d: date) -> str:
    return f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]}"


def fmt_dt(t: datetime) -> str:
    return f"{fmt_day(t.date())} {t.year} {t:%H:%M}"


def hm(t: datetime, day_start: datetime | None = None) -> str:
    """``HH:MM``; midnight at the end of ``day_start``'s day is ``24:00``."""
    if day_start is not None and t - day_start >= timedelta(days=1) and t.hour == 0 and t.minute == 0:
        return "24:00"
    return f"{t:%H:%M}"


def span_local(start: datetime | date, end: datetime | date, all_day: bool, tz: ZoneInfo) -> str:
    """"09:00–10:00", "23:00–Fri 27 Nov 01:00", "all day", "all day to Mon 30 Nov"."""
    s, e = as_local(start, tz), as_local(end, tz)
    if all_day:
        last = (e - timedelta(seconds=1)).date()
        return "all day" if last <= s.date() else f"all day to {fmt_day(last)}"
    ends_at_midnight = e - s <= timedelta(days=1) and e.hour == 0 and e.minute == 0 and e.date() == s.date() + timedelta(days=1)
    if e.date() == s.date() or ends_at_midnight:
        return f"{hm(s)}–{hm(e, datetime.combine(s.date(), time(0), tz))}"
    return f"{hm(s)}–{fmt_day(e.date())} {hm(e)}"


def when(occ: model.Occurrence, tz: ZoneInfo) -> str:
    """"Tue 24 Nov 2026, 09:00–10:00"."""
    s = as_local(occ.start, tz)
    return f"{fmt_day(s.date())} {s.year}, {span_local(occ.start, occ.end, occ.all_day, tz)}"
