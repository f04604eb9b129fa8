"""Expand each file's VEVENT with libical (Evolution's parser) through python3-gi; print JSON.

argv: END file...  → {"file": [UTC seconds of every instance starting before END]}
"""

import json
import sys
from pathlib import Path

import gi

gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib as I  # noqa: E402


def starts(text: str, end: int) -> list[int]:
    cal = I.Component.new_from_string(text)
    ev = cal.get_first_component(I.ComponentKind.VEVENT_COMPONENT)
    dtstart_prop = ev.get_first_property(I.PropertyKind.DTSTART_PROPERTY)
    tzid = dtstart_prop.get_first_parameter(I.ParameterKind.TZID_PARAMETER).get_tzid()
    zone = cal.get_timezone(tzid)
    if zone is None:
        raise SystemExit(f"VTIMEZONE {tzid} not found by libical")
    dtstart = ev.get_dtstart()
    rrule = ev.get_first_property(I.PropertyKind.RRULE_PROPERTY).get_rrule()
    it = I.RecurIterator.new(rrule, dtstart)
    out = []
    while True:
        t = it.next()
        if t is None or t.is_null_time():
            break
        utc = t.as_timet_with_zone(zone)
        if utc >= end:
            break
        out.append(utc)
    return out


end = int(sys.argv[1])
print(json.dumps({f: starts(Path(f).read_text(), end) for f in sys.argv[2:]}))
