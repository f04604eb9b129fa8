"""bench/daemon_cycle_bench.py keeps working: the real `boundaryd run` on a tiny calendar, a few cycles.

Not a measure (no figure is checked against a goal): it proves the bench still starts the daemon, sees
every sync on its NOTIFY_SOCKET, edits the calendar between syncs and counts the stand-in's requests,
so `make bench` cannot rot silently. The calendar is generated around the wall clock because the
daemon reads it; nothing asserted here depends on the date.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import daemon_cycle_bench as bench  # noqa: E402
import daemon_worlds as worlds  # noqa: E402


def test_ics_rows_come_from_every_sync() -> None:
    row = bench.run_one("ics", 50, cycles=2, interval=0.5, warmup=1, floor_runs=1, timeout=60)
    assert row["syncs"] == len(bench.plan_of(2, 1)) == 8
    assert row["floor"] > 0 and row["floor_rss"] > 0
    assert row["first"] > 0 and row["startup"] > 0  # CPU read from /proc at READY=1 and after the first sync
    assert 0 < row["rss"] <= row["rss_max"]
    assert row["unchanged"] >= 0 and row["changed"] >= 0
    text = bench.table([row])
    assert text.splitlines()[1].split()[:2] == ["ics", "50"]
    assert bench.missed_goals(dict(row, unchanged=row["floor"], changed=0.0)) == ["ics 50: unchanged 100.0% > 2%"]


def test_google_requests_are_counted_per_cycle(tmp_path: Path) -> None:
    now = worlds.calendar_now()
    events = worlds.vevents(worlds.generate_around(now, 50))
    targets = worlds.window_singles(events, now)
    assert targets, "events in the window for someone else to edit"
    world = worlds.GoogleWorld(tmp_path, events, targets, now)
    try:
        before = world.fake.get_event(world.targets[0])["summary"]
        m = bench.measure(world, tmp_path, cycles=1, interval=0.5, warmup=1, timeout=60)
        after = world.fake.get_event(world.targets[0])["summary"]
    finally:
        world.close()
    assert m.syncs == len(bench.plan_of(1, 1))
    assert after == before + "x"  # the one-change cycle changed an event on the stand-in
    assert len(m.req_unchanged) == 2 and all(n >= 1 for n in m.req_unchanged + m.req_changed)
