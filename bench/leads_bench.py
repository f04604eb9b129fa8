"""What knowing "who the owner has met" costs (``leads``): the history read once per calendar, then
a quiet cycle, on a memory calendar of 2,000 past meetings (700 people) and 300 in the window.

    .venv/bin/python bench/leads_bench.py

The first cycle reads the past once (about one full read of the calendar: parsing dominates);
every later cycle reads no history and, with nothing new, writes nothing to the journal.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from boundaryd.calendars.memory import MemoryBackend, MemoryCalendar  # noqa: E402
from boundaryd.engine import journal_contacts  # noqa: E402
from boundaryd.engine.journal import Journal  # noqa: E402
from clirun import calendar_of, invite  # noqa: E402
from conftest import TORONTO, make_rules  # noqa: E402


def main() -> None:
    rules = make_rules('- {id: p, kind: prospecting, days: weekdays, start: "08:30", end: "11:00", policy: decline}',
                       extra="leads: {}\n")
    now = datetime(2026, 11, 23, 7, tzinfo=TORONTO)
    store = MemoryCalendar("bench-leads")
    for i in range(2000):
        t = now - timedelta(days=365) + timedelta(hours=4 * i + 1)
        store.put(f"p{i}", calendar_of(invite(f"p{i}", "Past", t, organizer=f"c{i % 700}@x.example")))
    for i in range(300):
        store.put(f"f{i}", calendar_of(invite(f"f{i}", "Soon", now + timedelta(hours=i + 1), organizer=f"n{i}@x.example")))
    journal = Journal(Path(tempfile.mkdtemp()) / "journal.sqlite3")
    backend = MemoryBackend(store, journal)
    t0 = time.perf_counter()
    snap = backend.snapshot(now, now + timedelta(days=14), TORONTO)
    t1 = time.perf_counter()
    known = journal_contacts.known(rules, snap, now, backend, journal) or ()
    t2 = time.perf_counter()
    print(f"snapshot of the window (a full read): {1000 * (t1 - t0):.0f} ms")
    print(f"first cycle's contacts (history read once): {1000 * (t2 - t1):.0f} ms, {len(known)} people known")
    writes = journal.db.total_changes
    t0 = time.perf_counter()
    for _ in range(20):
        journal_contacts.known(rules, snap, now, backend, journal)
    each = (time.perf_counter() - t0) / 20
    print(f"quiet cycle's contacts: {1000 * each:.1f} ms; history reads {store.history_reads};"
          f" journal rows written by quiet cycles: {journal.db.total_changes - writes}")


if __name__ == "__main__":
    main()
