"""RRULE <-> Graph's ``patternedRecurrence``, and zone names both ways: pure functions, no I/O.

Graph expresses a subset of RFC 5545: daily, weekly (days of the week), absolute/relative monthly
and yearly, each with an interval, ending never, on a date or after a count. A rule outside that
subset (BYSETPOS, several month days, BYHOUR, FREQ=HOURLY, ...) gets ``None`` here: the backend then
writes the block as single events over a horizon instead (see ``graph_backend.HORIZON``).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

_DAYS = {"MO": "monday", "TU": "tuesday", "WE": "wednesday", "TH": "thursday", "FR": "friday",
         "SA": "saturday", "SU": "sunday"}
_INDEX = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_SIMPLE = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "WKST"}


@lru_cache(maxsize=1)
def _zones() -> dict[str, dict[str, str]]:
    """CLDR windowsZones (see data/windows_zones.json for where the table comes from)."""
    text = resources.files("boundaryd").joinpath("data/windows_zones.json").read_text(encoding="utf-8")
    data: dict[str, dict[str, str]] = json.loads(text)
    return data


def windows_zone(iana: str) -> str:
    """The Windows zone name Graph takes for an IANA zone; ``UTC`` for one CLDR does not map."""
    if iana in ("UTC", "Etc/UTC", "Z"):
        return "UTC"
    return _zones()["to_windows"].get(iana, "UTC")


def iana_zone(name: str) -> str:
    """The IANA zone for a zone name Graph gives (Windows, or already IANA); "" when unknown."""
    if name in ("UTC", "tzone://Microsoft/Utc"):
        return "UTC"
    z = _zones()
    if name in z["to_iana"]:
        return z["to_iana"][name]
    return name if name in z["to_windows"] else ""


def _byday(v: str) -> tuple[int | None, str]:
    code = v[-2:].upper()
    ordinal = v[:-2]
    return (int(ordinal) if ordinal else None), code


def pattern_of(rule: dict[str, list[Any]], start: date, first_day: str = "monday") -> dict[str, Any] | None:
    """The ``patternedRecurrence`` for an RRULE (as icalendar's vRecur: upper-case keys, list values)
    starting on ``start``; None when Graph cannot express it."""
    keys = set(rule)
    if not keys <= _SIMPLE:
        return None
    freq = str(rule["FREQ"][0]).upper()
    interval = int(rule.get("INTERVAL", [1])[0])
    days = [_byday(str(d)) for d in rule.get("BYDAY", [])]
    monthdays = [int(d) for d in rule.get("BYMONTHDAY", [])]
    months = [int(m) for m in rule.get("BYMONTH", [])]
    pattern: dict[str, Any] = {"interval": interval, "firstDayOfWeek": first_day}
    if freq == "DAILY" and not days and not monthdays and not months:
        pattern["type"] = "daily"
    elif freq == "WEEKLY" and not monthdays and not months and all(o is None for o, _ in days):
        pattern["type"] = "weekly"
        pattern["daysOfWeek"] = [_DAYS[c] for _, c in days] or [_DAYS[_code(start)]]
    elif freq in ("MONTHLY", "YEARLY"):
        yearly = freq == "YEARLY"
        if yearly:
            if len(months) > 1:
                return None
            pattern["month"] = months[0] if months else start.month
        elif months:
            return None
        if days and not monthdays and len({o for o, _ in days}) == 1 and days[0][0] in _INDEX:
            pattern["type"] = "relativeYearly" if yearly else "relativeMonthly"
            pattern["daysOfWeek"] = [_DAYS[c] for _, c in days]
            pattern["index"] = _INDEX[days[0][0]]
        elif not days and len(monthdays) <= 1 and all(1 <= d <= 31 for d in monthdays):
            pattern["type"] = "absoluteYearly" if yearly else "absoluteMonthly"
            pattern["dayOfMonth"] = monthdays[0] if monthdays else start.day
        else:
            return None
    else:
        return None
    rng: dict[str, Any] = {"startDate": start.isoformat(), "recurrenceTimeZone": ""}
    if "COUNT" in rule:
        rng.update(type="numbered", numberOfOccurrences=int(rule["COUNT"][0]))
    elif "UNTIL" in rule:
        until = rule["UNTIL"][0]
        until_day = until.date() if isinstance(until, datetime) else until
        rng.update(type="endDate", endDate=until_day.isoformat())
    else:
        rng["type"] = "noEnd"
    return {"pattern": pattern, "range": rng}


def _code(d: date) -> str:
    return ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[d.weekday()]


def rrule_of(rec: dict[str, Any]) -> str:
    """The RRULE text for a ``patternedRecurrence`` (the reverse of :func:`pattern_of`)."""
    p, r = rec["pattern"], rec["range"]
    rev = {v: k for k, v in _DAYS.items()}
    kind = p["type"]
    parts = [f"INTERVAL={int(p.get('interval') or 1)}"]
    index = {v: k for k, v in _INDEX.items()}
    if kind == "daily":
        parts.insert(0, "FREQ=DAILY")
    elif kind == "weekly":
        parts.insert(0, "FREQ=WEEKLY")
        parts.append("BYDAY=" + ",".join(rev[d] for d in p["daysOfWeek"]))
    elif kind in ("absoluteMonthly", "absoluteYearly"):
        parts.insert(0, "FREQ=MONTHLY" if kind == "absoluteMonthly" else "FREQ=YEARLY")
        parts.append(f"BYMONTHDAY={int(p['dayOfMonth'])}")
    elif kind in ("relativeMonthly", "relativeYearly"):
        parts.insert(0, "FREQ=MONTHLY" if kind == "relativeMonthly" else "FREQ=YEARLY")
        ordinal = index[p.get("index") or "first"]
        parts.append("BYDAY=" + ",".join(f"{ordinal}{rev[d]}" for d in p["daysOfWeek"]))
    else:
        raise ValueError(f"unknown recurrence pattern type {kind!r}")
    if kind.endswith("Yearly"):
        parts.append(f"BYMONTH={int(p['month'])}")
    if r["type"] == "numbered":
        parts.append(f"COUNT={int(r['numberOfOccurrences'])}")
    elif r["type"] == "endDate":
        parts.append(f"UNTIL={r['endDate'].replace('-', '')}T235959")
    return ";".join(parts)
