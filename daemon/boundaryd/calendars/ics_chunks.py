"""An iCalendar file read in proportion to what changed in it: by VEVENT, by UID.

The file's text is split (as text, not parsed) into its VEVENTs and the rest (the VCALENDAR
lines, VTIMEZONEs, other components: the "frame"). Each VEVENT's text is hashed. Against what the
previous read kept (the hash of each VEVENT with its UID, and per UID the expanded occurrences as
:class:`boundaryd.core.ical_read.Part`), only the UIDs that gained, lost or changed a VEVENT are
parsed and expanded again, from a calendar made of the frame and those UIDs' VEVENTs; every other
UID keeps its part. A changed frame (a VTIMEZONE, X-WR-TIMEZONE) reads every UID again.

A first read goes the same way in batches of UIDs, so a big file is never one parse tree in
memory. Whenever the text does not split cleanly (unbalanced BEGIN/END, a VEVENT that does not
parse as one, a UID whose VEVENTs the text and the parser group differently) the file is read
whole as before: same answer, just not cheaper.
"""

from __future__ import annotations

import hashlib
import pickle
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from boundaryd import heap
from boundaryd.core import ical
from boundaryd.core.ical_read import EMPTY, Expanded, Part, _uid, expand_parts

#: how far past the window's end occurrences are expanded, so the moving window is served from
#: what was read for this long before every UID is expanded again
MARGIN = timedelta(days=3)
#: VEVENTs parsed together in one calendar on a first read (bounds the parse tree in memory)
BATCH = 400
_EDGE = re.compile(rb"^(BEGIN|END):([^\r\n]*)\r?$", re.MULTILINE | re.IGNORECASE)
_UID = re.compile(rb"^UID(?:;[^:\r\n]*)?:([^\r\n]*)", re.MULTILINE | re.IGNORECASE)

#: progress callback: (events read so far, events in all)
Progress = Callable[[int, int], None]


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


@dataclass(frozen=True)
class Split:
    """Where the VEVENTs are in a file's bytes, and a hash of everything else."""

    data: bytes
    spans: list[tuple[int, int]]  # each VEVENT's [start, end) in ``data``, file order
    digests: list[bytes]
    frame: bytes  # hash of the text outside the VEVENTs

    def text(self, keep: Iterable[int]) -> bytes:
        """The file with only the VEVENTs ``keep`` (indexes into ``spans``)."""
        wanted = set(keep)
        out, pos = [], 0
        for i, (a, b) in enumerate(self.spans):
            out.append(self.data[pos:a])
            if i in wanted:
                out.append(self.data[a:b])
            pos = b
        out.append(self.data[pos:])
        return b"".join(out)


def split(data: bytes) -> Split | None:
    """The file's VEVENTs by text; None when its BEGIN/END lines do not nest cleanly."""
    spans: list[tuple[int, int]] = []
    stack: list[bytes] = []
    start = 0
    for m in _EDGE.finditer(data):
        kind, name = m.group(1).upper(), m.group(2).strip().upper()
        if kind == b"BEGIN":
            if not stack and name != b"VCALENDAR":
                return None
            if name == b"VEVENT":
                if len(stack) != 1:
                    return None
                start = m.start()
            stack.append(name)
        else:
            if not stack or stack.pop() != name:
                return None
            if name == b"VEVENT":
                end = m.end() + (1 if data[m.end() : m.end() + 1] == b"\n" else 0)
                spans.append((start, end))
    if stack:
        return None
    digests = [_digest(data[a:b]) for a, b in spans]
    outside = Split(data, spans, digests, b"").text(())
    return Split(data, spans, digests, _digest(outside))


def _guess(data: bytes, span: tuple[int, int]) -> bytes:
    """The UID as the text says it (unfolded lines are not undone: only a grouping hint)."""
    m = _UID.search(data, span[0], span[1])
    return m.group(1).strip() if m else b""


@dataclass
class Known:
    """What the last read kept: each VEVENT's hash with its UID, the frame's hash, the parts."""

    frame: bytes
    uids: dict[bytes, str]
    #: the hashes of VEVENTs the text holds more than once, with how often (every other one: once)
    dups: dict[bytes, int]
    expanded: Expanded
    tz: ZoneInfo
    #: the frame's components (VTIMEZONEs...), parsed once; None: each parse takes the whole frame
    frame_comps: list[icalendar.Component] | None = None

    def count(self, digest: bytes) -> int:
        """How many VEVENTs of the text read had this hash."""
        return self.dups.get(digest, 1) if digest in self.uids else 0


def frame_components(sp: Split, name: str, known: Known | None = None) -> list[icalendar.Component] | None:
    """The frame's own components (parsed once: the VTIMEZONEs are then known to the parser), or
    None when VEVENTs must be parsed with the whole frame (an X-WR-TIMEZONE rewrites their times)."""
    if known is not None and known.frame == sp.frame:
        return known.frame_comps
    text = sp.text(())
    if b"X-WR-TIMEZONE" in text.upper():
        return None
    return [c for c in ical.parse_calendar(text, name).subcomponents if c.name != "VEVENT"]


def parse_events(sp: Split, keep: list[int], name: str, frame: list[icalendar.Component] | None) -> icalendar.Calendar:
    """A calendar of the frame and the VEVENTs ``keep`` (in file order), as the whole file's parse has them."""
    if frame is None:
        return ical.parse_calendar(sp.text(keep), name)
    return parse_body(b"".join(sp.data[a:b] for a, b in (sp.spans[i] for i in sorted(keep))), name, frame)


def parse_body(body: bytes, name: str, frame: list[icalendar.Component]) -> icalendar.Calendar:
    """A calendar of the frame's components and the VEVENTs in ``body``."""
    cal = ical.parse_calendar(b"BEGIN:VCALENDAR\r\n" + body + b"END:VCALENDAR\r\n", name)
    cal.subcomponents[:0] = frame
    return cal


class Whole(Exception):
    """The text does not split cleanly: read the file whole."""


def read(data: bytes, name: str, start: datetime, end: datetime, tz: ZoneInfo, known: Known | None,
         progress: Progress | None = None) -> Known:
    """What ``data`` holds for ``[start, end)`` and MARGIN beyond, re-reading only the UIDs that
    changed since ``known`` (everything when ``known`` was read for another zone or window)."""
    lo, hi = start, end + MARGIN
    sp = split(data) if data.strip() else None
    if sp is None:
        return _whole(data, name, lo, hi, tz)
    frame = frame_components(sp, name, known)
    if known is not None and (known.frame != sp.frame or known.tz != tz or not known.expanded.covers(start, end)):
        known = None
    if known is None:
        lo_hi = (lo, hi)
        old_uids: dict[bytes, str] = {}
        old_parts: dict[str, Part] = {}
    else:
        lo_hi = (known.expanded.lo, known.expanded.hi)
        old_uids, old_parts = known.uids, known.expanded.parts
    new_counts = Counter(sp.digests)
    was = known.count if known is not None else (lambda d: 0)
    hints = [old_uids[d] if d in old_uids else _guess(data, s).decode("utf-8", "replace")
             for d, s in zip(sp.digests, sp.spans, strict=True)]
    affected = {h for h, d in zip(hints, sp.digests, strict=True) if new_counts[d] != was(d)}
    affected |= {u for d, u in old_uids.items() if new_counts[d] != was(d)}
    todo = [i for i, h in enumerate(hints) if h in affected]
    if known is None and not todo:  # no VEVENT: the frame alone says whether this is a calendar
        return _whole(data, name, lo, hi, tz)
    try:
        uids, parts = _parse(sp, todo, hints, name, lo_hi, tz, frame, progress)
    except Whole:
        return _whole(data, name, lo, hi, tz)
    # the hashes still in the text keep their objects (a daemon keeps these; new ones would be
    # scattered among this read's garbage), the re-read VEVENTs' are added
    chunk_uid = {d: u for d, u in old_uids.items() if d in new_counts}
    chunk_uid.update(uids)
    # every VEVENT of a re-read UID must have been re-read with it
    reread, parsed = set(parts) | affected, set(todo)
    if any(chunk_uid[d] in reread and i not in parsed for i, d in enumerate(sp.digests)):
        return _whole(data, name, lo, hi, tz)
    order: dict[str, Part] = {}
    for d in sp.digests:
        uid = chunk_uid[d]
        if uid not in order:
            part = parts.get(uid) if uid in reread else old_parts.get(uid)
            if part is not None and part is not EMPTY:  # a UID with nothing in the window needs no entry
                order[uid] = part
    for uid, part in parts.items():  # parts with no VEVENT of their own (none expected)
        if part is not EMPTY:
            order.setdefault(uid, part)
    same = {uid: uid for uid in order}  # each UID's text kept once, the parts' own
    for d, uid in uids.items():
        chunk_uid[d] = same.get(uid, uid)
    dups = {d: n for d, n in new_counts.items() if n > 1}
    return Known(sp.frame, chunk_uid, dups, Expanded(lo_hi[0], lo_hi[1], order), tz, frame)


def _parse(sp: Split, todo: list[int], hints: list[str], name: str, lo_hi: tuple[datetime, datetime],
           tz: ZoneInfo, frame: list[icalendar.Component] | None,
           progress: Progress | None) -> tuple[dict[bytes, str], dict[str, Part]]:
    """Parse and expand the VEVENTs ``todo`` in batches that never split a UID (by its hint)."""
    batches: list[list[int]] = []
    current: list[int] = []
    by_hint: dict[str, list[int]] = {}
    for i in todo:
        by_hint.setdefault(hints[i], []).append(i)
    for group in by_hint.values():
        if current and len(current) + len(group) > BATCH:
            batches.append(current)
            current = []
        current.extend(group)
    if current:
        batches.append(current)
    # Several batches: each one's result is kept pickled until all are parsed, so what stays (the
    # occurrences) is built at the end, packed together, not scattered among freed parse trees
    # (which would keep the daemon's memory at the parse's peak).
    packed = len(batches) > 1
    results: list[bytes | tuple[dict[bytes, str], dict[str, Part]]] = []
    done = 0
    for batch in batches:
        batch.sort()
        cal = parse_events(sp, batch, name, frame)
        events = [c for c in cal.subcomponents if c.name == "VEVENT"]
        if len(events) != len(batch):
            raise Whole
        got = ({sp.digests[i]: _uid(comp) for i, comp in zip(batch, events, strict=True)},
               expand_parts(cal, lo_hi[0], lo_hi[1], tz))
        del cal, events
        results.append(pickle.dumps(got, pickle.HIGHEST_PROTOCOL) if packed else got)
        done += len(batch)
        if progress is not None:
            progress(done, len(todo))
    if packed:
        heap.give_back()
    uids: dict[bytes, str] = {}
    parts: dict[str, Part] = {}
    while results:
        one = results.pop(0)
        batch_uids, batch_parts = pickle.loads(one) if isinstance(one, bytes) else one  # noqa: S301 - our own bytes
        uids.update(batch_uids)
        for uid, part in batch_parts.items():
            if uid in parts:  # the text grouped one UID's VEVENTs apart
                raise Whole
            parts[uid] = part if part != EMPTY else EMPTY  # one empty part again, after pickling
    return uids, parts


def _whole(data: bytes, name: str, lo: datetime, hi: datetime, tz: ZoneInfo) -> Known:
    """The whole file parsed at once (nothing kept for the next read to build on)."""
    cal = ical.parse_calendar(data, name) if data.strip() else ical.new_calendar()
    return Known(b"", {}, {}, ical.expand(cal, lo, hi, tz), tz)
