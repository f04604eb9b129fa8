"""The caches a quiet daemon cycle and `boundaryd check` rely on give exactly what computing afresh gives.

expand_blocks keeps the expansion of a window widened to whole UTC days, block_events the VEVENT
text of each block event; `check` expands the blocks without the planner (ical_blocks.block_instances).
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from boundaryd.core import ical_blocks
from boundaryd.core.ical_blocks import _expand, block_events, block_instances, expand_blocks
from boundaryd.core.planner import block_instances as planner_block_instances
from boundaryd.core.rules import Rules
from boundaryd.core.rules_yaml import load_rules
from conftest import local, make_rules

EXAMPLE = Path(__file__).resolve().parent.parent / "rules" / "example.yaml"
MON = date(2026, 11, 23)
BLOCKS = """
- {id: a, days: weekdays, start: "08:30", end: "11:00"}
- {id: b, days: weekdays, times: ["11:30", "16:30"], duration: 30m}
- {id: c, days: daily, all_day: true}
- {id: sleep, days: daily, start: "22:00", duration: 9h}
- {id: alt, rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", start: "10:00", duration: 2h}
"""


def _fresh(rules: Rules, start: datetime, end: datetime) -> list[object]:
    events = [e for b in rules.blocks for e in block_events(rules, b, anchor=start.astimezone(rules.tz).date())]
    return list(_expand(rules, events, start, end))


@pytest.mark.parametrize("seed", range(3))
def test_cached_expansion_equals_a_fresh_one_on_moving_windows(seed: int) -> None:
    rules = make_rules(BLOCKS, extra="skip:\n  - {date: 2026-11-24, blocks: [a, c]}\n")
    rnd = random.Random(seed)
    t = local(date(2026, 10, 30), 7)  # across the end of daylight saving time (Nov 1 in Toronto)
    for _ in range(60):
        t += timedelta(minutes=rnd.choice((1, 7, 59, 61, 600)))
        end = t + timedelta(days=rnd.choice((1, 7, 14)), minutes=rnd.randrange(0, 90))
        events = [e for b in rules.blocks for e in block_events(rules, b, anchor=t.date())]
        got = expand_blocks(rules, events, t, end)
        assert got == _expand(rules, events, t, end)
        assert got  # the windows hold blocks: the comparison means something


def test_a_changed_title_or_kind_is_not_served_from_the_cache() -> None:
    start, end = local(MON), local(MON + timedelta(days=7))
    before = block_instances(make_rules(BLOCKS), start, end)
    renamed = make_rules(BLOCKS.replace('{id: a,', '{id: a, title: "Deep work",'))
    after = block_instances(renamed, start, end)
    assert {b.title for b in after if b.block == "a"} == {"Deep work"}
    assert {b.title for b in before if b.block == "a"} != {"Deep work"}
    assert after == _fresh(renamed, start, end)


def test_block_event_text_is_the_same_from_the_cache() -> None:
    rules = make_rules(BLOCKS)
    first = [e for b in rules.blocks for e in block_events(rules, b, anchor=MON)]
    ical_blocks._BLOCK_TEXT.clear()
    again = [e for b in rules.blocks for e in block_events(rules, b, anchor=MON)]
    assert first == again
    moved = block_events(rules, rules.block("a"), anchor=MON, moved=[MON + timedelta(days=2)])
    assert "EXDATE" in moved[0].ical and "EXDATE" not in first[0].ical


def test_check_expands_blocks_as_the_planner_does() -> None:
    for rules in (load_rules(EXAMPLE), make_rules(BLOCKS)):
        for days in range(0, 15, 3):
            start = local(MON + timedelta(days=days))
            assert block_instances(rules, start, start + timedelta(days=7)) == planner_block_instances(
                rules, start, start + timedelta(days=7)
            )


def test_check_loads_neither_the_planner_nor_a_client_library() -> None:
    from test_startup import _loaded, _modules_after

    code, modules = _modules_after("check", str(EXAMPLE), "--now", "2026-11-23T07:00:00-05:00")
    assert code == 0
    assert _loaded(modules, "boundaryd.core.ical_blocks")  # it did expand the blocks
    heavy = ("boundaryd.core.planner", "boundaryd.core.keepweek", "boundaryd.engine", "boundaryd.calendars",
             "caldav", "googleapiclient", "niquests", "msal")
    assert [h for h in heavy if _loaded(modules, h)] == []
