"""A conflict a ``busy_from`` source decided names the source in the notice, not its raw id."""

from __future__ import annotations

from boundaryd.core.model import Decision
from boundaryd.presentation.notice import facts
from mail_fixtures import conflict, load_rules, occurrence, week_blocks


def test_the_notice_names_the_source_not_its_raw_id() -> None:
    rules = load_rules()
    tz = rules.tz
    c = conflict(occurrence(tz), Decision.FLAG, block="busy_from:Family", blocks=("busy_from:Family",))
    f = facts(c, rules, week_blocks(tz), tz)
    assert f.block == "Family (busy_from)"
    both = conflict(occurrence(tz), Decision.DECLINE, block="prospecting", blocks=("prospecting", "busy_from:Kids"))
    line = facts(both, rules, week_blocks(tz), tz).block
    assert "(also Kids (busy_from))" in line and "busy_from:" not in line
