"""What was already there, and what stands: decisions 6 and 7 of SPEC, and ``boundaryd decline``.

Pure, part of the planner.
- A block applies for the first time (first run, a new block, a changed block): the meetings on
  the calendar then are remembered (the executor journals them), and a decline of one of them
  becomes a flag unless ``defaults.decline_existing`` is true. Only invitations that arrive later
  are declined by themselves.
- A recurring event with two or more occurrences in the window, every one on a block, is a
  standing conflict: flagged once for the series, never declined occurrence by occurrence.
- ``boundaryd decline REF [--series]`` declines what was only flagged.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from boundaryd.core.carry import Carried
from boundaryd.core.model import BlockEvent, Conflict, Decision, Memory, Occurrence
from boundaryd.core.rules import Rules

EXISTING_REASON = "was on your calendar before {block} applied (existing meetings are flagged, not declined)"
STANDING_REASON = "a standing conflict: every occurrence in the window lands on a block"
DECLINE_NOW_REASON = "declined by 'boundaryd decline'"


@dataclass(frozen=True)
class Baseline:
    """One block as first applied: its key (``block:fingerprint``) and the meetings there then."""

    key: str
    first: bool  # the block applies for the first time in this plan
    keys: frozenset[tuple[str, str]] = frozenset()
    #: the UIDs of the series among ``keys`` (made from them)
    series: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "series", frozenset(uid for uid, rid in self.keys if rid))

    def was_there(self, occ: Occurrence) -> bool:
        if self.first or occ.key in self.keys:
            return True
        # a series that was there was there for every one of its occurrences
        return occ.recurrence_id is not None and occ.uid in self.series


def block_keys(rules: Rules, desired: Mapping[str, BlockEvent]) -> dict[str, str]:
    """``block:fingerprint`` for each block: changes when the block's times, skips or policy change."""
    fps: dict[str, list[str]] = defaultdict(list)
    for ev in desired.values():
        fps[ev.block].append(ev.fingerprint)
    out = {}
    for block in rules.blocks:
        raw = "|".join([*sorted(fps.get(block.id, [])), rules.policy_of(block)])
        out[block.id] = f"{block.id}:{hashlib.sha256(raw.encode()).hexdigest()[:16]}"
    return out


def baselines(rules: Rules, desired: Mapping[str, BlockEvent], memory: Memory) -> dict[str, Baseline]:
    """Each block's baseline; none without a journal (``memory.applied`` None)."""
    if memory.applied is None:
        return {}
    out = {}
    for block, key in block_keys(rules, desired).items():
        known = memory.applied.get(key)
        out[block] = Baseline(key, known is None, frozenset(known or ()))
    return out


def to_remember(
    bases: Mapping[str, Baseline], hits: Mapping[tuple[str, str], Sequence[str]]
) -> dict[str, tuple[tuple[str, str], ...]]:
    """For each block applying for the first time: the keys of the meetings on it now (to journal)."""
    out: dict[str, list[tuple[str, str]]] = {b.key: [] for b in bases.values() if b.first}
    for occ_key, blocks in hits.items():
        for block in blocks:
            base = bases.get(block)
            if base is not None and base.first:
                out[base.key].append(occ_key)
    return {k: tuple(sorted(set(v))) for k, v in out.items()}


def invited(occ: Occurrence, rules: Rules) -> bool:
    """The owner is on the invitation and did not organize it: a decline has someone to reach."""
    owners = rules.owner.emails
    return occ.organizer not in owners and any(a.email in owners for a in occ.attendees)


_STANDING: Carried[Conflict] = Carried()  # the series flag made of the same conflict as before


def standing(conflicts: Sequence[Conflict], considered: Sequence[Occurrence]) -> list[Conflict]:
    """Standing conflicts become one flag for the series (``series=True``)."""
    count: dict[str, int] = defaultdict(int)
    for o in considered:
        if o.recurrence_id is not None:
            count[o.uid] += 1
    hit: dict[str, list[Conflict]] = defaultdict(list)
    for c in conflicts:
        if c.occurrence.recurrence_id is not None:
            hit[c.occurrence.uid].append(c)
    stands = {
        uid
        for uid, cs in hit.items()
        if len(cs) >= 2 and len(cs) == count[uid] and all(c.decision in (Decision.DECLINE, Decision.FLAG) for c in cs)
    }
    out = []
    for c in conflicts:
        if c.occurrence.uid in stands:
            reason = c.reason if c.decision is Decision.FLAG else STANDING_REASON
            c = _STANDING.get(c, reason, _series_flag, c, reason)
        out.append(c)
    return out


def _series_flag(c: Conflict, reason: str) -> Conflict:
    return replace(c, decision=Decision.FLAG, reason=reason, series=True, trace=c.trace.plus(STANDING_REASON))


def decline_now(rules: Rules, conflicts: Sequence[Conflict], asked: Collection[tuple[str, str]]) -> list[Conflict]:
    """Flags the owner asked to decline (one occurrence, or a whole series: recurrence id "")."""
    wanted = set(asked)
    if not wanted:
        return list(conflicts)
    out = []
    for c in conflicts:
        o = c.occurrence
        whole = (o.uid, "") in wanted and o.recurrence_id is not None
        if c.decision is Decision.FLAG and (o.key in wanted or whole) and invited(o, rules):
            c = replace(c, decision=Decision.DECLINE, reason=DECLINE_NOW_REASON, series=whole,
                        trace=c.trace.plus(DECLINE_NOW_REASON))
        out.append(c)
    return out
