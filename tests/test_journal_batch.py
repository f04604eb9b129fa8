"""The executor's journal batches (engine/journal_batch.py): how many transactions a phase costs,
when the ends of its actions are committed, and what recovery reads back from the calendar.
The crash proof itself (a SIGKILL at every step, then a rerun) is tests/test_crash.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from boundaryd.core.ical import CONFLICT_CATEGORY
from boundaryd.core.model import Attendee, Occurrence, Snapshot
from boundaryd.engine.journal import Journal
from boundaryd.engine.journal_batch import ActionLog, finish, intents, settle, writes_when_made

OWNER = "alice@example.com"


class Counted(Journal):
    """A journal that counts its transactions (each one an fsync: ``synchronous=FULL``)."""

    transactions = 0

    @contextmanager
    def tx(self) -> Iterator[object]:  # type: ignore[override]
        self.transactions += 1
        with super().tx() as db:
            yield db


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Counted]:
    j = Counted(tmp_path / "journal.sqlite3")
    j.transactions = 0
    yield j
    j.close()


def states(j: Journal) -> list[str]:
    return [r[0] for r in j.db.execute("SELECT state FROM actions ORDER BY id")]


def run_phase(log: ActionLog, n: int, seen: list[list[str]] | None = None) -> None:
    def act(i: int, action: int) -> None:
        log.end(action)
        if seen is not None:
            seen.append(states(log.journal))

    log.phase("flag", list(range(n)), [("flag", f"u{i}", "") for i in range(n)], act)


def test_a_phase_written_at_the_flush_costs_two_transactions(journal: Counted) -> None:
    steps: list[str] = []
    log = ActionLog(journal, "s", steps.append, durable_each=False)
    seen: list[list[str]] = []
    run_phase(log, 1000, seen)
    assert journal.transactions == 1  # the intents, all before the first action
    assert all(s == ["intent"] * 1000 for s in seen)  # nothing ended before the flush made it durable
    log.commit()
    assert journal.transactions == 2 and states(journal) == ["done"] * 1000
    assert steps[0] == "intents:flag" and steps[-1] == "committed:0" and len(steps) == 1002


def test_a_calendar_that_writes_as_it_goes_commits_every_k_actions_and_at_the_phase_end(journal: Counted) -> None:
    steps: list[str] = []
    log = ActionLog(journal, "s", steps.append, durable_each=True, every=300, seconds=float("inf"))
    run_phase(log, 1000)
    assert journal.transactions == 1 + 4  # intents; ends after 300, 600, 900 and the phase's last 100
    assert [s for s in steps if s.startswith("committed")] == [f"committed:{i}" for i in range(4)]
    assert steps.index("committed:0") == steps.index("flag:299") + 1  # killed at flag:299: 300 applied, none ended
    log.commit()  # after the flush: nothing left
    assert journal.transactions == 5 and states(journal) == ["done"] * 1000


def test_a_slow_calendar_commits_every_t_seconds(journal: Counted) -> None:
    t = [0.0]
    log = ActionLog(journal, "s", lambda _: None, durable_each=True, every=1000, seconds=2.5, clock=lambda: t[0])
    seen: list[int] = []

    def act(i: int, action: int) -> None:  # each action takes a second
        t[0] += 1.0
        seen.append(states(journal).count("done"))
        log.end(action)

    log.phase("flag", list(range(10)), [("flag", f"u{i}", "") for i in range(10)], act)
    assert journal.transactions == 1 + 4  # intents; ends every third second; the phase's last one
    assert seen == [0, 0, 0, 3, 3, 3, 6, 6, 6, 9]


def test_only_backends_that_say_so_commit_before_the_flush() -> None:
    from boundaryd.calendars.ics import IcsBackend
    from boundaryd.calendars.memory import MemoryBackend, MemoryCalendar

    assert writes_when_made(MemoryBackend(MemoryCalendar()))
    assert not writes_when_made(IcsBackend("/nonexistent/calendar.ics"))
    assert not writes_when_made(object())  # unknown: the safe side


def occ(uid: str, rid: str | None = None, partstat: str = "NEEDS-ACTION", marked: bool = False) -> Occurrence:
    start = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
    return Occurrence(
        uid=uid, recurrence_id=datetime.fromisoformat(rid) if rid else None, summary=uid, start=start,
        end=start + timedelta(hours=1), attendees=(Attendee(OWNER, partstat),),
        categories=(CONFLICT_CATEGORY,) if marked else (),
    )  # fmt: skip


def test_recovery_reads_what_unfinished_actions_did_from_the_calendar(journal: Counted) -> None:
    rid = "2026-11-25T09:00:00+00:00"
    journal.add_decline_request("x", "")  # unrelated state stays
    finish(journal, [], [("undo-me", "", "ACCEPTED", "reply")])  # declined earlier, by boundaryd
    rows = [("flag", "marked", ""), ("flag", "unmarked", ""), ("decline", "series", rid), ("decline", "not", ""),
            ("undo", "undo-me", ""), ("create", "block-1", "prospecting")]  # fmt: skip
    intents(journal, "killed", rows, [("series", rid, "NEEDS-ACTION", "reply"), ("not", "", "TENTATIVE", "none")])
    assert journal.declined() == {("undo-me", ""): ("ACCEPTED", "reply")}  # intents are not records
    snap = Snapshot((occ("marked", marked=True), occ("unmarked"), occ("series", rid, "DECLINED"), occ("not"), occ("undo-me")))
    assert settle(journal, snap, {OWNER}) == 6
    got = dict(((k, t), s) for k, t, s in journal.db.execute("SELECT kind, target, state FROM actions"))
    assert got == {
        ("flag", "marked"): "done", ("flag", "unmarked"): "interrupted", ("decline", "series"): "done",
        ("decline", "not"): "interrupted", ("undo", "undo-me"): "done", ("create", "block-1"): "interrupted",
    }  # fmt: skip
    assert journal.declined() == {("series", rid): ("NEEDS-ACTION", "reply")}
    assert journal.actions_in_state("flag", "done").keys() == {("marked", "")}
    assert journal.db.execute("SELECT count(*) FROM declined WHERE state='intent'").fetchone()[0] == 0
    before = journal.transactions
    assert settle(journal, snap, {OWNER}) == 0 and journal.transactions == before  # a quiet cycle writes nothing
