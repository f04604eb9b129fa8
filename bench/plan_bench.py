"""Planning cost against its floor, side by side in one process.

The floor is what any tool must do to know a calendar's next 14 days: icalendar's parse plus
recurring-ical-events' expansion of the window. boundaryd's planning is the ICS backend's
snapshot (parse, expand, map to occurrences) plus the planner (blocks, conflicts, decisions,
alternatives). Both run on the same generated calendar, interleaved, several times; medians.

    make bench            # or: .venv/bin/python bench/plan_bench.py [--series 500 --singles 5000] [--profile]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from boundaryd.calendars import snapcache
from boundaryd.calendars.ics import IcsBackend
from boundaryd.core.planner import plan
from boundaryd.core.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
OWNER = "alice@example.com"
ZONES = [TZ, ZoneInfo("Europe/London"), ZoneInfo("America/Vancouver"), ZoneInfo("UTC"), None]  # None: floating


def generate(series: int, singles: int, seed: int = 7) -> bytes:
    """A busy professional's calendar: recurring meetings with exceptions, and a flood of invitations."""
    rnd = random.Random(seed)
    cal = icalendar.Calendar()
    cal.add("PRODID", "-//boundaryd bench//EN")
    cal.add("VERSION", "2.0")

    def event(uid: str, start: datetime, minutes: int) -> icalendar.Event:
        ev = icalendar.Event()
        ev.add("UID", uid)
        ev.add("DTSTAMP", datetime(2026, 11, 1, tzinfo=ZoneInfo("UTC")))
        ev.add("SUMMARY", f"Meeting {uid.split('@')[0]}")
        ev.add("DTSTART", start)
        ev.add("DTEND", start + timedelta(minutes=minutes))
        if rnd.random() < 0.8:
            org = f"client{rnd.randrange(300)}@{rnd.choice(['homes.example', 'bigclient.com', 'bank.example'])}"
            ev.add("ORGANIZER", f"mailto:{org}")
            for mail, ps in ((org, "ACCEPTED"), (OWNER, rnd.choice(["NEEDS-ACTION"] * 6 + ["ACCEPTED", "TENTATIVE", "DECLINED"]))):
                a = icalendar.vCalAddress(f"mailto:{mail}")
                a.params["PARTSTAT"] = ps
                ev.add("ATTENDEE", a)
        if rnd.random() < 0.05:
            ev.add("TRANSP", "TRANSPARENT")
        if rnd.random() < 0.03:
            ev.add("STATUS", "CANCELLED")
        return ev

    def when(days: float) -> datetime:
        zone = rnd.choice(ZONES)
        base = NOW.astimezone(zone) if zone else NOW.replace(tzinfo=None)
        return (base + timedelta(days=days)).replace(minute=rnd.choice([0, 15, 30, 45]), second=0, microsecond=0)

    for i in range(series):
        start: date | datetime = when(rnd.uniform(-200, 0))
        ev = event(f"s{i}@bench", start, rnd.choice([15, 30, 45, 60, 90]))
        if rnd.random() < 0.05:  # an all-day series: a weekly day off, a monthly report day
            start = (NOW + timedelta(days=rnd.uniform(-200, 0))).date()
            ev["DTSTART"] = icalendar.vDDDTypes(start)
            ev["DTEND"] = icalendar.vDDDTypes(start + timedelta(days=1))
        freq = rnd.choice(["WEEKLY"] * 5 + ["DAILY", "MONTHLY"])
        ev.add("RRULE", {"FREQ": [freq], "INTERVAL": [rnd.choice([1, 1, 1, 2])]})
        if rnd.random() < 0.3:
            ev.add("EXDATE", start + timedelta(days=7 * rnd.randrange(1, 30)))
        cal.add_component(ev)
        if rnd.random() < 0.3:  # an override moving one instance in the window
            ov = event(f"s{i}@bench", start, 60)
            step = {"WEEKLY": 7, "DAILY": 1, "MONTHLY": 31}[freq]
            first_day = start.date() if isinstance(start, datetime) else start
            k = max(1, ((NOW.date() - first_day).days + 3) // step)
            rid = start + timedelta(days=step * k) if freq != "MONTHLY" else start
            ov.add("RECURRENCE-ID", rid)
            moved = timedelta(hours=1) if isinstance(rid, datetime) else timedelta(days=1)  # all-day: the next day
            ov["DTSTART"] = icalendar.vDDDTypes(rid + moved)
            ov["DTEND"] = icalendar.vDDDTypes(rid + moved + (timedelta(hours=1) if isinstance(rid, datetime) else moved))
            cal.add_component(ov)
    for i in range(singles):
        if rnd.random() < 0.05:
            ev = event(f"d{i}@bench", when(0), 0)
            d = (NOW + timedelta(days=rnd.uniform(-60, 60))).date()
            ev["DTSTART"] = icalendar.vDDDTypes(d)
            ev["DTEND"] = icalendar.vDDDTypes(d + timedelta(days=1))
        else:
            ev = event(f"d{i}@bench", when(rnd.uniform(-60, 60)), rnd.choice([15, 30, 45, 60, 90, 120]))
        cal.add_component(ev)
    cal.add_missing_timezones()
    return cal.to_ical()


def floor(data: bytes) -> int:
    cal = icalendar.Calendar.from_ical(data)
    return len(list(recurring_ical_events.of(cal).between(NOW, NOW + timedelta(days=14))))


def planning(path: Path, rules: object) -> tuple[int, int]:
    snapcache.forget()  # a first read each time (a daemon's later cycles are cycle_bench's)
    snap = IcsBackend(path, create=False).snapshot(NOW, NOW + timedelta(days=14), TZ)
    p = plan(rules, snap, NOW)  # type: ignore[arg-type]
    return len(snap.occurrences), len(p.conflicts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=500)
    ap.add_argument("--singles", type=int, default=5000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="also profile one planning run (cProfile, by own time)")
    args = ap.parse_args()
    data = generate(args.series, args.singles)
    path = Path(tempfile.mkdtemp(prefix="bd-bench-")) / "calendar.ics"
    path.write_bytes(data)
    rules = load_rules(ROOT / "rules" / "example.yaml")

    floor(data), planning(path, rules)  # warm imports and caches for both
    t_floor: list[float] = []
    t_plan: list[float] = []
    for _ in range(args.reps):  # interleaved, so both see the same machine
        t0 = time.perf_counter()
        n_floor = floor(data)
        t_floor.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        n_occ, n_conf = planning(path, rules)
        t_plan.append(time.perf_counter() - t0)

    tracemalloc.start()
    floor(data)
    mem_floor = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    planning(path, rules)
    mem_plan = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    f, p = statistics.median(t_floor), statistics.median(t_plan)
    print(f"calendar: {args.series} recurring series, {args.singles} single events, {len(data) / 1e6:.1f} MB")
    print(f"window: 14 days; {n_floor} instances expanded by the floor, {n_occ} occurrences and {n_conf} conflicts planned")
    print(f"floor (icalendar parse + recurring-ical-events expansion): {f * 1000:8.0f} ms  peak {mem_floor / 1e6:6.1f} MB")
    print(f"boundaryd (ICS snapshot + plan):                          {p * 1000:8.0f} ms  peak {mem_plan / 1e6:6.1f} MB")
    print(f"ratio: {p / f:.2f}x the floor (target <= 1.3x); medians of {args.reps} interleaved runs")
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.runcall(planning, path, rules)
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
