"""Set-up that cannot go wrong silently: zone abbreviations, bad dates, a calendar path whose folder
is missing, and the subject of the owner's alert about a broken rules file."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from boundaryd.core.rules import CalendarURI, load_rules_text
from boundaryd.errors import BadInput
from clirun import NOW, make_env

HEAD = "version: 1\ntimezone: {tz}\nowner: {{emails: [a@example.com]}}\n"
BLOCK = 'blocks:\n  - {{id: a, days: weekdays, start: "09:00", end: "10:00"{extra}}}\n'


def problems(text: str) -> tuple[str, ...]:
    with pytest.raises(BadInput) as info:
        load_rules_text(text, "rules.yaml")
    return info.value.problems


@pytest.mark.parametrize(
    ("tz", "meant"),
    [
        ("EST", "America/New_York or America/Toronto"),
        ("pst", "America/Los_Angeles or America/Vancouver"),
        ("CET", "Europe/Paris or Europe/Berlin"),
        ("IST", "Asia/Kolkata or Europe/Dublin or Asia/Jerusalem"),
    ],
)
def test_zone_abbreviation_names_the_zones_meant(tz: str, meant: str) -> None:
    (line,) = problems(HEAD.format(tz=tz) + BLOCK.format(extra=""))
    assert line == f"rules.yaml:2:11: timezone: {tz!r} is an abbreviation, not a time zone (write the IANA name of the place, e.g. {meant})"


def test_iana_names_and_utc_still_load() -> None:
    for tz in ("America/Toronto", "UTC", "Europe/London", "Etc/GMT+5"):
        assert load_rules_text(HEAD.format(tz=tz) + BLOCK.format(extra=""), "rules.yaml").timezone == tz


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("2026-13-01", '"2026-13-01" is not a date: there is no month 13 (write YYYY-MM-DD, e.g. 2026-12-24)'),
        ("2026-02-30", '"2026-02-30" is not a date: February 2026 has 28 days (write YYYY-MM-DD)'),
        ("2028-02-30", '"2028-02-30" is not a date: February 2028 has 29 days (write YYYY-MM-DD)'),
        ("tomorrow", '"tomorrow" is not a date (write YYYY-MM-DD, e.g. 2026-12-24)'),
        ("2026-12-24T10:00", '"2026-12-24T10:00" is not a date (write YYYY-MM-DD, e.g. 2026-12-24)'),
    ],
)
def test_bad_dates_in_plain_words_at_their_place(value: str, why: str) -> None:
    text = HEAD.format(tz="America/Toronto") + BLOCK.format(extra=f", since: {value}") + f"skip:\n  - {{date: {value}}}\n"
    got = problems(text)
    col = text.splitlines()[4].index(value) + 1
    assert got == (f"rules.yaml:5:{col}: blocks.0.since: {why}", f"rules.yaml:7:12: skip.0.date: {why}")
    assert not any("Input should" in p or "valid date or datetime" in p for p in got)


def test_good_dates_still_read_as_dates() -> None:
    r = load_rules_text(HEAD.format(tz="UTC") + BLOCK.format(extra=", since: 2026-12-01") + "skip:\n  - {date: 2026-12-24}\n", "r.yaml")
    assert str(r.blocks[0].since) == "2026-12-01" and r.skipped_dates("a") == [r.skip[0].date]


def test_ics_path_in_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "calendar.ics"
    with pytest.raises(BadInput, match="does not exist"):
        CalendarURI.parse(f"ics:{missing}")
    # a new file in an existing folder starts a calendar; the embedded default is created with its folder
    assert CalendarURI.parse(f"ics:{tmp_path / 'new.ics'}").location == str(tmp_path / "new.ics")
    assert CalendarURI.of_section(None, tmp_path / "state" / "deep").location == str(tmp_path / "state" / "deep" / "calendar.ics")


@pytest.mark.parametrize("command", ["plan", "sync"])
def test_cli_missing_calendar_folder_exits_2_and_creates_nothing(tmp_path: Path, command: str) -> None:
    env = make_env(tmp_path)
    missing = tmp_path / "typo" / "calendar.ics"
    env.write_rules(text=env.rules.read_text().replace(f"path: {env.calendar}", f"path: {missing}"))
    p = env.run(command, "--now", NOW, check=2)
    (line,) = p.stderr.strip().splitlines()
    assert line == f"boundaryd: error: {missing}: the folder {missing.parent} does not exist (fix calendar: ics: path, or create the folder)"
    assert not missing.parent.exists()


def test_rules_alert_subject_says_boundaryd_once() -> None:
    from boundaryd.delivery.notice import build_owner_alert
    from boundaryd.service.jobs import rules_notice
    from mail_fixtures import load_rules

    notice = rules_notice(Path("/x/rules.yaml"), ["/x/rules.yaml:2:11: timezone: ..."])
    msg = build_owner_alert(rules=load_rules(), subject=notice.subject, text=notice.text,
                            now=datetime(2026, 11, 23, 12, tzinfo=timezone.utc), key=notice.key)
    assert msg["Subject"] == "boundaryd: your rules file has errors"
