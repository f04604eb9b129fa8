"""The worlds the calendar contract runs in: one calendar behind each backend, and the means to act
on it as someone else would (another client's edits, a server's faults).

The ``world`` fixture (parametrized over BACKENDS) and the session servers are made available to
every test by conftest.py. Servers start once per session (``contract_servers``): Radicale
(htpasswd) and Xandikos, each behind a FaultProxy, and the local Google stand-in with its OAuth
endpoints. Each test gets a fresh collection (CalDAV
MKCALENDAR), a fresh fake calendar (Google), a fresh file (ics) or store (memory), and its own
journal state, so tests do not see each other.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from boundaryd.calendars import memory
from boundaryd.calendars.ics import IcsBackend
from boundaryd.calendars.memory import MemoryBackend
from clirun import OWNER, calendar_of

BACKENDS = ["memory", "ics", "radicale", "xandikos", "sabredav", "cyrus", "davical", "google", "microsoft"]
COUNTER = itertools.count(1)


def unreadable(uid: str) -> str:
    """A resource every server stores but no reader can place in time (a zone that does not exist)."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nX-WR-TIMEZONE:Mars/Olympus\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261120T000000Z\r\nDTSTART:20261124T090000\r\nDTEND:20261124T100000\r\n"
        "SUMMARY:Broken\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def unreadable_event(uid: str) -> str:
    """One VEVENT no reader can place in time (a DTSTART that is no time), inside a good calendar."""
    return f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261120T000000Z\r\nDTSTART:20261124T25XX00\r\nSUMMARY:Broken\r\nEND:VEVENT\r\n"


class MemState:
    """The journal's key/value store, in a dict."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str | None) -> None:
        if value is None:
            self.data.pop(key, None)
        else:
            self.data[key] = value


class World:
    """One calendar behind one backend. Facts that differ by server are attributes, not names."""

    name = ""
    tells_organizer = False
    marks_flags = True  # False where an attendee may change nothing but PARTSTAT (RFC 6638 3.1)
    declines_instances = True  # False where an attendee may not add a RECURRENCE-ID override
    keeps_comment = True  # False where the server's reply to the organizer drops COMMENT (boundaryd replies too)
    has_tokens = True  # reads only what changed since the last snapshot
    withdraws_answers = True  # False where no answer cannot be set again (Graph: undo of "none" is tentative)
    no_http = ""  # why status faults cannot apply here ("" when they can)

    def __init__(self) -> None:
        self.state = MemState()

    def backend(self) -> Any:
        raise NotImplementedError

    def put(self, *comps: icalendar.Event) -> None:
        """Store one event (a master and its overrides) as another client would, replacing it."""
        raise NotImplementedError

    def put_unreadable(self, uid: str) -> None:
        raise NotImplementedError

    def remove(self, uid: str) -> None:
        """Delete an event as its organizer's server would."""
        raise NotImplementedError

    def fail(self, status: int, times: int | None = None) -> None:
        """Every following request (or the next ``times``) is answered ``status``."""
        raise NotImplementedError

    def heal(self) -> None:
        raise NotImplementedError

    def full_reads(self) -> int:
        """How many times the whole calendar was read so far."""
        raise NotImplementedError

    def write_mark(self) -> object:
        """A value that changes whenever anything is written to the calendar."""
        raise NotImplementedError

    def requests(self) -> int:
        """How many requests (reads of any kind) the calendar answered so far."""
        raise NotImplementedError

    def calendar_yaml(self) -> str:
        """The rules' ``calendar:`` section for this calendar (for whole syncs through App)."""
        raise NotImplementedError

    def calendar_uri(self) -> str | None:
        """``--calendar`` for whole syncs, where the rules cannot name this calendar."""
        return None

    def close(self) -> None:
        pass


# --- memory, ics ----------------------------------------------------------------------------------


class MemoryWorld(World):
    name = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.store = memory.calendar(f"contract-{next(COUNTER)}")  # memory:NAME opens this one too

    def backend(self) -> MemoryBackend:
        return MemoryBackend(self.store, self.state)

    def put(self, *comps: icalendar.Event) -> None:
        self.store.put(str(comps[0]["UID"]), calendar_of(*comps))

    def put_unreadable(self, uid: str) -> None:
        self.store.put(uid, unreadable(uid))

    def remove(self, uid: str) -> None:
        self.store.remove(uid)

    def fail(self, status: int, times: int | None = None) -> None:
        left = [times]

        def hook(op: str) -> int | None:
            if status == 410 and op == "connect":
                return None  # a 410 is about a change token, which connect has none of
            if left[0] is not None:
                if left[0] <= 0:
                    return None
                left[0] -= 1
            return status

        self.store.fault = hook

    def heal(self) -> None:
        self.store.fault = None

    def full_reads(self) -> int:
        return self.store.full_reads

    def write_mark(self) -> object:
        return self.store.writes

    def requests(self) -> int:
        return self.store.full_reads + self.store.incremental_reads

    def calendar_yaml(self) -> str:
        return "  ics: {path: /nonexistent/overridden-by-the-uri.ics}"

    def calendar_uri(self) -> str | None:
        return f"memory:{self.store.name}"

    def close(self) -> None:
        memory.forget(self.store.name)


class IcsWorld(World):
    name = "ics"
    has_tokens = False
    no_http = "a local file answers no HTTP status"

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.path = root / "calendar.ics"
        self.reads = 0

    def backend(self) -> IcsBackend:
        world = self

        class Counted(IcsBackend):
            def _read_known(self, read: Any, base: Any) -> Any:  # the file parsed (whole or in part)
                world.reads += 1
                return super()._read_known(read, base)

        return Counted(self.path)

    def _write(self, data: bytes) -> None:
        before = self.path.stat().st_mtime_ns if self.path.exists() else 0
        self.path.write_bytes(data)
        os.utime(self.path, ns=(before + 10**9, before + 10**9))  # a change the next stat sees

    def put(self, *comps: icalendar.Event) -> None:
        uid = str(comps[0]["UID"])
        cal = icalendar.Calendar.from_ical(self.path.read_bytes()) if self.path.exists() else icalendar.Calendar()
        if not self.path.exists():
            cal.add("PRODID", "-//tests//EN")
            cal.add("VERSION", "2.0")
        cal.subcomponents = [c for c in cal.subcomponents if str(c.get("UID", "")) != uid]
        for c in comps:
            cal.add_component(c)
        cal.add_missing_timezones()
        self._write(cal.to_ical())

    def put_unreadable(self, uid: str) -> None:
        text = self.path.read_text() if self.path.exists() else "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nEND:VCALENDAR\r\n"
        self._write(text.replace("END:VCALENDAR", unreadable_event(uid) + "END:VCALENDAR").encode())

    def remove(self, uid: str) -> None:
        cal = icalendar.Calendar.from_ical(self.path.read_bytes())
        cal.subcomponents = [c for c in cal.subcomponents if str(c.get("UID", "")) != uid]
        self._write(cal.to_ical())

    def fail(self, status: int, times: int | None = None) -> None:
        pytest.skip(self.no_http)

    def heal(self) -> None:
        pass

    def full_reads(self) -> int:
        return self.reads

    def write_mark(self) -> object:
        return self.path.stat().st_mtime_ns if self.path.exists() else None

    def requests(self) -> int:
        return self.reads

    def calendar_yaml(self) -> str:
        return f"  ics: {{path: {self.path}}}"


def _remote() -> Any:
    import contract_servers

    return contract_servers


def _graph() -> Any:
    import contract_graph

    return contract_graph


_MAKERS: dict[str, Callable[[pytest.FixtureRequest, Path], World]] = {
    "memory": lambda request, root: MemoryWorld(),
    "ics": lambda request, root: IcsWorld(root),
    "radicale": lambda request, root: _remote().DavWorld(*request.getfixturevalue("radicale_session")),
    "xandikos": lambda request, root: _remote().DavWorld(*request.getfixturevalue("xandikos_session")),
    "sabredav": lambda request, root: _remote().DavWorld(*request.getfixturevalue("sabredav_session")),
    "cyrus": lambda request, root: _remote().DavWorld(*request.getfixturevalue("cyrus_session")),
    "davical": lambda request, root: _remote().DavWorld(*request.getfixturevalue("davical_session")),
    "google": lambda request, root: _remote().GoogleWorld(request.getfixturevalue("google_session"), root),
    "microsoft": lambda request, root: _graph().GraphWorld(request.getfixturevalue("graph_session"), root),
}


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    w = _MAKERS[request.param](request, tmp_path)
    try:
        yield w
    finally:
        w.close()


# --- what the scenarios share ---------------------------------------------------------------------

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)  # a Monday
END = NOW + timedelta(days=14)

BLOCKS_YAML = """
- id: prospecting
  title: Prospecting calls
  kind: prospecting
  days: weekdays
  start: "08:30"
  end: "11:00"
  policy: decline
- id: call-return
  title: Return calls
  kind: call-return
  days: weekdays
  times: ["11:30", "16:30"]
  duration: 30m
  policy: flag
- id: sunday
  title: Day off
  kind: day-off
  days: [sun]
  all_day: true
  policy: decline
"""


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 23, hh, mm, tzinfo=TZ) + timedelta(days=day)


def block_events(blocks: str = BLOCKS_YAML, anchor: date | None = None) -> dict[str, Any]:
    """The owned events the core writes for ``blocks``, by uid."""
    from boundaryd.core import ical
    from conftest import make_rules

    rules = make_rules(blocks)
    return {e.uid: e for b in rules.blocks for e in ical.block_events(rules, b, anchor or NOW.date())}


def snap(backend: Any, start: datetime = NOW, end: datetime = END) -> Any:
    return backend.snapshot(start, end, TZ)


def me(o: Any) -> str:
    return str(next(a.partstat for a in o.attendees if a.email == OWNER))


def one(s: Any, uid: str, start: datetime | None = None) -> Any:
    found = [o for o in s.occurrences if o.uid == uid and (start is None or o.start == start)]
    assert len(found) == 1, f"{uid} at {start}: {[(o.uid, o.start) for o in s.occurrences]}"
    return found[0]
