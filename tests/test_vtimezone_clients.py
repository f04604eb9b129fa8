"""What boundaryd writes reads at the same instants in the clients' own parsers.

ical.js (Thunderbird, Nextcloud; run with node) and libical (Evolution; through python3-gi)
expand each block event exactly as written — VTIMEZONE included — and every instance must start
at the UTC instant boundaryd's own plan has, in winter, in summer, across the changes, and after
2037. ``.ci/run`` installs both (``npm install`` into tests/clients, Debian's gir1.2-ical-3.0).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, datetime, time, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from boundaryd.core.ical import block_calendar, block_events, expand_blocks
from boundaryd.core.vtimezone import vtimezone
from conftest import make_rules

CLIENTS = Path(__file__).resolve().parent / "clients"
ICALJS = CLIENTS / "node_modules" / "ical.js" / "dist" / "ical.js"
SYS_PYTHON = "/usr/bin/python3"
ZONES = ["America/Toronto", "Australia/Sydney", "Europe/Berlin", "America/Los_Angeles"]
ANCHOR = date(2026, 12, 1)
END = datetime(2040, 1, 1, tzinfo=timezone.utc)
BLOCKS = """
- {id: morning, days: weekdays, start: "08:30", end: "11:00"}
- {id: late, days: daily, start: "23:30", duration: 1h}
- {id: early, days: [sun], start: "01:30", end: "02:15"}
"""


def _written(tz: str, tmp: Path) -> tuple[list[Path], set[tuple[str, int]]]:
    """The block resources boundaryd writes for ``tz``, and the UTC starts its plan has."""
    rules = make_rules(BLOCKS, tz=tz)
    events = [e for b in rules.blocks for e in block_events(rules, b, ANCHOR)]
    stamp = datetime(2026, 12, 1, tzinfo=timezone.utc)
    files = []
    for e in events:
        f = tmp / f"{e.uid}.ics"
        f.write_bytes(block_calendar(e, stamp).to_ical())
        files.append(f)
    start = datetime.combine(ANCHOR, time(0), rules.tz)
    planned = {
        (f"{i.block}", int(i.start.timestamp())) for i in expand_blocks(rules, events, start, END) if i.start < END
    }
    return files, planned


def _twice(zone: ZoneInfo, t: int) -> bool:
    """Whether the wall time at UTC second ``t`` occurs twice in ``zone``."""
    wall = datetime.fromtimestamp(t, zone).replace(tzinfo=None)
    return wall.replace(tzinfo=zone, fold=0).utcoffset() != wall.replace(tzinfo=zone, fold=1).utcoffset()


def _compare(zone: ZoneInfo, planned: set[tuple[str, int]], read: dict[str, list[int]]) -> None:
    seen = {(Path(f).name.split("-")[0], t) for f, ts in read.items() for t in ts}
    assert len(seen) > 8000  # 13 years of weekday, daily and weekly blocks: the whole range was read
    missing, extra = sorted(planned - seen), sorted(seen - planned)

    def show(xs: list[tuple[str, int]]) -> list[str]:
        return [f"{b} {datetime.fromtimestamp(t, timezone.utc):%Y-%m-%d %H:%M}Z" for b, t in xs[:5]]

    # The one known difference: a wall time that occurs twice (the hour the clocks go back) means
    # the first occurrence (RFC 5545 section 3.3.5), as boundaryd plans it; ical.js and libical
    # both take the second. Only such instances may differ, and by exactly that hour.
    ambiguous = {(b, t) for b, t in missing if (b, t + 3600) in extra and _twice(zone, t)}
    missing = [x for x in missing if x not in ambiguous]
    extra = [(b, t) for b, t in extra if (b, t - 3600) not in ambiguous]
    assert not missing and not extra, f"planned but not read: {show(missing)}; read but not planned: {show(extra)}"
    years = {datetime.fromtimestamp(t, timezone.utc).year for _, t in seen}
    assert {2027, 2038, 2039} <= years


@pytest.mark.parametrize("tz", ZONES)
def test_vtimezone_is_compact_and_rrule_based(tz: str) -> None:
    vtz = vtimezone(tz, date(2024, 1, 1))
    subs = vtz.subcomponents
    assert sorted(c.name for c in subs) == ["DAYLIGHT", "STANDARD"]
    assert all("RRULE" in c and "RDATE" not in c for c in subs)
    assert len(vtz.to_ical()) < 800


def test_zone_without_summer_time_is_one_standard() -> None:
    vtz = vtimezone("Asia/Tokyo", date(2024, 1, 1))
    assert [c.name for c in vtz.subcomponents] == ["STANDARD"]
    assert vtz.subcomponents[0].decoded("TZOFFSETTO").total_seconds() == 9 * 3600


def test_old_start_keeps_the_old_rule() -> None:
    """A block since 2005 in Toronto: 2005-2006 had April/October changes, written one by one."""
    vtz = vtimezone("America/Toronto", date(2005, 6, 1))
    ical = vtz.to_ical().decode()
    assert "DTSTART:20061029T020000" in ical and "DTSTART:20070311T020000" in ical
    cal = icalendar.Calendar()
    cal.add_component(vtz)
    assert ical.count("RRULE") == 2


@pytest.mark.parametrize("tz", ZONES)
def test_icaljs_reads_every_block_at_the_planned_instant(tz: str, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (ical.js runs on node)")
    if not ICALJS.exists():
        pytest.skip(f"ical.js is not installed: npm install --prefix {CLIENTS} ical.js")
    files, planned = _written(tz, tmp_path)
    out = subprocess.run(
        [node, str(CLIENTS / "expand_icaljs.mjs"), ICALJS.as_uri(), str(int(END.timestamp())), *map(str, files)],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout
    _compare(ZoneInfo(tz), planned, json.loads(out))


def _has_libical() -> bool:
    if not Path(SYS_PYTHON).exists():
        return False
    probe = "import gi; gi.require_version('ICalGLib', '3.0'); from gi.repository import ICalGLib"
    return subprocess.run([SYS_PYTHON, "-c", probe], capture_output=True, timeout=60).returncode == 0


@pytest.mark.parametrize("tz", ZONES)
def test_libical_reads_every_block_at_the_planned_instant(tz: str, tmp_path: Path) -> None:
    if not _has_libical():
        pytest.skip("libical's GObject binding is not installed (apt-get install gir1.2-ical-3.0 python3-gi)")
    files, planned = _written(tz, tmp_path)
    out = subprocess.run(
        [SYS_PYTHON, str(CLIENTS / "expand_libical.py"), str(int(END.timestamp())), *map(str, files)],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout
    _compare(ZoneInfo(tz), planned, json.loads(out))
