"""Wiring: paths, rules, backend, journal and mail transport for one command or the daemon.

Here a sync is put together: the executor reads the calendar, the planner plans once (with the
backend's capabilities as data), the executor carries the plan out. ``plan``, ``why``, ``week``,
the digest and the weekly preview read a plan made the same way.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from boundaryd import heap
from boundaryd.core.model import Plan, Snapshot
from boundaryd.core.planner import plan
from boundaryd.core.rules import Rules, load_rules, now_in
from boundaryd.engine import journal_contacts, journal_holds, weekly_report
from boundaryd.engine.executor import Executor, StepHook, SyncResult, send_owner_alert
from boundaryd.engine.journal import Journal
from boundaryd.paths import default_rules_path, default_state_dir

__all__ = ["App", "default_rules_path", "default_state_dir", "now_in"]


class App:
    """What the CLI commands and the daemon share. Opens things lazily, once."""

    def __init__(
        self, rules_path: Path, state_dir: Path, calendar_uri: str | None = None, step: StepHook | None = None
    ) -> None:
        self.rules_path = rules_path
        self.state_dir = state_dir
        self.calendar_uri = calendar_uri
        self.step = step  # called at each step of a sync (tests crash it there)
        self._journal: Journal | None = None

    def load_rules(self) -> Rules:
        return load_rules(self.rules_path)

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = Journal(self.state_dir / "journal.sqlite3")
        return self._journal

    def transport(self, rules: Rules) -> Any | None:
        email = rules.notify.email
        if email is None or email.smtp is None:
            return None
        from boundaryd.delivery.mail import SmtpTransport

        return SmtpTransport(email.smtp)

    def executor(self, rules: Rules) -> Executor:
        from boundaryd.calendars import open_backend

        self.state_dir.mkdir(parents=True, exist_ok=True)
        backend = open_backend(rules, self.calendar_uri, str(self.state_dir), self.journal)
        return Executor(rules, backend, self.journal, self.state_dir, self.transport(rules), self.step)

    # -- one plan, read by every command ------------------------------------------------------
    @staticmethod
    def _plan(rules: Rules, snap: Snapshot, t: datetime, ex: Executor) -> Plan:
        """The one place the planner is called: the journal's memory and the backend's capabilities as data."""
        memory = journal_holds.remembered(ex.memory(), ex.journal, t)
        return plan(rules, snap, t, journal_contacts.memory(rules, snap, t, ex.backend, ex.journal, memory))

    def plan(self, rules: Rules, now: datetime | None = None, ex: Executor | None = None) -> tuple[Plan, Snapshot]:
        """Read the calendar and plan, changing nothing: (plan, what was read)."""
        ex = ex or self.executor(rules)
        t = now_in(rules, now)
        snap = self._with_busy(rules, ex.snapshot(t), t, record=False)
        return self._plan(rules, snap, t, ex), snap

    def _with_busy(self, rules: Rules, snap: Snapshot, t: datetime, record: bool = True) -> Snapshot:
        """The snapshot with the events of the owner's other calendars (``busy_from``), read-only."""
        if not rules.busy_from:
            return snap
        from boundaryd.calendars.sources import read_all

        def alert(subject: str, text: str, key: str) -> None:
            send_owner_alert(rules, self.state_dir, self.transport(rules), subject, text, t, key)

        return replace(snap, busy=read_all(rules, self.state_dir, self.journal, t, alert, record).busy)

    # -- the daemon's interface (daemon.DaemonApp) -------------------------------------------
    def sync(self, rules: Rules, now: datetime | None = None, ex: Executor | None = None) -> SyncResult:
        ex = ex or self.executor(rules)
        t = now_in(rules, now)
        snap, queued = ex.begin(t)  # read the calendar, settle what an interrupted sync left
        snap = self._with_busy(rules, snap, t)
        p = self._plan(rules, snap, t, ex)
        journal_contacts.record_uses(ex.journal, rules, p)  # keyword exceptions counted, before acting
        journal_holds.record_plan(ex.journal, p)  # held offers and the week's facts: journaled before they are applied
        result = ex.apply(p, queued)
        weekly_report.after_sync(self, rules, result.plan, snap)  # the week's ledger; the weekly email when due
        heap.give_back()  # what the cycle built and dropped goes back to the system (a fraction of a millisecond)
        return result

    def send_weekly_report(self, rules: Rules, now: datetime | None = None) -> str | None:
        """The weekly ledger email (``notify.report``), if due and not sent yet (the daemon's wall-clock job)."""
        return weekly_report.send_if_due(self, rules, now_in(rules, now))

    def send_weekly_preview(self, rules: Rules, now: datetime | None = None, ex: Executor | None = None) -> str:
        ex = ex or self.executor(rules)
        return ex.weekly_preview(self.plan(rules, now, ex)[0])

    def flush_digest(self, rules: Rules, now: datetime | None = None, ex: Executor | None = None) -> str | None:
        ex = ex or self.executor(rules)
        if not ex.digest_waiting():  # nothing collected: the calendar is not even read
            return None
        return ex.flush_digest(self.plan(rules, now, ex)[0])

    def notify_owner(self, rules: Rules, subject: str, text: str, key: str) -> None:
        send_owner_alert(rules, self.state_dir, self.transport(rules), subject, text, now_in(rules, None), key)
