"""The titles of the events boundaryd writes on the owner's calendar are words, in owner.locale."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from boundaryd.core.holds import hold_events
from boundaryd.core.model import Hold
from boundaryd.presentation import owned_words
from boundaryd.presentation.owned_words import _WORDS


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_language_has_every_phrase_with_the_same_placeholders() -> None:
    for language, table in _WORDS.items():
        assert table.keys() == _WORDS["en"].keys(), language
        for key, text in table.items():
            assert _fields(text) == _fields(_WORDS["en"][key]), (language, key)


@pytest.mark.parametrize(
    ("locale", "hold", "makeup", "mirror"),
    [
        ("en_US", "Held for Bob Client: Listing review", "Prospecting (make-up)", "Busy"),
        ("en_GB", "Held for Bob Client: Listing review", "Prospecting (make-up)", "Busy"),
        ("de_DE", "Reserviert für Bob Client: Listing review", "Prospecting (Ausgleich)", "Belegt"),
        ("fr-FR", "Réservé pour Bob Client : Listing review", "Prospecting (rattrapage)", "Occupé"),
        ("ja_JP", "Held for Bob Client: Listing review", "Prospecting (make-up)", "Busy"),
        (None, "Held for Bob Client: Listing review", "Prospecting (make-up)", "Busy"),
    ],
)
def test_titles_by_locale(locale: str | None, hold: str, makeup: str, mirror: str) -> None:
    assert owned_words.hold_title(locale, "Bob Client", "Listing review") == hold
    assert owned_words.makeup_title(locale, "Prospecting") == makeup
    assert owned_words.mirror_title(locale) == mirror


def test_a_hold_event_is_titled_in_the_owners_language() -> None:
    zone = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 12, 1, 10, tzinfo=UTC)
    hold = Hold(
        key="ABC123-1", occurrence=("uid-1", ""), organizer="Bob Client", summary="Listing review",
        start=start, end=start + timedelta(hours=1), expires=start - timedelta(hours=2), all_day=False,
    )
    (en,) = hold_events([hold], zone).values()
    (de,) = hold_events([hold], zone, "de_DE").values()
    assert en.title == "Held for Bob Client: Listing review"
    unfolded = en.ical.replace("\r\n ", "")
    assert "Offered to Bob Client instead of Listing review\\; held until 2026-12-01T09:00+01:00" in unfolded
    assert de.title == "Reserviert für Bob Client: Listing review"
    assert de.uid == en.uid and de.fingerprint != en.fingerprint  # the same event, rewritten once in the new words
