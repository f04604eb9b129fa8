"""Refs: six lowercase letters and digits, stable for a key, never the same for two keys."""

from __future__ import annotations

import re

from boundaryd.core import refs


def test_a_ref_is_six_letters_and_digits_and_stable() -> None:
    key = ("uid@t", "2026-11-25T10:00:00-05:00")
    (ref,) = refs.assign([key], {}).values()
    assert re.fullmatch(r"[a-z0-9]{6}", ref) and refs.looks_like_ref(ref)
    assert refs.assign([key], {}) == {key: ref}
    assert refs.assign([key], {key: "abc123"}) == {key: "abc123"}  # the journal's ref wins


def test_a_ref_taken_by_another_key_is_never_given_again() -> None:
    a, b = ("a@t", ""), ("b@t", "")
    first = refs.assign([a], {})[a]
    given = refs.assign([b], {a: first, ("c@t", ""): refs.assign([b], {})[b]})
    assert given[b] not in (first, refs.assign([b], {})[b])  # the next candidate, since both are taken
    many = refs.assign([(f"{i}@t", "") for i in range(2000)], {})
    assert len(set(many.values())) == 2000
