"""The embedded default: a local iCalendar file, read whole and written atomically.

While the file is unchanged a snapshot comes from :mod:`boundaryd.calendars.snapcache` (nothing
read, nothing parsed); after a change only the VEVENTs whose text changed are parsed again
(:mod:`boundaryd.calendars.ics_chunks`). The whole file is parsed only when something is to be
changed in it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from boundaryd import heap
from boundaryd.calendars import ics_chunks, ics_edit, progress, snapcache
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
        self._editor: ics_edit.Editor | None = None  # the file's text, read when something is to be changed
        self._tz: ZoneInfo | None = None
        self._window: tuple[datetime, datetime] | None = None
        self._ident: snapcache.FileId | None = None  # the file the snapshot was read from (None: none)
        self._digest: bytes | None = None
        self._known: ics_chunks.Known | None = None
        self._shown: progress.Progress | None = None  # the progress line of a long sync, on a terminal
        self._stale = False  # the file changed between the snapshot and the first change
        self._dirty = False

    # -- reading ---------------------------------------------------------------------------
    def _read(self) -> snapcache.Read | None:
        """The file's bytes; None when there is no file (and one may be created)."""
        try:
            return snapcache.read_file(self.path)
        except FileNotFoundError:
            if not self.create:
                raise BadInput(f"{self.path}: no such calendar file (check the path, or create it)") from None
            return None
        except IsADirectoryError:
            raise BadInput(f"{self.path}: is a directory, not an iCalendar file") from None
        except OSError as e:
            raise BadInput(f"{self.path}: cannot read the calendar ({e.strerror})") from None

    def snapshot(self, start: datetime, end: datetime, tz: ZoneInfo) -> Snapshot:
        """From the cache while the file is unchanged (nothing read, nothing parsed); else the
        file is read and what changed in it parsed."""
        self._tz, self._window, self._dirty, self._stale, self._editor = tz, (start, end), False, False, None
        entry, read = snapcache.lookup(self.path, tz, start, end)
        if entry is not None:
            self._ident, self._digest, self._known = entry.ident, entry.digest, entry.known
        else:
            read = read if read is not None else self._read()
            self._known = self._read_known(read, snapcache.previous(self.path))
        occs, owned, skipped = self._known.expanded.window(start, end)
        return Snapshot(tuple(occs), tuple(owned), tuple(skipped), self.capabilities)

    def history(self, start: datetime, end: datetime, tz: ZoneInfo) -> list[Occurrence]:
        """The past (``leads``): the file read and expanded over ``[start, end)``, nothing cached."""
        read = self._read()
        if read is None:
            return []
        cal = ical.parse_calendar(read.data, str(self.path)) if read.data.strip() else ical.new_calendar()
        return [o for o in ical.occurrences_of(cal, start, end, tz)[0] if o.owned_block is None]

    def _read_known(self, read: snapcache.Read | None, base: ics_chunks.Known | None) -> ics_chunks.Known:
        """What ``read`` says for the window (built on ``base``), remembered in the cache."""
        assert self._tz is not None and self._window is not None
        start, end = self._window
        data = read.data if read is not None else b""
        shown = progress.on_terminal(self.name)
        try:
            known = ics_chunks.read(data, str(self.path), start, end, self._tz, base, shown.read if shown else None)
        finally:
            if shown is not None:
                shown.close()
        self._ident = read.ident if read is not None else None
        self._digest = snapcache.digest(data) if read is not None else None
        if read is not None:
            snapcache.store(self.path, read, known, self._digest)
        del read, data
        heap.give_back()  # the file's bytes and what parsing left free go back to the system
        return known

    # -- writing ---------------------------------------------------------------------------
    def _change(self, uid: str, change: Callable[[icalendar.Calendar, ZoneInfo], bool]) -> None:
        """Make ``change`` to the events of ``uid`` (only they are parsed, see :mod:`ics_edit`)."""
        if self._tz is None:
            raise RuntimeError("snapshot() must come before changes")
        if self._editor is None:  # read the file now, as it is: a change since the snapshot is a 412 at flush
            read = self._read()
            ident = read.ident if read is not None else None
            digest = snapcache.digest(read.data) if read is not None else None
            self._stale = ident != self._ident or digest != self._digest
            self._editor = ics_edit.Editor(read.data if read is not None else b"", str(self.path), self._known)
            self._shown = progress.on_terminal(self.name)
        tz = self._tz
        self._dirty |= self._editor.change(uid, lambda cal: change(cal, tz))
        if self._shown is not None:
            self._shown.written(len(self._editor.changes))

    def has_flag(self, occ: Occurrence) -> bool:
        """The snapshot shows the mark on the component that holds this occurrence (not inherited
        from a series): flagging it again would change nothing."""
        if ical.CONFLICT_CATEGORY not in occ.categories:
            return False
        if occ.recurrence_id is None:
            return True
        return self._known is not None and self._known.expanded.overrides(occ.uid, occ.recurrence_id)

    def put_block(self, event: BlockEvent) -> None:
        stamp = datetime.now(timezone.utc)

        def put(cal: icalendar.Calendar, tz: ZoneInfo) -> bool:
            ical.put_block_in(cal, event, stamp)
            return True

        self._change(event.uid, put)

    def delete_block(self, uid: str) -> None:
        def delete(cal: icalendar.Calendar, tz: ZoneInfo) -> bool:
            return any(c.get(ical.BLOCK_PROP) is not None for c in ical._components(cal, uid)) and ical.remove_uid(cal, uid)

        self._change(uid, delete)

    def decline(self, occ: Occurrence, owner_emails: tuple[str, ...], comment: str) -> None:
        self._change(occ.uid, lambda cal, tz: ical.decline_in(cal, occ, owner_emails, comment, tz))

    def answer(self, occ: Occurrence, owner_emails: tuple[str, ...], partstat: str) -> None:
        self._change(occ.uid, lambda cal, tz: answer_in(cal, occ, owner_emails, partstat, tz))

    def flag(self, occ: Occurrence) -> None:
        if not self.has_flag(occ):
            self._change(occ.uid, lambda cal, tz: ical.flag_in(cal, occ, tz))

    def unflag(self, occ: Occurrence) -> None:
        if ical.CONFLICT_CATEGORY in occ.categories:  # else no mark where the snapshot saw it
            self._change(occ.uid, lambda cal, tz: unflag_in(cal, occ, tz))

    def flush(self) -> None:
        """Write the file atomically, then remember what it now says (so the next cycle reads nothing)."""
        if self._shown is not None:
            self._shown.close()
            self._shown = None
        if not self._dirty or self._editor is None:
            return
        self._check_unchanged()
        data = self._editor.result()
        try:
            write_atomic(self.path, data)
        except OSError as e:
            raise RuntimeFailure(f"{self.path}: cannot write the calendar ({e.strerror or e})") from None
        self._dirty, self._editor = False, None
        snapcache.forget(self.path)
        try:
            read = snapcache.read_file(self.path)
        except OSError:
            self._ident = None
            return
        if snapcache.digest(read.data) == snapcache.digest(data) and self._tz is not None and self._window is not None:
            self._known = self._read_known(read, self._known)  # only what we changed is parsed again
        else:
            self._ident, self._digest = read.ident, snapcache.digest(read.data)

    def _check_unchanged(self) -> None:
        try:
            now: snapcache.FileId | None = snapcache.file_id(self.path.stat())
        except FileNotFoundError:
            now = None
        if self._stale or now != self._ident:
            raise Conflict412(f"{self.path}: changed by someone else during the sync (run it again)")
