"""The backend registry (scheme -> backend, with its own config section) and the memory backend's
own seams (named calendars, the fault hook, change tokens)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from boundaryd.calendars import BACKENDS, Registered, memory, open_backend
from boundaryd.calendars.memory import MemoryBackend, MemoryCalendar
from boundaryd.core.model import Capabilities
from boundaryd.errors import BadInput, RuntimeFailure
from clirun import calendar_of, invite
from conftest import make_rules
from contract_worlds import END, NOW, TZ, MemState, at, snap

BLOCK = """
- {id: focus, kind: personal, days: weekdays, start: "09:00", end: "10:00"}
"""


@dataclass
class Recorded:
    location: str
    section: Any
    context: Any


class Recorder:
    seen: list[Recorded] = []

    @classmethod
    def open(cls, location: str, section: Any, context: Any) -> Recorder:
        cls.seen.append(Recorded(location, section, context))
        return cls()


def test_each_backend_gets_its_own_section_not_the_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rules = make_rules(BLOCK, extra="calendar:\n  caldav: {url: 'http://127.0.0.1:9/cal/', username: alice, password_env: NOPE}\n")
    entry = BACKENDS["caldav"]
    monkeypatch.setitem(BACKENDS, "caldav", Registered("caldav", "test_contract_registry:Recorder", entry.section))
    Recorder.seen.clear()
    state = MemState()
    open_backend(rules, None, str(tmp_path), state)
    (got,) = Recorder.seen
    assert got.location == "http://127.0.0.1:9/cal/"
    assert got.section is rules.calendar.caldav  # type: ignore[union-attr]
    assert (got.context.owner_emails, got.context.tz, got.context.state_dir, got.context.sync_state) == (
        ("alice@example.com",), rules.tz, str(tmp_path), state)
    assert not hasattr(got.context, "blocks") and not hasattr(got.context, "rules")


def test_every_registered_backend_opens_without_io(tmp_path: Path) -> None:
    rules = make_rules(BLOCK)
    for uri in (f"ics:{tmp_path / 'c.ics'}", "caldav:http://127.0.0.1:9/nowhere/", "memory:registry-test"):
        b = open_backend(rules, uri, str(tmp_path), MemState())  # port 9 answers nothing: no request made
        assert b.name.startswith(uri.split(":", 1)[0] + ":")
        assert isinstance(b.capabilities, Capabilities)
    memory.forget("registry-test")


def test_memory_is_a_test_scheme_the_rules_cannot_name(tmp_path: Path) -> None:
    from boundaryd.core.rules import CalendarURI

    assert not BACKENDS["memory"].public
    with pytest.raises(BadInput, match="ics:PATH, caldav:URL, google:CALENDAR_ID or microsoft:CALENDAR"):
        CalendarURI.parse("memory:x")
    b = open_backend(make_rules(BLOCK), "memory:shared", str(tmp_path))
    assert isinstance(b, MemoryBackend) and b.store is memory.calendar("shared")
    memory.forget("shared")
    with pytest.raises(BadInput, match="use ics:PATH"):
        open_backend(make_rules(BLOCK), "outlook:x", str(tmp_path))


def test_the_fault_hook_can_raise_anything_at_any_call() -> None:
    store = MemoryCalendar("hook")
    store.seed(calendar_of(invite("a@t", "A", at(1, 9)), invite("b@t", "B", at(2, 9))))
    calls: list[str] = []

    def hook(op: str) -> Any:
        calls.append(op)
        return KeyboardInterrupt() if op == "decline" else None  # a kill, as far as the caller can tell

    store.fault = hook
    b = MemoryBackend(store)
    s = snap(b)
    with pytest.raises(KeyboardInterrupt):
        b.decline(s.occurrences[0], ("alice@example.com",), "No.")
    b.flag(s.occurrences[1])
    assert calls == ["connect", "snapshot", "decline", "flag"]
    assert store.writes == 1


def test_memory_capabilities_are_the_calendars() -> None:
    store = MemoryCalendar("caps", Capabilities(tells_organizer=True, flag_mark=""))
    b = MemoryBackend(store)
    assert b.connect() == Capabilities(tells_organizer=True, flag_mark="") and b.capabilities.tells_organizer is True
    store.fault = lambda op: 401
    with pytest.raises(RuntimeFailure, match="credentials"):
        MemoryBackend(store).connect()


def test_memory_change_tokens() -> None:
    store = MemoryCalendar("tokens")
    state = MemState()
    store.put("a@t", calendar_of(invite("a@t", "A", at(1, 9))))
    first = MemoryBackend(store, state).snapshot(NOW, END, TZ)
    assert (store.full_reads, store.incremental_reads) == (1, 0)
    assert MemoryBackend(store, state).snapshot(NOW, END, TZ) == first
    assert (store.full_reads, store.incremental_reads) == (1, 1)
    store.expire_tokens()
    store.remove("a@t")
    assert MemoryBackend(store, state).snapshot(NOW, END, TZ).occurrences == ()
    assert store.full_reads == 2
