"""What an iCalendar file said when it was last read, kept for as long as the file is unchanged.

A daemon reads the same file every minute; re-reading and re-parsing it each time costs more
than everything else in a cycle together. This process-wide cache keeps, per file, the compact
result of reading it (:class:`boundaryd.calendars.ics_chunks.Known`: occurrences pre-expanded a
little beyond the window, owned events, unreadable events, per UID, and a hash of each VEVENT's
text) — not the component trees — together with what identifies the file's contents:

- device, inode, size, mtime and ctime (a file replaced by rename has a new inode and ctime;
  ``touch`` can set mtime back, never ctime);
- a hash of the bytes, compared again (the file re-read, not re-parsed) while the mtime is within
  the filesystem's timestamp granularity of the moment it was read: an edit made in that same
  tick could leave every stat field as it was.

The cache never answers for a window it was not expanded for, nor for another time zone; a file
that changed while it was being read is not cached at all. When the file did change,
:func:`previous` gives what was read last, so only the VEVENTs that changed are parsed again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from boundaryd.calendars.ics_chunks import MARGIN, Known
from boundaryd.heap import give_back

#: coarsest timestamp granularity we allow for (FAT: 2 s; ext4 and tmpfs: a kernel tick)
GRANULARITY_NS = 2_000_000_000
__all__ = ["MARGIN", "Known", "Read", "Entry", "lookup", "previous", "store", "forget"]


def fs_now_ns() -> int:
    """The time as the kernel stamps files now: a new pipe's mtime (the same coarse clock as a
    file's, whatever the process's own clock says — a faked or skewed one included)."""
    r, w = os.pipe()
    try:
        return os.fstat(r).st_mtime_ns
    finally:
        os.close(r)
        os.close(w)


#: the clock file timestamps are compared with (nanoseconds since the epoch)
clock: Callable[[], int] = fs_now_ns


@dataclass(frozen=True)
class FileId:
    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int


def file_id(st: os.stat_result) -> FileId:
    return FileId(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=20).digest()


@dataclass(frozen=True)
class Read:
    """A file's bytes and who they belong to. ``stable``: the file did not change during the read."""

    data: bytes
    ident: FileId
    #: the filesystem's clock just before the bytes were read (:func:`fs_now_ns`)
    read_ns: int
    stable: bool


def read_file(path: Path) -> Read:
    """Read ``path`` whole, with its identity taken on the open file before and after. Raises OSError."""
    read_ns = clock()
    with path.open("rb") as f:
        before = file_id(os.fstat(f.fileno()))
        data = f.read()
        after = file_id(os.fstat(f.fileno()))
    return Read(data, after, read_ns, stable=before == after and len(data) == after.size)


@dataclass
class Entry:
    ident: FileId
    digest: bytes
    read_ns: int
    known: Known

    def in_doubt(self) -> bool:
        """Whether an edit could have left the file's stat as it was: it was read within a
        timestamp tick of its last change (or its times are ahead of the clock)."""
        newest = max(self.ident.mtime_ns, self.ident.ctime_ns)
        return newest >= self.read_ns - GRANULARITY_NS


@dataclass
class Stats:
    """What the cache did, for tests and the benchmark."""

    hits: int = 0
    misses: int = 0
    rehashes: int = 0
    stores: int = 0


_entries: dict[str, Entry] = {}
_lock = threading.Lock()
stats = Stats()


def _key(path: Path) -> str:
    return os.path.abspath(path)


def lookup(path: Path, tz: ZoneInfo, start: datetime, end: datetime) -> tuple[Entry | None, Read | None]:
    """The entry for ``path`` when it still says what the file says and covers the window.

    The second value is the file as read to settle a doubt (None when it was not read): on a
    miss the caller parses it rather than reading the file again."""
    with _lock:
        entry = _entries.get(_key(path))
    if entry is None or entry.known.tz != tz or not entry.known.expanded.covers(start, end):
        stats.misses += 1
        return None, None
    try:
        now = file_id(os.stat(path))
    except OSError:
        stats.misses += 1
        return None, None
    if now != entry.ident:
        stats.misses += 1
        return None, None
    if entry.in_doubt():
        stats.rehashes += 1
        try:
            read = read_file(path)
        except OSError:
            stats.misses += 1
            return None, None
        if not (read.stable and read.ident == entry.ident and digest(read.data) == entry.digest):
            stats.misses += 1
            return None, read
        entry.read_ns = read.read_ns  # read again now: the next cycle is past the doubt
        del read
        give_back()
    stats.hits += 1
    return entry, None


def previous(path: Path) -> Known | None:
    """What the last read of ``path`` said, whatever the file says now: the base the next read
    builds on (each VEVENT's text is compared again, so nothing stale survives)."""
    with _lock:
        entry = _entries.get(_key(path))
    return entry.known if entry is not None else None


def store(path: Path, read: Read, known: Known, data_digest: bytes | None = None) -> None:
    """Remember what ``read`` of ``path`` said (nothing when the file changed while being read)."""
    key = _key(path)
    with _lock:
        if not read.stable:
            _entries.pop(key, None)
            return
        _entries[key] = Entry(read.ident, data_digest or digest(read.data), read.read_ns, known)
        stats.stores += 1


def forget(path: Path | None = None) -> None:
    """Drop the entry for ``path`` (every entry when None)."""
    with _lock:
        if path is None:
            _entries.clear()
        else:
            _entries.pop(_key(path), None)
