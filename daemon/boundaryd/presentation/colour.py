"""Colour in the terminal, where it helps: declines red, flags yellow, what is fine green.

Only when standard output is a terminal, never when ``NO_COLOR`` is set to anything but the empty
string (https://no-color.org), never for ``TERM=dumb``, never in JSON. The text is laid out by the
templates first; colour is added afterwards to lines of known shapes, so a piped or logged output
is byte for byte what the templates made. Invitation text is cleaned of control characters before
it reaches a line (``presentation.safe``), so no escape sequence from it survives to be painted.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from typing import TextIO

__all__ = ["enabled", "paint", "for_terminal"]

_CODES = {"red": "31", "yellow": "33", "green": "32", "bold": "1", "dim": "2"}
_RESET = "\x1b[0m"

#: (line pattern, the group to paint, style) — the shapes of plan.txt, week, notices and doctor lines
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(?P<x>(?:Declined|Would decline) \(\d+\):)$"), "red"),
    (re.compile(r"^(?P<x>(?:Flagged|Would flag) \(\d+\):)$"), "yellow"),
    (re.compile(r"^(?P<x>Allowed \(\d+\):)$"), "green"),
    (re.compile(r"^(?P<x>Known conflicts \(\d+\):)$"), "bold"),
    (re.compile(r"^ {6}(?P<x>offered:)"), "dim"),
    (re.compile(r"^  [a-z0-9-]{6}  \S+ \S+  (?P<x>declined, undone by 'allow')"), "green"),
    (re.compile(r"^  [a-z0-9-]{6}  \S+ \S+  (?P<x>declined)\b"), "red"),
    (re.compile(r"^  [a-z0-9-]{6}  \S+ \S+  (?P<x>flagged)\b"), "yellow"),
    (re.compile(r"^  (?P<x>waiting)\s"), "yellow"),
    (re.compile(r"^\S+\s+(?P<x>FIX|FAIL)\s"), "red"),
    (re.compile(r"^\S+\s+(?P<x>note)\s"), "yellow"),
    (re.compile(r"^\S+\s+(?P<x>ok)\s"), "green"),
    (re.compile(r"^(?P<x>(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \w{3} \d\d)\s"), "bold"),
)


def enabled(stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> bool:
    """Whether to colour what goes to ``stream`` (standard output by default)."""
    env = os.environ if env is None else env
    if env.get("NO_COLOR", "") != "" or env.get("TERM") == "dumb":
        return False
    stream = sys.stdout if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def paint(text: str, style: str) -> str:
    return f"\x1b[{_CODES[style]}m{text}{_RESET}"


def _line(line: str) -> str:
    for pattern, style in _RULES:
        m = pattern.search(line)
        if m:
            a, b = m.span("x")
            return line[:a] + paint(line[a:b], style) + line[b:]
    return line


def for_terminal(text: str, on: bool | None = None) -> str:
    """``text`` with its decisions coloured when ``on`` (default: :func:`enabled`), else unchanged."""
    if not (enabled() if on is None else on):
        return text
    return "\n".join(_line(ln) for ln in text.split("\n"))
