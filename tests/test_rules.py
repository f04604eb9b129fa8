"""The rules file: the examples load, every problem is reported at FILE:LINE:COLUMN, the schema is fresh."""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from boundaryd.core.rules import load_rules, load_rules_text
from boundaryd.errors import BadInput
from conftest import rules_yaml

ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = ROOT / "rules"
LOCATED = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$")

GOOD_BLOCK = """
- id: evening
  title: Family evening
  days: weekdays
  start: "18:00"
  end: "21:00"
  policy: decline
"""


def problems_of(text: str, name: str = "bad.yaml") -> list[tuple[int, int, str]]:
    """Load ``text``; it must fail. Returns (line, column, message) of every problem, each checked."""
    with pytest.raises(BadInput) as info:
        load_rules_text(textwrap.dedent(text), name)
    out = []
    for p in info.value.problems:
        assert "\n" not in p, p
        m = LOCATED.match(p)
        assert m, f"not FILE:LINE:COLUMN: {p!r}"
        assert m["file"] == name
        out.append((int(m["line"]), int(m["col"]), m["msg"]))
    assert info.value.exit_code == 2
    return out


def one_problem(text: str) -> tuple[int, int, str]:
    found = problems_of(text)
    assert len(found) == 1, found
    return found[0]


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line of the dedented ``text`` that holds ``needle``."""
    for i, line in enumerate(textwrap.dedent(text).splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


# --- the shipped examples -----------------------------------------------------------------


def test_example_loads_with_every_section() -> None:
    r = load_rules(RULES_DIR / "example.yaml")
    assert r.timezone == "America/Toronto"
    assert r.owner.emails == ["alice@example.com"]
    assert r.working_hours.start == dt.time(8, 0) and r.working_hours.end == dt.time(18, 0)
    ids = [b.id for b in r.blocks]
    assert len(ids) == len(set(ids)) >= 6
    kinds = {b.kind for b in r.blocks}
    assert {"family", "workout", "prospecting", "follow-up", "call-return", "buffer", "day-off"} <= kinds
    pro = r.block("prospecting")
    assert (pro.start, pro.end, r.policy_of(pro)) == (dt.time(8, 30), dt.time(11, 0), "decline")
    assert r.block("workout").days == frozenset({0, 2, 4})
    assert r.block("sunday").all_day
    assert r.skipped_dates("prospecting") == [dt.date(2026, 12, 24), dt.date(2026, 12, 25)]
    assert r.skipped_dates("family") == [dt.date(2026, 12, 25)]
    for f in ("example.yaml", "minimal.yaml"):
        first = (RULES_DIR / f).read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../rules/schema.json"


def test_minimal_loads_with_defaults() -> None:
    r = load_rules(RULES_DIR / "minimal.yaml")
    assert r.horizon_days == 14
    assert r.working_hours.days == frozenset(range(5))
    assert (r.working_hours.start, r.working_hours.end) == (dt.time(9), dt.time(17))
    assert r.defaults.policy == "flag" and r.defaults.decline_accepted is False
    assert r.owner.name is None
    assert len(r.blocks) == 1


# --- each kind of problem -----------------------------------------------------------------


def test_unknown_key_has_place_and_did_you_mean() -> None:
    text = rules_yaml(GOOD_BLOCK + "  polcy: flag\n")
    line, col, msg = one_problem(text)
    assert line == line_of(text, "polcy")
    assert col == text.splitlines()[line - 1].index("polcy") + 1
    assert "unknown key 'polcy'" in msg and "did you mean 'policy'" in msg


@pytest.mark.parametrize(
    ("snippet", "typo", "meant"),
    [
        ("timezon: UTC\n", "timezon", "timezone"),
        ("working_hours: {strat: '08:00'}\n", "strat", "start"),
        ("notify: {email: {to: a@b.example, form: c@d.example}}\n", "form", "from"),
        ("defaults: {polciy: flag}\n", "polciy", "policy"),
    ],
)
def test_unknown_keys_in_sections(snippet: str, typo: str, meant: str) -> None:
    text = "version: 1\ntimezone: UTC\nowner: {emails: [a@b.example]}\n" + snippet + "blocks:\n" + textwrap.indent(GOOD_BLOCK.strip(), "  ") + "\n"
    found = problems_of(text)
    assert len(found) == 1, found
    line, col, msg = found[0]
    assert line == 4
    assert col == text.splitlines()[3].index(typo) + 1
    assert f"unknown key {typo!r}" in msg and f"did you mean {meant!r}" in msg


def test_bad_time() -> None:
    text = rules_yaml(GOOD_BLOCK.replace('"18:00"', '"25:00"'))
    line, col, msg = one_problem(text)
    assert line == line_of(text, "25:00")
    assert col == text.splitlines()[line - 1].index('"25:00"') + 1
    assert "'25:00' is not a time" in msg and "HH:MM" in msg


def test_end_before_start() -> None:
    text = rules_yaml(GOOD_BLOCK.replace('"21:00"', '"17:00"'))
    line, _col, msg = one_problem(text)
    assert line_of(text, "id: evening") <= line <= line_of(text, "17:00")
    assert "end 17:00 is not later than start 18:00" in msg
    assert "duration" in msg  # says how to cross midnight


def test_unknown_time_zone() -> None:
    text = rules_yaml(GOOD_BLOCK, tz="America/Toronot")
    line, col, msg = one_problem(text)
    assert (line, col) == (2, 11)
    assert "unknown time zone 'America/Toronot'" in msg and "America/Toronto" in msg


def test_unknown_weekday() -> None:
    text = rules_yaml(GOOD_BLOCK.replace("days: weekdays", "days: [mon, funday]"))
    line, _col, msg = one_problem(text)
    assert line == line_of(text, "funday")
    assert "unknown weekday 'funday'" in msg and "mon, tue" in msg


def test_duplicate_block_id() -> None:
    text = rules_yaml(GOOD_BLOCK + "- {id: evening, days: [sun], all_day: true}\n")
    line, col, msg = one_problem(text)
    assert line == line_of(text, "all_day")
    assert col == text.splitlines()[line - 1].index("evening") + 1
    assert "duplicate block id 'evening'" in msg


def test_both_end_and_duration() -> None:
    text = rules_yaml(GOOD_BLOCK + "  duration: 1h\n")
    _line, _col, msg = one_problem(text)
    assert "end or duration, not both" in msg and "evening" in msg


@pytest.mark.parametrize(
    ("rrule", "says"),
    [
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY"),
        ("FREQ=SOMETIMES", "FREQ"),
        ("BYDAY=SA", "no FREQ"),
        ("DTSTART:20260101T090000\\nRRULE:FREQ=DAILY", "DTSTART"),
    ],
)
def test_bad_rrule(rrule: str, says: str) -> None:
    text = rules_yaml(f'- {{id: reading, rrule: "{rrule}", start: "09:00", duration: 1h}}\n')
    line, col, msg = one_problem(text)
    assert line == line_of(text, "reading")
    assert col == text.splitlines()[line - 1].index('"') + 1
    assert "rrule" in msg and says in msg


@pytest.mark.parametrize(
    ("text", "line", "col"),
    [
        ("version: 1\ntimezone: UTC\nowner:\n  emails: [a@b.example]\n name: x\n", 5, 2),  # bad indentation
        ("version: 1\n\ttimezone: UTC\n", 2, 1),  # a tab
        ('version: 1\ntimezone: "UTC\n', 3, 1),  # unclosed quote
        ("version: 1\nblocks: [a, b\n", 3, 1),  # unclosed flow sequence
    ],
    ids=["indentation", "tab", "quote", "flow"],
)
def test_malformed_yaml(text: str, line: int, col: int) -> None:
    found = problems_of(text)
    assert len(found) == 1
    got_line, got_col, msg = found[0]
    assert "not valid YAML" in msg
    assert got_line == line
    assert got_col >= col


def test_duplicate_yaml_key() -> None:
    text = rules_yaml(GOOD_BLOCK + "  start: \"19:00\"\n")
    line, col, msg = one_problem(text)
    assert (line, col) == (line_of(text, '"19:00"'), 5)
    assert "duplicate key 'start'" in msg


def test_duplicate_top_level_key() -> None:
    text = rules_yaml(GOOD_BLOCK) + "timezone: Europe/Paris\n"
    line, col, msg = one_problem(text)
    assert (line, col) == (len(text.splitlines()), 1)
    assert "duplicate key 'timezone'" in msg


def test_skip_names_unknown_block() -> None:
    text = rules_yaml(GOOD_BLOCK, extra="skip:\n  - {date: 2026-12-24, blocks: [evenig]}\n")
    line, col, msg = one_problem(text)
    assert line == line_of(text, "evenig")
    assert col == text.splitlines()[line - 1].index("evenig") + 1
    assert "no block with id 'evenig'" in msg and "did you mean 'evening'" in msg


@pytest.mark.parametrize("text", ["- a\n- b\n", "just words\n", "42\n"], ids=["list", "scalar", "number"])
def test_not_a_mapping(text: str) -> None:
    line, col, msg = one_problem(text)
    assert (line, col) == (1, 1)
    assert "mapping" in msg and "version: 1" in msg


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"], ids=["empty", "blank", "comment"])
def test_empty_file(text: str) -> None:
    (_line, _col, msg), = problems_of(text)
    assert "version: 1" in msg


def test_non_utf8_file(tmp_path: Path) -> None:
    p = tmp_path / "latin1.yaml"
    raw = rules_yaml(GOOD_BLOCK.replace("Family evening", "Soirée")).encode("latin-1")
    p.write_bytes(raw)
    with pytest.raises(BadInput) as info:
        load_rules(p)
    (problem,) = info.value.problems
    m = LOCATED.match(problem)
    assert m and m["file"] == str(p)
    assert int(m["line"]) == line_of(rules_yaml(GOOD_BLOCK), "Family evening")
    assert "UTF-8" in m["msg"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as info:
        load_rules(tmp_path / "nope.yaml")
    assert str(tmp_path / "nope.yaml") in info.value.problems[0]


def test_every_problem_is_reported() -> None:
    text = textwrap.dedent(
        """\
        version: 1
        timezone: Mars/Olympus
        owner: {emails: [a@b.example]}
        horizon_dayz: 14
        blocks:
          - id: one
            days: [mon, blursday]
            start: "08:00"
            end: "09:00"
          - id: two
            days: weekdays
            start: "24:30"
            duration: 1h
          - id: one
            days: daily
            start: "10:00"
            end: "11:00"
            duration: 1h
        skip:
          - {date: 2026-12-24, blocks: [three]}
        """
    )
    found = problems_of(text)
    msgs = [m for _, _, m in found]
    assert len(found) == 7, found
    assert any("Mars/Olympus" in m for m in msgs)
    assert any("end or duration, not both" in m for m in msgs)
    assert any("horizon_dayz" in m and "horizon_days" in m for m in msgs)
    assert any("blursday" in m for m in msgs)
    assert any("24:30" in m for m in msgs)
    assert any("duplicate block id 'one'" in m for m in msgs)
    assert any("no block with id 'three'" in m for m in msgs)
    # reported in file order, each at a different place
    assert [(ln, c) for ln, c, _ in found] == sorted({(ln, c) for ln, c, _ in found})


def test_missing_required_keys() -> None:
    found = problems_of("version: 1\ntimezone: UTC\n")
    msgs = " | ".join(m for _, _, m in found)
    assert "missing key 'owner'" in msgs and "missing key 'blocks'" in msgs


# --- YAML 1.1 traps -------------------------------------------------------------------------


def test_unquoted_times_are_clock_times() -> None:
    text = rules_yaml(
        """
        - {id: a, days: daily, start: 11:30, end: 12:45}
        - {id: b, days: daily, start: 08:30, duration: 30m}
        - {id: c, days: daily, times: [09:05, 23:59], duration: 1m}
        """,
        working_hours="{start: 07:30, end: 19:00}",
    )
    r = load_rules_text(text, "r.yaml")
    a, b, c = r.blocks
    assert (a.start, a.end) == (dt.time(11, 30), dt.time(12, 45))
    assert b.start == dt.time(8, 30)
    assert c.times == [dt.time(9, 5), dt.time(23, 59)]
    assert (r.working_hours.start, r.working_hours.end) == (dt.time(7, 30), dt.time(19))


@pytest.mark.parametrize("value", ["off", "Off", "OFF", "false", '"off"'])
def test_weekly_preview_off(value: str) -> None:
    r = load_rules_text(rules_yaml(GOOD_BLOCK, extra=f"notify: {{weekly_preview: {value}}}\n"), "r.yaml")
    assert r.notify.weekly_preview == "off"


def test_weekly_preview_time_and_bad_value() -> None:
    r = load_rules_text(rules_yaml(GOOD_BLOCK, extra="notify: {weekly_preview: sun 18:00}\n"), "r.yaml")
    assert r.notify.weekly_preview == "sun 18:00"
    (_, _, msg), = problems_of(rules_yaml(GOOD_BLOCK, extra="notify: {weekly_preview: someday}\n"))
    assert "weekly_preview" in msg and "someday" in msg


def test_durations() -> None:
    text = rules_yaml(
        """
        - {id: a, days: daily, start: "22:00", duration: 9h}
        - {id: b, days: daily, start: "06:00", duration: 1h30m}
        - {id: c, days: daily, start: "07:00", duration: 90m}
        """
    )
    r = load_rules_text(text, "r.yaml")
    assert [b.duration for b in r.blocks] == [dt.timedelta(hours=9), dt.timedelta(minutes=90), dt.timedelta(minutes=90)]
    for bad in ("0m", "1.5h", "-1h", "soon"):
        (_, _, msg), = problems_of(rules_yaml(f'- {{id: a, days: daily, start: "22:00", duration: {bad}}}\n'))
        assert "duration" in msg and bad in msg


# --- YAML 1.1 words --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snippet", "check"),
    [
        ("notify: {replies: off}\n", lambda r: r.notify.replies == "off"),
        ("calendar: {google: {focus_time: off}}\n", lambda r: r.calendar.google.focus_time == "off"),
        ("defaults: {decline_accepted: yes}\n", lambda r: r.defaults.decline_accepted is True),
        ("defaults: {decline_accepted: off}\n", lambda r: r.defaults.decline_accepted is False),
        ("defaults: {decline_accepted: true}\n", lambda r: r.defaults.decline_accepted is True),
    ],
    ids=["replies-off", "focus-off", "bool-yes", "bool-off", "bool-true"],
)
def test_yaml_yes_no_on_off(snippet: str, check: Any) -> None:
    """YAML 1.1 reads unquoted off/no/yes/on as booleans; here they mean what they say."""
    assert check(load_rules_text(rules_yaml(GOOD_BLOCK, extra=snippet), "r.yaml"))


def test_yaml_boolean_words_as_names() -> None:
    r = load_rules_text(
        rules_yaml('- {id: off, title: No, days: [sun], all_day: on, allow: {keywords: [yes, on]}}\n'), "r.yaml"
    )
    (b,) = r.blocks
    assert (b.id, b.title, b.all_day, b.allow.keywords) == ("off", "No", True, ["yes", "on"])
