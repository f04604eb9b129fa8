"""Text from strangers made safe to show: one line for headers and terminals, bounded body text.

Invitation text (titles, names, descriptions, reasons quoting them) comes from whoever sent the
invitation. Before a person reads it anywhere — an email header, a terminal line, a notice —
it passes through :func:`clean_header` (one line, no control characters, no bidi overrides,
bounded) or :func:`clean_text` (newlines kept, other control characters dropped, bounded).
HTML escaping is the templates' job (autoescape).
"""

from __future__ import annotations

import re

__all__ = ["clean_header", "clean_text", "cut"]

# the characters of Unicode categories Cc (C0, DEL, C1), Zl, Zp and Cs (surrogates)
_HEADER_BREAKERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# Cc and Cs without newline and tab
_BODY_DROPPED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"), None)


def as_str(value: object) -> str:
    """Any value as a str that encodes to UTF-8 (bytes decoded leniently, lone surrogates replaced)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = bytes(value).decode("utf-8", "replace")
    elif value is None:
        text = ""
    else:
        text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (e.g. from surrogateescape-decoded bytes)
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def cut(text: str, limit: int) -> str:
    """At most ``limit`` characters; a shortened text ends with an ellipsis, never half a character."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + "…"


def clean_header(value: object, limit: int = 200) -> str:
    """One line safe for an email header: no control characters (CR, LF, NUL, line/paragraph
    separators), no bidi overrides, whitespace collapsed, at most ``limit`` characters."""
    text = as_str(value).translate(_BIDI)
    text = _HEADER_BREAKERS.sub(" ", text)
    return cut(" ".join(text.split()), limit)


def clean_text(value: object, limit: int = 2000) -> str:
    """Body text: newlines kept (CR/LF normalized), other control characters dropped, bounded."""
    text = as_str(value).replace("\r\n", "\n").replace("\r", "\n").translate(_BIDI)
    text = _BODY_DROPPED.sub("", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return cut(text, limit)
