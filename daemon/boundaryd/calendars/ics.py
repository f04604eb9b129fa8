"""The embedded default: a local iCalendar file, read whole and written atomically."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from boundaryd.calendars.ical_edits import answer_in, unflag_in
from boundaryd.core import ical
from boundaryd.core.model import BlockEvent, Capabilities, Occurrence, Snapshot
from boundaryd.errors import BadInput, Conflict412, RuntimeFailure
from boundaryd.fsutil import write_atomic

#: a file tells no one anything; flags are CATEGORIES:Conflict
CAPABILITIES = Capabilities(tells_organizer=False, decline_comment=True, flag_mark="categories")


class IcsBackend:
    """A local iCalendar file. Capabilities are fixed: ``connect()`` does no I/O."""

    capabilities = CAPABILITIES

    @classmethod
    def open(cls, location: str, section: Any, context: Any) -> IcsBackend:
        """The registry's constructor: the path is the whole configuration."""
        del section, context
        return cls(location)

    def connect(self) -> Capabilities:
        return self.capabilities

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path).expanduser()
        self.name = f"ics:{self.path}"
        self.create = create
        self._cal: icalendar.Calendar | None = None
        self._tz: ZoneInfo | None = None
        self._stat: tuple[int, int] | None = None
        self._dirty = False

    # -- reading ---------------------------------------------------------------------------
    def _load(self) -> icalendar.Calendar:
        try:
            data = self.path.read_bytes()
            st = self.path.stat()
            self._stat = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            if not self.create:
                raise BadInput(f"{self.path}: no such calendar file (check the path, or create it)") from None
            self._stat = None
            return ical.new_calendar()
        except IsADirectoryError:
            raise BadInput(f"{self.path}: is a directory, not an iCalendar file") from None
        except OSError as e:
            raise BadInput(f"{self.path}: cannot read the calendar ({e.strerror})") from None
        if not data.strip():
            return ical.new_calendar()
        return ical.parse_calendar(data, str(self.path))

    def snapshot(self, start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        self._cal = self._load()
        self._tz = tz
        self._dirty = False
        occs, owned, skipped = ical.occurrences_of(self._cal, start, end, tz)
        return Snapshot(tuple(occs), tuple(owned), tuple(skipped), self.capabilities)

    # -- writing ---------------------------------------------------------------------------
    def _calendar(self) -> tuple[icalendar.Calendar, ZoneInfo]:
        if self._cal is None or self._tz is None:
            raise RuntimeError("snapshot() must come before changes")
        return self._cal, self._tz

    def put_block(self, event: BlockEvent) -> None:
        cal, _ = self._calendar()
        ical.put_block_in(cal, event, datetime.now(timezone.utc))
        self._dirty = True

    def delete_block(self, uid: str) -> None:
        cal, _ = self._calendar()
        if any(c.get(ical.BLOCK_PROP) is not None for c in ical._components(cal, uid)):
            self._dirty |= ical.remove_uid(cal, uid)

    def decline(self, occ: Occurrence, owner_emails: tuple[str, ...], comment: str) -> None:
        cal, tz = self._calendar()
        self._dirty |= ical.decline_in(cal, occ, owner_emails, comment, tz)

    def answer(self, occ: Occurrence, owner_emails: tuple[str, ...], partstat: str) -> None:
        cal, tz = self._calendar()
        self._dirty |= answer_in(cal, occ, owner_emails, partstat, tz)

    def flag(self, occ: Occurrence) -> None:
        cal, tz = self._calendar()
        self._dirty |= ical.flag_in(cal, occ, tz)

    def unflag(self, occ: Occurrence) -> None:
        cal, tz = self._calendar()
        self._dirty |= unflag_in(cal, occ, tz)

    def flush(self) -> None:
        if not self._dirty or self._cal is None:
            return
        self._check_unchanged()
        try:
            write_atomic(self.path, self._cal.to_ical())
        except OSError as e:
            raise RuntimeFailure(f"{self.path}: cannot write the calendar ({e.strerror or e})") from None
        st = self.path.stat()
        self._stat = (st.st_mtime_ns, st.st_size)
        self._dirty = False

    def _check_unchanged(self) -> None:
        try:
            st = self.path.stat()
            now = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            now = None
        if now != self._stat:
            raise Conflict412(f"{self.path}: changed by someone else during the sync (run it again)")
