"""The decline message an organizer reads, from the block's message template.

A block's ``message`` (or the rules' default) is a template in the one placeholder language of
:mod:`boundaryd.core.rules_template`: ``{alternatives}``, ``{block}``, ``{next_call_return}``,
``{organizer}``, ``{title}``. ``{alternatives}`` and ``{next_call_return}`` become whole phrases
of time that carry their own preposition ("on Tue, Dec 1, 2:30 PM", "at another time that suits
you"), so a preposition the template writes just before them ("meet at {alternatives}", "I return
calls at {next_call_return}") is left out instead of doubled. Dates and times are Babel's, in the
owner's locale (``owner.locale``), in the organizer's zone when the invitation names one; the
zone is named unless the invitation is known to be in the owner's own zone.

The planner calls :func:`render_message` for every decline; the Google backend's focus time,
which declines by itself with one fixed text, uses :func:`render_static_message`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from boundaryd.core.rules_template import Field, parse

if TYPE_CHECKING:
    from babel import Locale

    from boundaryd.core.model import BlockInstance, Occurrence

__all__ = [
    "DEFAULT_LOCALE",
    "PRIVATE_TITLE",
    "STATIC_MESSAGE_LIMIT",
    "alternatives_words",
    "render_message",
    "render_static_message",
    "when_words",
]

DEFAULT_LOCALE = "en_US"
#: what a private block is called in a message to someone else
PRIVATE_TITLE = "a prior commitment"
#: a focus-time decline message is cut to this many characters
STATIC_MESSAGE_LIMIT = 1000

#: the words around dates, by language: the preposition a date takes, the prepositions a template
#: may write before a time phrase (left out, the phrase brings its own), and the fallbacks
_PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "on": "on",
        "absorb": "at|on|during|in",
        "another_time": "at another time that suits you",
        "next_call": "at my next call-back time",
        "static_alternatives": "at another time",
        "static_next_call": "during my call-return time",
        "organizer": "there",
        "title": "your meeting",
        "private": "a prior commitment",
    },
    "de": {
        "on": "am",
        "absorb": "am|um|an|zu|während",
        "another_time": "zu einer anderen Zeit, die Ihnen passt",
        "next_call": "zu meiner nächsten Rückrufzeit",
        "static_alternatives": "zu einer anderen Zeit",
        "static_next_call": "während meiner Rückrufzeit",
        "organizer": "",
        "title": "Ihr Termin",
        "private": "eine andere Verpflichtung",
    },
    "fr": {
        "on": "le",
        "absorb": "à|le|au|pendant",
        "another_time": "à un autre moment qui vous convient",
        "next_call": "à mon prochain créneau de rappel",
        "static_alternatives": "à un autre moment",
        "static_next_call": "pendant mon créneau de rappel",
        "organizer": "",
        "title": "votre réunion",
        "private": "un engagement antérieur",
    },
}
#: CLDR's narrow and no-break spaces ("2:30\u202fPM") as plain ones: every mail client shows those
_PLAIN_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})
#: placeholders that become phrases of time carrying their own preposition
_TIME_PHRASES = ("alternatives", "next_call_return")


class NamedBlock(Protocol):
    """What the words need of a block (``rules.Block``)."""

    @property
    def private(self) -> bool: ...

    @property
    def label(self) -> str: ...


def _locale(name: str | None) -> Locale:
    # Babel (its locale data) loads with the first sentence, not with the planner: `check` needs none of it
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(name or DEFAULT_LOCALE)
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(DEFAULT_LOCALE)


#: a preposition of any language above, written before a time phrase, is left out (the phrase
#: brings its own): the template is in whatever language the owner writes
_ABSORB = "|".join(sorted({w for p in _PHRASES.values() for w in p["absorb"].split("|")}, key=len, reverse=True))


def _phrases(loc: Locale) -> dict[str, str]:
    """The words around dates; a language without its own table gets the English fallbacks and
    no preposition before a date (Babel's date reads alone)."""
    if loc.language in _PHRASES:
        return _PHRASES[loc.language]
    return {**_PHRASES["en"], "on": ""}


def when_words(t: datetime, all_day: bool = False, locale: str | None = None) -> str:
    """"Tue, Dec 1, 2:30 PM" (en_US), "Tue 1 Dec, 14:30" (en_GB), "Di., 1. Dez., 14:30" (de_DE);
    the date alone for an all-day occurrence."""
    from babel.dates import format_skeleton, format_time

    loc = _locale(locale)
    day = format_skeleton("MMMEd", t, locale=loc)
    if not all_day:
        pattern = str(loc.datetime_formats["medium"]).replace("'", "")
        day = pattern.replace("{0}", format_time(t, "short", locale=loc)).replace("{1}", day)
    return day.translate(_PLAIN_SPACES)


def zone_words(zone: tzinfo, locale: str | None = None) -> str:
    """A zone as a person names it: "Eastern Time", "Central European Time"."""
    from babel.dates import get_timezone_name

    try:
        return str(get_timezone_name(zone, "long", locale=_locale(locale)))
    except (LookupError, ValueError, AttributeError):
        return str(getattr(zone, "key", zone))


def organizer_zone(occ: Occurrence | None) -> ZoneInfo | None:
    """The zone the invitation names (its DTSTART's TZID), when it is one zoneinfo knows."""
    name = getattr(occ, "zone", "") if occ is not None else ""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _zone_for(times: Sequence[datetime], occ: Occurrence | None, owner: tzinfo | None) -> tuple[tzinfo | None, bool]:
    """(zone the times are written in, whether to name it)."""
    theirs = organizer_zone(occ)
    if theirs is None:
        return owner, True
    same = owner is not None and all(t.astimezone(theirs).utcoffset() == t.astimezone(owner).utcoffset() for t in times)
    return (owner, False) if same else (theirs, True)


def alternatives_words(
    alts: Sequence[datetime],
    all_day: bool = False,
    locale: str | None = None,
    occ: Occurrence | None = None,
    owner_zone: tzinfo | None = None,
) -> str:
    """"on Tue, Dec 1, 2:30 PM or on Wed, Dec 2, 10:00 AM (Eastern Time)"; a fallback when none."""
    loc = _locale(locale)
    words = _phrases(loc)
    if not alts:
        return words["another_time"]
    owner = owner_zone if owner_zone is not None else alts[0].tzinfo
    zone, named = (None, False) if all_day else _zone_for(alts, occ, owner)
    shown = [a.astimezone(zone) if zone is not None else a for a in alts]
    parts = [f"{words['on']} {when_words(a, all_day, str(loc))}".strip() for a in shown]
    from babel.lists import format_list

    text = str(format_list(parts, style="or", locale=loc))
    if named and zone is not None:
        text += f" ({zone_words(zone, str(loc))})"
    return text


def block_words(block: NamedBlock, locale: str | None = None) -> str:
    """How a block is named to an organizer: its label, or "a prior commitment" (in the owner's
    language; :data:`PRIVATE_TITLE` in English) when private."""
    if not block.private:
        return block.label
    return _phrases(_locale(locale)).get("private", PRIVATE_TITLE)


def fill(template: str, values: dict[str, str], locale: str | None = None) -> str:
    """The template with its placeholders filled; a preposition written just before a time phrase
    is left out (the phrase brings its own). What is not a placeholder stays as written."""
    del locale  # prepositions of every language are known
    absorb = re.compile(rf"(?:^|(?<=\s))(?:{_ABSORB})\s+$", re.IGNORECASE)
    out: list[str] = []
    for part in parse(template)[0]:
        if isinstance(part, Field):
            if part.name in _TIME_PHRASES and out:
                out[-1] = absorb.sub("", out[-1])
            out.append(values.get(part.name, ""))
        else:
            out.append(part)
    return "".join(out)


def render_message(
    template: str,
    rules: Any,
    block: NamedBlock,
    alts: Sequence[datetime],
    occ: Occurrence,
    next_call: BlockInstance | None,
) -> str:
    """The decline message for one occurrence, in the owner's locale (``rules.owner.locale``)."""
    locale = getattr(getattr(rules, "owner", None), "locale", None) or DEFAULT_LOCALE
    words = _phrases(_locale(locale))
    owner = getattr(rules, "tz", None)
    if next_call is not None:
        call = alternatives_words([next_call.start], False, locale, occ, owner)
    else:
        call = words["next_call"]
    values = {
        "alternatives": alternatives_words(alts, occ.all_day, locale, occ, owner),
        "block": block_words(block, locale),
        "next_call_return": call,
        "organizer": occ.organizer_name or occ.organizer or words["organizer"],
        "title": occ.summary or words["title"],
    }
    return fill(template, values, locale).strip()


def render_static_message(template: str, block: NamedBlock, locale: str | None = None) -> str:
    """The decline message Google sends by itself for focus time (no per-meeting alternatives):
    the same placeholder language, grammar and locale (``owner.locale``, which the planner passes)
    as every other message, at most :data:`STATIC_MESSAGE_LIMIT` characters."""
    words = _phrases(_locale(locale))
    values = {
        "alternatives": words["static_alternatives"],
        "block": block_words(block, locale),
        "next_call_return": words["static_next_call"],
        "organizer": words["organizer"],
        "title": words["title"],
    }
    return fill(template, values, locale).strip()[:STATIC_MESSAGE_LIMIT]
