"""Changes to an iCalendar file made UID by UID, on its text.

To flag one event of a 20,000-event file, only that event's VEVENTs are parsed (in a calendar
made of the file's frame — VCALENDAR lines, VTIMEZONEs — and them), changed, and written back in
place of their old text; every other byte of the file stays as it was, so the next read parses
only what changed (:mod:`boundaryd.calendars.ics_chunks`).

The whole file is parsed and written instead when the text does not split cleanly, when the
frame has an X-WR-TIMEZONE (the reader rewrites every event's times by it), when a VEVENT's UID
is not known from the last read, or when a change needs a new VTIMEZONE (written for every
event of the zone, as before): the edits made so far are then made again on the whole calendar.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import icalendar

from boundaryd.calendars.ics_chunks import Known, Split, frame_components, parse_body, parse_events, split
from boundaryd.core import ical

#: one change: made on a calendar that holds (at least) the UID's events; returns whether it changed anything
Change = Callable[[icalendar.Calendar], bool]
_END = re.compile(rb"^END:VCALENDAR\r?$", re.MULTILINE | re.IGNORECASE)


class Editor:
    """The file's bytes, and the changes made to them so far."""

    def __init__(self, data: bytes, name: str, known: Known | None) -> None:
        self.data = data
        self.name = name
        self.changes: list[tuple[str, Change]] = []
        self.whole: icalendar.Calendar | None = None
        #: UID -> the text of its events as changed (kept as text: thousands of flags in a first
        #: sync would otherwise keep thousands of parse trees until the file is written)
        self.texts: dict[str, bytes] = {}
        self.frame: list[icalendar.Component] = []
        self.sp: Split | None = split(data) if data.strip() else None
        self.spans_of: dict[str, list[int]] = {}
        uids = known.uids if known is not None else {}
        if self.sp is None or b"X-WR-TIMEZONE" in self.sp.text(()).upper() or not all(d in uids for d in self.sp.digests):
            self._go_whole()
            return
        for i, d in enumerate(self.sp.digests):
            self.spans_of.setdefault(uids[d], []).append(i)
        frame = frame_components(self.sp, name, known)
        if frame is None:  # an X-WR-TIMEZONE: every event's times depend on the whole file
            self._go_whole()
            return
        self.frame = frame

    def _go_whole(self) -> None:
        """Parse the whole file and make every change so far on it."""
        data = self.data
        self.whole = ical.parse_calendar(data, self.name) if data.strip() else ical.new_calendar()
        self.texts = {}
        for _, change in self.changes:
            change(self.whole)

    def calendar(self, uid: str) -> icalendar.Calendar:
        """A calendar holding every event of ``uid`` as the file (and the changes so far) has it."""
        if self.whole is not None:
            return self.whole
        if uid in self.texts:
            return parse_body(self.texts[uid], self.name, self.frame)
        assert self.sp is not None
        return parse_events(self.sp, self.spans_of.get(uid, []), self.name, self.frame)

    def change(self, uid: str, change: Change) -> bool:
        """Make ``change`` to the events of ``uid``. Returns whether it changed anything."""
        cal = self.calendar(uid)
        others = sum(1 for c in cal.subcomponents if c.name != "VEVENT")
        changed = change(cal)
        self.changes.append((uid, change))
        if self.whole is None:
            if sum(1 for c in cal.subcomponents if c.name != "VEVENT") != others:
                self._go_whole()  # a new VTIMEZONE: the whole calendar's events decide what it says
            else:
                self.texts[uid] = b"".join(c.to_ical() for c in cal.subcomponents if c.name == "VEVENT")
        return changed

    def result(self) -> bytes:
        """The file with every change made."""
        if self.whole is not None:
            return bytes(self.whole.to_ical())
        sp = self.sp
        assert sp is not None
        edits: list[tuple[int, int, bytes]] = []  # (start, end, new bytes) in the old text
        added = b""
        for uid, text in self.texts.items():
            spans = self.spans_of.get(uid)
            if not spans:
                added += text
                continue
            for n, i in enumerate(spans):  # the UID's events all where its first one was
                edits.append((*sp.spans[i], text if n == 0 else b""))
        if added:  # new events: at the end of the first VCALENDAR
            m = _END.search(sp.data)
            cut = m.start() if m is not None else len(sp.data)
            edits.append((cut, cut, added))
        out, pos = [], 0
        for start, end, text in sorted(edits, key=lambda e: (e[0], e[1])):
            out += [sp.data[pos:start], text]
            pos = end
        out.append(sp.data[pos:])
        return b"".join(out)
