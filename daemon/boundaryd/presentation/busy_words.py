"""The words of ``busy_from``: how a source's collision reads to the owner and the owner's notice
when a source cannot be read (a mirror's words are in :mod:`boundaryd.presentation.owned_words`).
Organizers never read any of these (a decline names a source "a prior commitment",
:data:`boundaryd.presentation.words.PRIVATE_TITLE`)."""

from __future__ import annotations

from datetime import datetime


def collides(source: str, summary: str) -> str:
    """ "collides with Family: Recital" (the owner's reason; never in a decline message)."""
    title = " ".join(summary.split())[:120]
    return f"collides with {source}: {title}" if title else f"collides with an event on {source}"


def failing_subject(source: str) -> str:
    return f"boundaryd cannot read your {source} calendar"


def failing_text(source: str, where: str, problem: str, until: datetime | None) -> str:
    """The owner's one notice when a source first fails."""
    lines = [
        f"boundaryd could not read the calendar {source} ({where}): {problem}",
        "",
        "Your main calendar is still kept as usual.",
    ]
    if until is not None:
        lines.append(
            f"Until {until:%a %b} {until.day}, {until:%H:%M} the last copy boundaryd read stands (its events still count as busy "
            "and their mirrors stay); after that its events no longer count and their mirrors are removed."
        )
    else:
        lines.append("boundaryd has no earlier copy of it, so its events do not count until it can be read.")
    lines += ["", "Run `boundaryd doctor` to check every calendar; this notice is sent once."]
    return "\n".join(lines)
