"""Email addresses as the planner judges them: can a reply go to this organizer at all?

Pure and small, so the planner decides who is told without importing the mail code; the mail
code uses the same test before it puts an address in a header.
"""

from __future__ import annotations

import re
from typing import Literal

from boundaryd.core.model import Occurrence

#: longest UID a reply carries (a longer one is someone's mistake or an attack, not a meeting)
UID_LIMIT = 2000

_ADDR_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def usable_address(addr: object) -> str | None:
    """``addr`` (lower-cased, without ``mailto:``) if it is a plain ASCII address safe to put in a
    header and hand to an SMTP server; else ``None``."""
    if isinstance(addr, (bytes, bytearray, memoryview)):
        text = bytes(addr).decode("utf-8", "replace")
    else:
        text = "" if addr is None else str(addr)
    text = text.strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if len(text) > 254 or not _ADDR_RE.match(text) or ".." in text:
        return None
    return text.lower()


#: why no reply can be sent (worded by ``presentation.reply.problem_words``)
Problem = Literal["no-organizer", "uid-too-long", "organizer-unusable", "owner-unusable"]


def reply_problem(occ: Occurrence) -> Problem | None:
    """Why no reply can go to the organizer of ``occ``, or None when one can."""
    if not occ.organizer:
        return "no-organizer"
    if len(occ.uid) > UID_LIMIT:
        return "uid-too-long"
    if usable_address(occ.organizer) is None:
        return "organizer-unusable"
    return None
