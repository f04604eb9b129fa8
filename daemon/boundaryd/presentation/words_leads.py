"""The words of a lead notice (SPEC decision 5): "New lead Dana (dana@x.com) asked for Tue, Dec 1,
9:00 AM; your next call-return slot is 11:30 AM." Dates and times in the owner's locale.

The planner (core/leads.py) puts the sentence into a lead's conflict (``Conflict.lead``, and into
its trace as a step that starts with :data:`LEAD_STEP`, for ``why``); the notice shows those
sentences first (:func:`lead_lines`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from boundaryd.presentation.safe import clean_header
from boundaryd.presentation.words import DEFAULT_LOCALE, _locale, when_words

if TYPE_CHECKING:
    from boundaryd.core.model import BlockInstance, Conflict, Occurrence

__all__ = ["LEAD_STEP", "lead_lines", "lead_sentence"]

#: how ``why`` shows the sentence the owner is told at once (a trace step of a lead's conflict)
LEAD_STEP = "the owner is told at once: "

_WORDS: dict[str, tuple[str, str]] = {
    "en": ("New lead {who} asked for {when}", "; your next call-return slot is {slot}"),
    "de": ("Neuer Lead {who} hat {when} angefragt", "; Ihr nächstes Rückruffenster ist {slot}"),
    "fr": ("Nouveau prospect {who} a demandé {when}", "; votre prochain créneau de rappel est {slot}"),
}


def lead_sentence(rules: Any, occ: Occurrence, next_call: BlockInstance | None) -> str:
    """One sentence: who the new lead is, what they asked for, and the next call-return slot."""
    from babel.dates import format_time

    locale = getattr(getattr(rules, "owner", None), "locale", None) or DEFAULT_LOCALE
    loc = _locale(locale)
    asked, slot_words = _WORDS.get(loc.language, _WORDS["en"])
    tz = getattr(rules, "tz", None) or occ.start.tzinfo
    name = clean_header(occ.organizer_name, 80)
    addr = clean_header(occ.organizer, 120)
    who = f"{name} ({addr})" if name and addr else (name or addr)
    start = occ.start.astimezone(tz)
    text = asked.format(who=who, when=when_words(start, occ.all_day, str(loc)))
    if next_call is not None:
        call = next_call.start.astimezone(tz)
        if call.date() == start.date():
            slot = format_time(call, "short", locale=loc).replace("\u202f", " ").replace("\u00a0", " ")
        else:
            slot = when_words(call, False, str(loc))
        text += slot_words.format(slot=slot)
    return text + "."


def lead_lines(conflicts: Iterable[Conflict]) -> list[str]:
    """The lead sentences of these conflicts (``Conflict.lead``): the first of each lead, in order."""
    out: list[str] = []
    leads: set[str] = set()
    for c in conflicts:
        if c.lead and c.occurrence.organizer not in leads:
            leads.add(c.occurrence.organizer)
            out.append(clean_header(c.lead, 400))
    return out
