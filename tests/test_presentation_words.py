"""The decline message's words, and the rule that user-facing sentences live in presentation/."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import boundaryd
from boundaryd.core import model
from boundaryd.presentation import words
from mail_fixtures import load_rules

PACKAGE = Path(boundaryd.__file__).parent

#: sentences a person reads, each rendered only by the presentation layer (code or templates)
SENTENCES = [
    "at another time that suits you",  # decline message: no alternative found
    "my next call-back time",
    "I'm not available then.",  # iMIP reply without a message
    "boundaryd keeps your protected blocks on your calendar",  # notice footer
    "lists what it sent",
    "boundaryd checked your calendar on",
    "The picture shows the first",
    "to see them all",
    "(no organizer: your own event)",
    "Your week ahead",
    "no conflicts so far",
    "Times are in",
    "Protected this week",
    "No meeting lands on a protected block",
    "no free slot in working hours inside the horizon",
    "Would decline",
    "Skipped unreadable event",
    "no organizer to reply to",
    "is not usable",
    "during my call-return time",  # focus-time decline (Google)
    "check notify.email.from",  # mail errors
    "server not answering",
    "left in the outbox",
    "cannot create the outbox",
    "is set but no password",
]


def test_user_facing_sentences_live_only_in_presentation() -> None:
    found: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("presentation/"):
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{rel}: {s!r}" for s in SENTENCES if s in text]
    assert not found, "user-facing sentences outside presentation/:\n" + "\n".join(found)
    # and each one is really rendered there
    inside = "".join(p.read_text(encoding="utf-8") for p in (PACKAGE / "presentation").rglob("*") if p.is_file())
    assert [s for s in SENTENCES if s not in inside] == []


@pytest.fixture(scope="module")
def rules() -> Any:
    return load_rules()


def test_when_and_alternatives_words(rules: Any) -> None:
    t = datetime(2026, 11, 25, 11, 0, tzinfo=rules.tz)
    assert words.when_words(t) == "Wed, Nov 25, 11:00 AM"
    assert words.when_words(t, all_day=True) == "Wed, Nov 25"
    assert words.when_words(t, locale="en_GB") == "Wed 25 Nov, 11:00"
    assert words.alternatives_words([]) == "at another time that suits you"
    assert words.alternatives_words([t, t + timedelta(days=1, hours=4)]) == (
        "on Wed, Nov 25, 11:00 AM or on Thu, Nov 26, 3:00 PM (Eastern Time)"
    )
    assert words.alternatives_words([t], all_day=True) == "on Wed, Nov 25"


def _occ(rules: Any, zone: str = "", all_day: bool = False) -> model.Occurrence:
    t = datetime(2026, 11, 24, 9, 0, tzinfo=rules.tz)
    return model.Occurrence("u", None, "Pipeline review", t, t + timedelta(hours=1), all_day, organizer="bob@client.example", zone=zone)


def test_decline_message_fills_placeholders_and_keeps_the_rest(rules: Any) -> None:
    block = rules.block("prospecting")
    t = datetime(2026, 11, 25, 11, 0, tzinfo=rules.tz)
    call = model.BlockInstance("call-return", "Return calls", "call-return", t, t + timedelta(minutes=30))
    msg = words.render_message("{block}: {alternatives}; {next_call_return} {unknown} {", rules, block, [t], _occ(rules), call)
    assert msg == (
        "Prospecting calls: on Wed, Nov 25, 11:00 AM (Eastern Time); "
        "on Wed, Nov 25, 11:00 AM (Eastern Time) {unknown} {"
    )
    private = block.model_copy(update={"private": True})
    assert words.render_message("{block} / {next_call_return}", rules, private, [], _occ(rules, all_day=True), None) == (
        "a prior commitment / at my next call-back time"
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("", ""),
        ("Busy: {block}, {alternatives}, {next_call_return}.", "Busy: Prospecting calls, at another time, during my call-return time."),
        ("I return calls at {next_call_return}.", "I return calls during my call-return time."),
        ("Could we meet at {alternatives}?", "Could we meet at another time?"),
        ("{unknown} {block}", "{unknown} Prospecting calls"),  # check rejects it; rendered as written
        ("{{literal}} {block}", "{literal} Prospecting calls"),
        ("broken { {block}", "broken { Prospecting calls"),
        ("a" * 5000, "a" * 1000),
        ("{block}" * 400, ("Prospecting calls" * 59)[:1000]),
    ],
)
def test_static_message_for_focus_time(rules: Any, template: str, expected: str) -> None:
    assert words.render_static_message(template, rules.block("prospecting")) == expected


def test_static_message_names_a_private_block_vaguely(rules: Any) -> None:
    private = rules.block("family").model_copy(update={"private": True})
    assert words.render_static_message("{block}", private) == "a prior commitment"


def test_mail_errors_are_one_line_even_when_the_server_says_more() -> None:
    import smtplib

    from boundaryd.presentation import mail_errors

    hostile = b"550 no\r\nBcc: x@evil.example\r\n\xff" + b"z" * 5000
    line = mail_errors.message_refused(550, hostile)
    assert line.startswith("message refused (550 550 no Bcc: x@evil.example \ufffd") and "\n" not in line
    assert len(line) < 260
    refused = mail_errors.recipients_refused({"a@x": (550, hostile), "b@x": (451, "later")})
    assert "\r" not in refused and refused.endswith("; b@x: 451 later)")
    assert mail_errors.describe(TimeoutError()) == "timed out (server not answering; check host and port)"
    assert mail_errors.describe(smtplib.SMTPResponseException(421, hostile)).count("\n") == 0
    assert mail_errors.smtp_problem("h", 25, "a\n  b") == "smtp h:25: a b"
    assert mail_errors.delivery_error([], 3, "/o") is None
    assert mail_errors.delivery_error(["x", "y"], 2, "/o") == "x (and 1 more); 2 message(s) wait in /o"
