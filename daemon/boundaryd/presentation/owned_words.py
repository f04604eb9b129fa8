"""The titles and notes of the events boundaryd writes on the owner's own calendar: held offers
("Held for Bob Client: Listing review"), make-up time ("Prospecting (make-up)") and mirrors
("Busy"). Only the owner reads them (they are private), in ``owner.locale``'s language.

Changing the locale changes these words, so each such event is rewritten once (its fingerprint
includes the title) and then stays as it is.
"""

from __future__ import annotations

__all__ = ["hold_note", "hold_title", "makeup_title", "mirror_description", "mirror_title", "no_title", "the_organizer"]

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "hold": "Held for {who}: {title}",
        "hold_note": "Offered to {who} instead of {title}; held until {until} or until they take it.",
        "makeup": "{title} (make-up)",
        "mirror": "Busy",
        "mirror_note": "Busy on your {source} calendar (copied by boundaryd; it follows the original)",
        "no_title": "(no title)",
        "organizer": "the organizer",
    },
    "de": {
        "hold": "Reserviert für {who}: {title}",
        "hold_note": "{who} angeboten statt {title}; reserviert bis {until} oder bis der Termin dorthin verschoben wird.",
        "makeup": "{title} (Ausgleich)",
        "mirror": "Belegt",
        "mirror_note": "Belegt in Ihrem Kalender {source} (von boundaryd kopiert; folgt dem Original)",
        "no_title": "(ohne Titel)",
        "organizer": "den Organisator",
    },
    "fr": {
        "hold": "Réservé pour {who} : {title}",
        "hold_note": "Proposé à {who} à la place de {title} ; réservé jusqu'au {until} ou jusqu'à ce que la réunion y soit déplacée.",
        "makeup": "{title} (rattrapage)",
        "mirror": "Occupé",
        "mirror_note": "Occupé dans votre agenda {source} (copié par boundaryd ; suit l'original)",
        "no_title": "(sans titre)",
        "organizer": "l'organisateur",
    },
}


def _words(locale: str | None) -> dict[str, str]:
    """The table of ``locale``'s language ("de_DE", "de-AT", "de" → German); English otherwise.
    (No Babel here: these words are built every cycle and need no locale data.)"""
    language = (locale or "en").replace("-", "_").split("_")[0].lower()
    return _WORDS.get(language, _WORDS["en"])


def hold_title(locale: str | None, who: str, title: str) -> str:
    return _words(locale)["hold"].format(who=who, title=title)


def hold_note(locale: str | None, who: str, title: str, until: str) -> str:
    return _words(locale)["hold_note"].format(who=who, title=title, until=until)


def makeup_title(locale: str | None, title: str) -> str:
    return _words(locale)["makeup"].format(title=title)


def mirror_title(locale: str | None) -> str:
    """A mirror's title unless its source has ``mirror_titles: true``."""
    return _words(locale)["mirror"]


def mirror_description(locale: str | None, source: str) -> str:
    return _words(locale)["mirror_note"].format(source=source)


def no_title(locale: str | None) -> str:
    """What a meeting without a summary is called in a hold's title."""
    return _words(locale)["no_title"]


def the_organizer(locale: str | None) -> str:
    """Who a hold is for when the invitation names nobody."""
    return _words(locale)["organizer"]
