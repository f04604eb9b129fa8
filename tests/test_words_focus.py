"""Google focus time declines by itself with one fixed text: that text follows ``owner.locale``
like every other message (the planner hands the locale to the words)."""

from __future__ import annotations

import textwrap
from datetime import date

import pytest

from boundaryd.core.model import Capabilities
from boundaryd.core.planner import block_definitions
from boundaryd.core.rules import load_rules_text

FOCUS = Capabilities(tells_organizer=True, focus_time=True, flag_mark="colour")


def focus_text(locale: str, message: str, private: bool = False) -> str:
    text = textwrap.dedent(f"""\
        version: 1
        timezone: Europe/Berlin
        owner: {{name: Alice, emails: [alice@example.com], locale: {locale}}}
        defaults: {{message: "{message}"}}
        blocks:
          - {{id: deep, title: Tiefenarbeit, days: weekdays, start: "08:30", end: "11:00", policy: decline, private: {str(private).lower()}}}
          - {{id: calls, title: Rückrufe, kind: call-return, days: weekdays, times: ["16:30"], duration: 30m, policy: flag}}
        """)
    rules = load_rules_text(text, "rules.yaml")
    events = [e for e in block_definitions(rules, date(2026, 11, 23), FOCUS).values() if e.block == "deep"]
    assert events and all(e.focus for e in events)
    return events[0].decline_message


@pytest.mark.parametrize(
    ("locale", "message", "expected"),
    [
        (
            "de_DE",
            "Danke! {block} ist belegt; können wir uns {alternatives} treffen? Ich rufe {next_call_return} zurück.",
            "Danke! Tiefenarbeit ist belegt; können wir uns zu einer anderen Zeit treffen? Ich rufe während meiner Rückrufzeit zurück.",
        ),
        (
            "fr_CA",
            "Merci! Ce créneau est pris ({block}); pourrions-nous nous voir à {alternatives}? Je rappelle {next_call_return}.",
            "Merci! Ce créneau est pris (Tiefenarbeit); pourrions-nous nous voir à un autre moment? Je rappelle pendant mon créneau de rappel.",
        ),
        (
            "en_US",
            "Thanks! That slot is taken; could we meet at {alternatives}? I return calls at {next_call_return}.",
            "Thanks! That slot is taken; could we meet at another time? I return calls during my call-return time.",
        ),
    ],
)
def test_focus_time_text_follows_the_owner_locale(locale: str, message: str, expected: str) -> None:
    assert focus_text(locale, message) == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("de_DE", "Leider habe ich eine andere Verpflichtung."), ("fr_CA", "Leider habe ich un engagement antérieur."),
     ("en_GB", "Leider habe ich a prior commitment.")],
)
def test_a_private_block_is_named_in_the_owner_language(locale: str, expected: str) -> None:
    assert focus_text(locale, "Leider habe ich {block}.", private=True) == expected
