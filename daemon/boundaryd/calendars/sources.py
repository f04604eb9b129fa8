"""The owner's other calendars (``busy_from``), read once a cycle, never written to.

Each source is opened through the same registry and snapshot code as the main calendar (its own
section, its own corner of the journal for change tokens, so an unchanged source costs what an
unchanged main calendar costs: one conditional request) and wrapped in :class:`ReadOnly`, whose
write methods raise. A feed (``ics_url``) is :class:`boundaryd.calendars.feed.FeedBackend`.

A source that fails (unreachable, refused, malformed) never stops the sync of the main calendar:
its last good copy (``STATE/busy/NAME-HASH.json``, the busy events of the last good read) stands
for :data:`STALE_AFTER` from the first failure — its events still count, its mirrors stay — and
after that its events no longer count (so their mirrors go). The first failure is journaled (the
journal's key/value store) and the owner is told once; ``doctor`` checks every source.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from boundaryd.calendars.base import SyncState
from boundaryd.calendars.feed import FeedBackend, cache_path
from boundaryd.core import busy as core_busy
from boundaryd.core.model import BusyEvent, Capabilities, Snapshot
from boundaryd.core.rules import Rules
from boundaryd.core.rules_busy import BusySource
from boundaryd.errors import BoundarydError
from boundaryd.fsutil import write_atomic

log = logging.getLogger(__name__)

#: how long the last good copy of a failing source stands
STALE_AFTER = timedelta(hours=24)
#: events that started this long ago still count (and keep their mirrors) while they last
LOOK_BACK = timedelta(days=1)

#: the owner is told: (subject, text, key) — the outbox refuses a second copy of a key
Alert = Callable[[str, str, str], None]


class WriteRefused(RuntimeError):
    """A write reached a ``busy_from`` source: a bug, never done."""


class ReadOnly:
    """A source's backend with its write half taken away."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = str(inner.name)

    @property
    def capabilities(self) -> Capabilities:
        caps: Capabilities = self.inner.capabilities
        return caps

    def connect(self) -> Capabilities:
        caps: Capabilities = self.inner.connect()
        return caps

    def snapshot(self, start: datetime, end: datetime, tz: Any) -> Snapshot:
        snap: Snapshot = self.inner.snapshot(start, end, tz)
        return snap

    def _refuse(self, *args: object) -> None:
        raise WriteRefused(f"{self.name} is a busy_from source: boundaryd never writes to it")

    put_block = delete_block = decline = answer = flag = unflag = _refuse

    def flush(self) -> None:
        """Nothing was written: nothing to flush."""


class _Prefixed:
    """A source's own corner of the journal's key/value store (its change tokens, its ETags)."""

    def __init__(self, inner: SyncState, prefix: str) -> None:
        self.inner, self.prefix = inner, prefix

    def get(self, key: str) -> str | None:
        return self.inner.get(self.prefix + key)

    def set(self, key: str, value: str | None) -> None:
        self.inner.set(self.prefix + key, value)


#: where each provider's sign-in is kept by default: "module:function(state_dir)"
_SIGN_INS = {
    "google": "boundaryd.calendars.google_auth:default_token_file",
    "microsoft": "boundaryd.calendars.graph_auth:default_token_file",
}


def _folder(state_dir: str | Path, source: BusySource) -> Path:
    return cache_path(state_dir, source.name).with_suffix("")


def open_source(rules: Rules, source: BusySource, state_dir: str | Path, sync_state: SyncState | None) -> ReadOnly:
    """The source's backend, read-only. No I/O but making its cache folder."""
    from boundaryd.calendars import BACKENDS, Context
    from boundaryd.core.rules_calendar import CalendarURI

    label = f"{source.name} ({source.where})"
    if source.ics_url is not None:
        return ReadOnly(FeedBackend(source.ics_url, cache_path(state_dir, source.name), label))
    section = source.section()
    own = getattr(section, source.kind, None)
    if section is not None and own is not None and getattr(own, "token_file", "") is None and source.kind in _SIGN_INS:
        # the main calendar's sign-in (its token file in the state dir), unless the source has its own
        module, _, name = _SIGN_INS[source.kind].partition(":")
        token = str(getattr(importlib.import_module(module), name)(state_dir))
        section = section.model_copy(update={source.kind: own.model_copy(update={"token_file": token})})
    target = CalendarURI.of_section(section, state_dir)
    entry = BACKENDS[target.scheme]
    state = _Prefixed(sync_state, f"busy:{source.name}:") if sync_state is not None else None
    context = Context(tuple(rules.owner.emails), rules.tz, str(_folder(state_dir, source)), state)
    _folder(state_dir, source).mkdir(parents=True, exist_ok=True)
    backend = entry.load().open(target.location, entry.section(section), context)
    if hasattr(backend, "create"):
        backend.create = False  # an ics: source that is not there is an error, not an empty calendar
    return ReadOnly(backend)


@dataclass(frozen=True)
class SourceState:
    """How reading one source went this cycle."""

    name: str
    events: int
    problem: str = ""  # "" when it was read
    failing_since: datetime | None = None
    expired: bool = False  # failing for longer than STALE_AFTER: its events no longer count


@dataclass(frozen=True)
class BusyRead:
    busy: tuple[BusyEvent, ...]
    states: tuple[SourceState, ...]


def read_all(
    rules: Rules,
    state_dir: str | Path,
    sync_state: SyncState | None,
    now: datetime,
    alert: Alert | None = None,
    record: bool = True,
) -> BusyRead:
    """Every source's busy events in the window (from ``now`` less :data:`LOOK_BACK`).

    ``record``: journal a first failure and tell the owner (a sync); False reads only (``plan``).
    """
    events: list[BusyEvent] = []
    states = []
    for source in rules.busy_from:
        got, state = read_one(rules, source, state_dir, sync_state, now, alert if record else None, record)
        events += got
        states.append(state)
    return BusyRead(tuple(events), tuple(states))


def read_one(
    rules: Rules,
    source: BusySource,
    state_dir: str | Path,
    sync_state: SyncState | None,
    now: datetime,
    alert: Alert | None = None,
    record: bool = True,
) -> tuple[tuple[BusyEvent, ...], SourceState]:
    tz = rules.tz
    now = now.astimezone(tz)
    start, end = now - LOOK_BACK, now + timedelta(days=rules.horizon_days)
    copy = cache_path(state_dir, source.name).with_suffix(".json")
    key = f"busy:{source.name}:failing"
    try:
        snap = open_source(rules, source, state_dir, sync_state).snapshot(start, end, tz)
        got = core_busy.from_occurrences(source.name, snap.occurrences, rules.owner.emails)
        if record:
            _keep(copy, got)
            if sync_state is not None and sync_state.get(key) is not None:
                sync_state.set(key, None)
                log.info("busy_from %s: readable again", source.name)
        return got, SourceState(source.name, len(got))
    except BoundarydError as e:
        problem = "; ".join(e.problems) or str(e)
    except Exception as e:  # noqa: BLE001 - a source never stops the main calendar's sync
        log.debug("busy_from %s", source.name, exc_info=True)
        problem = f"{type(e).__name__}: {e}"
    since, first = _failing_since(sync_state, key, now, record)
    last = _load(copy, tz, source.name)
    expired = now - since > STALE_AFTER
    if first and alert is not None:  # the first failure: tell the owner, once
        from boundaryd.presentation.busy_words import failing_subject, failing_text

        until = since + STALE_AFTER if last is not None else None
        log.warning("busy_from %s cannot be read: %s", source.name, problem)
        alert(failing_subject(source.name), failing_text(source.name, source.where, problem, until),
              f"busy-{source.name}-{since.isoformat()}")
    else:
        log.info("busy_from %s still cannot be read: %s", source.name, problem)
    got = () if expired or last is None else tuple(b for b in last if b.end > start and b.start < end)
    return got, SourceState(source.name, len(got), problem, since, expired)


def _failing_since(sync_state: SyncState | None, key: str, now: datetime, record: bool) -> tuple[datetime, bool]:
    """Since when the source fails, and whether this is its first failure (then journaled)."""
    raw = sync_state.get(key) if sync_state is not None else None
    if raw is not None:
        try:
            return datetime.fromisoformat(raw).astimezone(now.tzinfo), False
        except ValueError:
            pass
    if record and sync_state is not None:
        sync_state.set(key, now.isoformat())
        return now, True
    return now, False


def _dump(events: Sequence[BusyEvent]) -> bytes:
    rows = [[b.uid, b.recurrence_id, b.summary, b.start.isoformat(), b.end.isoformat(), b.all_day] for b in events]
    return json.dumps({"v": 1, "events": rows}, sort_keys=True).encode()


#: what this process last saved, by file (so an unchanged cycle does not even serialize it)
_saved: dict[Path, tuple[BusyEvent, ...]] = {}


def _keep(path: Path, events: tuple[BusyEvent, ...]) -> None:
    """Save the last good copy (only when it changed: an unchanged cycle writes nothing)."""
    if _saved.get(path) == events:
        return
    data = _dump(events)
    try:
        if path.read_bytes() == data:
            _saved[path] = events
            return
    except OSError:
        pass
    try:
        write_atomic(path, data)
    except OSError as e:
        log.warning("busy_from: cannot keep %s (%s)", path, e.strerror or e)
        return
    _saved[path] = events


def _load(path: Path, tz: Any, source: str) -> tuple[BusyEvent, ...] | None:
    """The last good copy; None when there is none."""
    try:
        rows = json.loads(path.read_bytes())["events"]
        return tuple(
            BusyEvent(source, str(u), str(r), str(s), datetime.fromisoformat(a).astimezone(tz),
                      datetime.fromisoformat(b).astimezone(tz), bool(d))
            for u, r, s, a, b, d in rows
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
