"""The one placeholder language of messages: ``{alternatives}``, ``{block}``, ``{next_call_return}``,
``{organizer}``, ``{title}``; ``{{`` and ``}}`` write a brace. Anything else in braces is a problem
that ``check`` reports at its own line and column.

Pure: the rules model validates with :func:`problems`, the presentation layer renders :func:`parse`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

PLACEHOLDERS: tuple[str, ...] = ("alternatives", "block", "next_call_return", "organizer", "title")

_TOKEN = re.compile(r"\{\{|\}\}|\{[^{}\n]*\}|[{}]")


@dataclass(frozen=True)
class Field:
    """A placeholder in a template."""

    name: str


@dataclass(frozen=True)
class Problem:
    """Something in braces that is not a placeholder: where it starts in the text, what it is, why."""

    offset: int
    token: str
    text: str


def parse(template: str) -> tuple[list[str | Field], list[Problem]]:
    """The template as literal text and fields; what is not a placeholder stays as written."""
    parts: list[str | Field] = []
    problems: list[Problem] = []
    pos = 0
    for m in _TOKEN.finditer(template):
        parts.append(template[pos : m.start()])
        tok = m.group()
        pos = m.end()
        if tok in ("{{", "}}"):
            parts.append(tok[0])
            continue
        name = tok[1:-1].strip() if len(tok) > 1 else ""
        if name in PLACEHOLDERS:
            parts.append(Field(name))
            continue
        parts.append(tok)
        problems.append(Problem(m.start(), tok, _why(tok, name)))
    parts.append(template[pos:])
    return [p for p in parts if p != ""], problems


def problems(template: str) -> list[Problem]:
    return parse(template)[1]


def _why(token: str, name: str) -> str:
    known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    if len(token) == 1:
        return f"a lone {token!r} in the message (write {token * 2} for a brace; placeholders are {known})"
    hint = difflib.get_close_matches(name.lower(), PLACEHOLDERS, n=1, cutoff=0.6)
    if hint:
        return f"unknown placeholder {token} in the message (did you mean {{{hint[0]}}}?)"
    return f"unknown placeholder {token} in the message (placeholders are {known})"
