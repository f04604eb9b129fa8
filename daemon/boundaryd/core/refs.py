"""Refs: six lowercase letters and digits that name one occurrence (or one series) on the command line.

Pure. A ref is derived from the occurrence's key (UID and recurrence id, "" for a whole series), so
``plan`` and ``sync`` show the same ref for the same occurrence; the journal remembers every ref
given, and a ref already taken by another key is never given again (the next candidate is).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
LENGTH = 6


def _candidate(key: tuple[str, str], n: int) -> str:
    raw = f"{key[0]}|{key[1]}|{n}".encode("utf-8", "surrogatepass")
    value = int.from_bytes(hashlib.sha256(raw).digest()[:8], "big")
    out = []
    for _ in range(LENGTH):
        value, r = divmod(value, len(_ALPHABET))
        out.append(_ALPHABET[r])
    return "".join(out)


def looks_like_ref(text: str) -> bool:
    return len(text) == LENGTH and all(ch in _ALPHABET for ch in text)


def assign(keys: Iterable[tuple[str, str]], known: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    """A ref for each key: the one the journal remembers, else a new one no other key holds."""
    taken = {ref: key for key, ref in known.items()}
    out: dict[tuple[str, str], str] = {}
    for key in keys:
        if key in out:
            continue
        ref = known.get(key)
        n = 0
        while ref is None:
            candidate = _candidate(key, n)
            if taken.get(candidate, key) == key:
                ref = candidate
            n += 1
        taken[ref] = key
        out[key] = ref
    return out
