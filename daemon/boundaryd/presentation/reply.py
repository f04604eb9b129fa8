"""What an organizer reads in boundaryd's iMIP reply, and why a reply cannot be sent.

``delivery.imip`` builds the iTIP REPLY; its subject and ``text/plain`` part come from here
(template ``reply.txt``): the decline message, then a signature line naming who declined which
occurrence. All invitation text is cleaned to one bounded line.
"""

from __future__ import annotations

from boundaryd.core import model
from boundaryd.core.addresses import UID_LIMIT, Problem
from boundaryd.presentation.safe import clean_header
from boundaryd.presentation.templating import render

__all__ = ["Problem", "problem_words", "reply_subject", "reply_text"]

def problem_words(problem: Problem, occ: model.Occurrence, *, owner_email: str = "") -> str:
    """Why no reply can be sent for ``occ``, in one line."""
    if problem == "no-organizer":
        return f"event {clean_header(occ.uid, 120)}: no organizer to reply to"
    if problem == "uid-too-long":
        return f"event {clean_header(occ.uid, 60)}: UID longer than {UID_LIMIT} characters, not replying"
    if problem == "organizer-unusable":
        return f"event {clean_header(occ.uid, 120)}: organizer address {clean_header(occ.organizer, 120)!r} is not usable"
    return f"owner address {clean_header(owner_email, 120)!r} is not usable"


def _title(occ: model.Occurrence) -> str:
    return clean_header(occ.summary, 120) or "(no title)"


#: the subject's first word for each answer a reply carries (an undo restores one of the others)
_ANSWERED = {"DECLINED": "Declined", "ACCEPTED": "Accepted", "TENTATIVE": "Tentative", "NEEDS-ACTION": "Not declined"}
#: what the organizer reads after an undo: the answer the owner's calendar holds again
_RESTORED = {"ACCEPTED": "I will attend", "TENTATIVE": "I may attend", "NEEDS-ACTION": "I have not answered yet"}


def reply_subject(occ: model.Occurrence, partstat: str = "DECLINED") -> str:
    """"Declined: Quarterly sync (Tue 24 Nov 2026)": which instance was declined (or answered again)."""
    return f"{_ANSWERED.get(partstat, 'Not declined')}: {_title(occ)} ({occ.start:%a} {occ.start.day} {occ.start:%b %Y})"


def _when(occ: model.Occurrence) -> str:
    if occ.all_day:
        return f"{occ.start:%a %d %b %Y}, all day"
    return f"{occ.start:%a %d %b %Y %H:%M}–{occ.end:%H:%M} {occ.start:%Z}"


def reply_text(
    occ: model.Occurrence, *, comment: str, owner_name: str | None, owner: str, partstat: str = "DECLINED"
) -> str:
    """The text part: the (already cleaned) decline message and who declined what, when; or, for
    an undo, that the earlier decline no longer stands."""
    who = clean_header(owner_name, 100) or owner
    if partstat != "DECLINED":
        restored = _RESTORED.get(partstat, _RESTORED["NEEDS-ACTION"])
        comment = f"Please disregard my earlier decline of \"{_title(occ)}\" ({_when(occ)}): {restored}."
        return render("reply.txt", comment=comment, who=who, title=_title(occ), when=_when(occ), undo=True)
    return render("reply.txt", comment=comment, who=who, title=_title(occ), when=_when(occ), undo=False)
