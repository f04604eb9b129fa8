"""A weekday typo is an error (not the day its first letters spell), naming the valid names."""

from __future__ import annotations

import textwrap

import pytest

from boundaryd.core.rules import load_rules_text
from boundaryd.errors import BadInput


def rules(block: str) -> str:
    return textwrap.dedent(f"""\
        version: 1
        timezone: America/Toronto
        owner: {{emails: [a@example.com]}}
        blocks:
          - {{id: b, {block}}}
        """)


def test_a_weekday_typo_is_an_error_naming_the_days() -> None:
    with pytest.raises(BadInput) as info:
        load_rules_text(rules('days: [mon, sundae], start: "09:00", duration: 1h'), "rules.yaml")
    (problem,) = info.value.problems
    assert problem.startswith("rules.yaml:5:") and "'sundae'" in problem
    assert "mon, tue, wed, thu, fri, sat, sun" in problem and "monday" in problem


def test_full_day_names_still_load() -> None:
    r = load_rules_text(rules('days: [Monday, thurs], start: "09:00", duration: 1h'), "rules.yaml")
    assert r.block("b").days == frozenset({0, 3})
