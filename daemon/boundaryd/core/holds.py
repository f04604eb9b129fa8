"""Held offers: each slot offered in a decline is held on the calendar for its organizer.

Pure, part of the planner. A hold is made in the plan that sends the decline (its key is the
conflict's ref and the slot's index), journaled, and from then on stays wanted from what the
journal remembers, never re-derived from alternatives that may have changed meanwhile, until
- the organizer moves the meeting into one of its held slots: all that meeting's holds go (the
  meeting itself now fills the slot it took), or
- it expires (``defaults.hold_offers`` after the decline) or its time has passed.
Until then a held slot is busy for everyone else: offered to no one else, never used for make-up
time or a moved flexible block.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from boundaryd.core.actions import Decline, Telling
from boundaryd.core.ical_owned import owned_event
from boundaryd.core.model import BlockEvent, Hold, Occurrence
from boundaryd.core.rules import Rules
from boundaryd.presentation.owned_words import hold_note, hold_title, no_title, the_organizer


def cached_event(
    role: str, key: str, title: str, start: datetime | date, end: datetime | date, description: str = ""
) -> BlockEvent:
    """:func:`owned_event`, built once per value (a daemon does not re-serialize it every cycle).
    The zone is part of the key: equal instants in two zones are written differently."""
    return _cached(role, key, title, start, end, str(getattr(start, "tzinfo", "")), description)


@functools.lru_cache(maxsize=4096)
def _cached(
    role: str, key: str, title: str, start: datetime | date, end: datetime | date, zone: str, description: str
) -> BlockEvent:
    return owned_event(role, key, title, start, end, description=description)


@dataclass(frozen=True)
class Standing:
    """The holds from the journal still standing this sync, and those let go (taken, expired, past)."""

    holds: tuple[Hold, ...]
    released: tuple[str, ...]
    taken: tuple[tuple[str, str], ...] = ()  # occurrences moved into one of their held slots

    def offered(self) -> dict[tuple[str, str], tuple[datetime, ...]]:
        """The slots already offered for each declined occurrence (a decline planned again offers them)."""
        out: dict[tuple[str, str], list[datetime]] = defaultdict(list)
        for h in self.holds:
            out[h.occurrence].append(h.start)
        return {k: tuple(sorted(v)) for k, v in out.items()}


def standing(remembered: Collection[Hold], occurrences: Sequence[Occurrence], now: datetime) -> Standing:
    """Which remembered holds still stand at ``now`` given what the calendar holds."""
    by_occ: dict[tuple[str, str], list[Hold]] = defaultdict(list)
    for h in remembered:
        by_occ[h.occurrence].append(h)
    meetings: dict[tuple[str, str], list[Occurrence]] = defaultdict(list)
    for o in occurrences:
        if o.key in by_occ and o.owned_block is None and o.status != "CANCELLED":
            meetings[o.key].append(o)
    keep: list[Hold] = []
    released: list[str] = []
    taken: list[tuple[str, str]] = []
    for occ_key, group in sorted(by_occ.items()):
        # moved into a held slot: inside it (an offered slot may overlap the declined time itself,
        # which a meeting still at its old time must not count as taking it)
        moved_in = any(h.start <= o.start and o.end <= h.end for o in meetings.get(occ_key, ()) for h in group)
        if moved_in:
            taken.append(occ_key)
        for h in sorted(group, key=lambda h: h.key):
            if moved_in or now >= h.expires or h.end <= now:
                released.append(h.key)
            else:
                keep.append(h)
    return Standing(tuple(keep), tuple(released), tuple(taken))


def new_holds(rules: Rules, declines: Iterable[Decline], standing_: Standing, now: datetime) -> list[Hold]:
    """The holds this plan's declines make: one per slot offered, unless holds are off, the
    occurrence's slots are already held, or nobody tells its organizer (nothing was offered)."""
    length_of_hold = rules.defaults.hold_offers
    if length_of_hold <= timedelta(0):
        return []
    already = standing_.offered()
    out = []
    for d in declines:
        c = d.conflict
        o = c.occurrence
        if o.key in already or not c.alternatives or d.told is Telling.NOBODY:
            continue  # already held; nothing offered; nobody tells the organizer what was offered
        who = o.organizer_name or o.organizer or the_organizer(rules.owner.locale)
        for i, start in enumerate(c.alternatives, 1):
            end = _end(start, o)
            out.append(Hold(
                key=f"{c.ref}-{i}", occurrence=o.key, organizer=who, summary=o.summary or no_title(rules.owner.locale),
                start=start, end=end, expires=now + length_of_hold, all_day=o.all_day,
            ))
    return out


def _end(start: datetime, o: Occurrence) -> datetime:
    if o.all_day:  # as many local days as the event
        days = max(1, (o.end.date() - o.start.date()).days)
        return datetime.combine(start.date() + timedelta(days=days), start.timetz())
    return start + (o.end - o.start)


def hold_events(holds: Iterable[Hold], zone: object, locale: str | None = None) -> dict[str, BlockEvent]:
    """The owned events that carry ``holds``, by UID, titled in ``locale``'s language (private:
    only the owner sees them)."""
    out = {}
    for h in holds:
        title = hold_title(locale, h.organizer, h.summary)
        note = hold_note(locale, h.organizer, h.summary, h.expires.astimezone(zone).isoformat(timespec="minutes"))  # type: ignore[arg-type]
        if h.all_day:
            ev = cached_event("hold", h.key, title, h.start.date(), h.end.date(), description=note)
        else:
            ev = cached_event("hold", h.key, title, h.start.astimezone(zone), h.end.astimezone(zone), description=note)  # type: ignore[arg-type]
        out[ev.uid] = ev
    return out


def busy_for_others(holds: Iterable[Hold]) -> Mapping[tuple[str, str], list[tuple[datetime, datetime]]]:
    """Held slots by the occurrence they are held for (busy for every other occurrence)."""
    out: dict[tuple[str, str], list[tuple[datetime, datetime]]] = defaultdict(list)
    for h in holds:
        out[h.occurrence].append((h.start, h.end))
    return out
