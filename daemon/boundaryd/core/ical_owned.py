"""Owned events that are not blocks: held offers, make-up time, moved flexible instances, mirrors.

Every event boundaryd owns carries ``X-BOUNDARYD-BLOCK`` (Google: ``boundarydBlock``): a block's id
for a block, ``ROLE:KEY`` for the others (block ids are slugs, so they never hold a colon). That
one tag is what every backend already reads as "ours" (the only events it may edit or delete), so
a new kind of owned event needs no backend change. The role's own property (``X-BOUNDARYD-HOLD:<ref>``,
``X-BOUNDARYD-MAKEUP:<block>``, ``X-BOUNDARYD-MIRROR:<source>``, ``X-BOUNDARYD-FLEX:<block>``)
is written too, for people and other tools reading the calendar.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timedelta, timezone

import icalendar

from boundaryd.core.ical_blocks import BLOCK_PROP, HASH_PROP, UID_DOMAIN
from boundaryd.core.model import BlockEvent

#: the owned-event roles besides blocks, and the property each is tagged with
ROLE_PROPS = {
    "hold": "X-BOUNDARYD-HOLD",
    "makeup": "X-BOUNDARYD-MAKEUP",
    "flex": "X-BOUNDARYD-FLEX",
    "mirror": "X-BOUNDARYD-MIRROR",
}


def owner_key(role: str, key: str) -> str:
    """The ``X-BOUNDARYD-BLOCK`` value of an owned event: ``key`` for a block, else ``role:key``."""
    if role == "block":
        return key
    if role not in ROLE_PROPS:
        raise ValueError(f"unknown owned-event role {role!r}")
    return f"{role}:{key}"


def role_of(tag: str) -> tuple[str, str]:
    """``(role, key)`` of an ``X-BOUNDARYD-BLOCK`` value: ``("block", id)`` or e.g. ``("hold", ref)``."""
    role, sep, key = tag.partition(":")
    if sep and role in ROLE_PROPS:
        return role, key
    return "block", tag


def is_block(tag: str | None) -> bool:
    """Whether an owned event's tag names a block (not a hold, make-up, flexible move or mirror)."""
    return tag is not None and role_of(tag)[0] == "block"


def owned_uid(role: str, key: str) -> str:
    """A stable UID for the owned event ``role:key`` (the key made safe for a resource name)."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-")[:80]
    digest = hashlib.sha256(f"{role}:{key}".encode()).hexdigest()[:10]
    return f"{role}-{safe}-{digest}@{UID_DOMAIN}"


def owned_event(
    role: str,
    key: str,
    title: str,
    start: datetime | date,
    end: datetime | date,
    *,
    description: str = "",
    categories: tuple[str, ...] = ("boundaryd",),
) -> BlockEvent:
    """One single (non-recurring) owned event: busy, private, tagged ``role:key``.

    ``start``/``end``: aware datetimes (written with their zone) or dates (an all-day event).
    The fingerprint covers everything written, so a moved or retitled event is rewritten.
    """
    tag = owner_key(role, key)
    uid = owned_uid(role, key)
    definition = {
        "v": 1, "uid": uid, "tag": tag, "title": title, "description": description,
        "start": start.isoformat(), "end": end.isoformat(), "categories": list(categories),
        "zone": str(getattr(start, "tzinfo", None) or ""),
    }
    fingerprint = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:16]
    ev = icalendar.Event()
    ev.add("UID", uid)
    ev.add("SUMMARY", title)
    ev.add("DTSTART", start)
    if isinstance(start, datetime):
        ev.add("DURATION", _length(start, end))
    else:
        ev.add("DTEND", end)
    ev.add("TRANSP", "OPAQUE")
    ev.add("CLASS", "PRIVATE")
    ev.add("STATUS", "CONFIRMED")
    ev.add("CATEGORIES", list(categories))
    if description:
        ev.add("DESCRIPTION", description)
    ev.add(BLOCK_PROP, tag)
    ev.add(ROLE_PROPS[role], key)
    ev.add(HASH_PROP, fingerprint)
    return BlockEvent(uid=uid, block=tag, title=title, fingerprint=fingerprint, ical=ev.to_ical().decode())


def _length(start: datetime, end: datetime | date) -> timedelta:
    if not isinstance(end, datetime):
        raise ValueError("a timed owned event needs a timed end")
    length = end.astimezone(timezone.utc) - start.astimezone(timezone.utc)  # real minutes, across DST
    if length <= timedelta(0):
        raise ValueError(f"owned event ends ({end}) before it starts ({start})")
    return length
