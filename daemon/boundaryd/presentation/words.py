"""The decline message an organizer reads, from the block's message template.

A block's ``message`` (or the rules' default) is the template; it names ``{block}``,
``{alternatives}`` and ``{next_call_return}``, which are filled in here. Unknown placeholders
stay as written. The planner calls :func:`render_message` for every decline; the Google
backend's focus time, which declines by itself with one fixed text, uses
:func:`render_static_message`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from boundaryd.core.model import BlockInstance

__all__ = [
    "PRIVATE_TITLE",
    "STATIC_MESSAGE_LIMIT",
    "alternatives_words",
    "render_message",
    "render_static_message",
    "when_words",
]

#: what a private block is called in a message to someone else
PRIVATE_TITLE = "a prior commitment"
#: a focus-time decline message is cut to this many characters
STATIC_MESSAGE_LIMIT = 1000

_ANOTHER_TIME = "at another time that suits you"
_NEXT_CALL_BACK = "my next call-back time"
_STATIC_ALTERNATIVES = "at another time"
_STATIC_NEXT_CALL = "during my call-return time"


class NamedBlock(Protocol):
    """What the words need of a block (``rules.Block``)."""

    @property
    def private(self) -> bool: ...

    @property
    def label(self) -> str: ...


def when_words(t: datetime, all_day: bool = False) -> str:
    """"Wednesday, November 25 at 11:00" (or without the time for an all-day occurrence)."""
    day = f"{t:%A}, {t:%B} {t.day}"
    return day if all_day else f"{day} at {t:%H:%M}"


def alternatives_words(alts: Sequence[datetime], all_day: bool = False) -> str:
    """"on Wednesday, November 25 at 11:00 or on ... (EST)"; a fallback when none was found."""
    if not alts:
        return _ANOTHER_TIME
    parts = [f"on {when_words(a, all_day)}" for a in alts]
    zone = "" if all_day else f" ({alts[0].tzname()})"
    return " or ".join(parts) + zone


def block_words(block: NamedBlock) -> str:
    """How a block is named to an organizer: its label, or :data:`PRIVATE_TITLE` when private."""
    return PRIVATE_TITLE if block.private else block.label


def render_message(
    template: str,
    rules: object,
    block: NamedBlock,
    alts: Sequence[datetime],
    all_day: bool,
    next_call: BlockInstance | None,
) -> str:
    """The decline message for one occurrence. ``rules`` is unused (kept for the planner's call)."""
    del rules
    values = {
        "alternatives": alternatives_words(alts, all_day),
        "block": block_words(block),
        "next_call_return": (
            f"{when_words(next_call.start)} ({next_call.start.tzname()})" if next_call else _NEXT_CALL_BACK
        ),
    }
    out = template
    for k, v in values.items():
        out = out.replace("{" + k + "}", v)
    return out


class _KeepUnknown(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_static_message(template: str, block: NamedBlock) -> str:
    """The decline message Google sends by itself for focus time (no per-meeting alternatives).

    ``str.format`` placeholders; unknown ones stay as written, and a template ``format`` cannot
    read is used as it is. At most :data:`STATIC_MESSAGE_LIMIT` characters.
    """
    words = _KeepUnknown(
        alternatives=_STATIC_ALTERNATIVES,
        block=block_words(block),
        next_call_return=_STATIC_NEXT_CALL,
    )
    try:
        return template.format_map(words)[:STATIC_MESSAGE_LIMIT]
    except (ValueError, IndexError, AttributeError, KeyError, TypeError):
        return template[:STATIC_MESSAGE_LIMIT]
