"""The weekly boundary ledger: recorded after each sync, and sent by email (``notify.report``).

The email is due once a week at ``notify.report``'s day and time (rules' zone). The first sync at
or after that time sends it, daemon or one-shot; the daemon's wall-clock job at that time does the
same through :func:`send_if_due`. Whichever comes first sends it: the journal remembers the due
time answered (key ``ledger:report-due``), and the outbox refuses a second copy of the same key.

The report covers the week holding the day before the due time: sent on Sunday evening, the week
ending; sent on a Monday morning, the week that just ended. A week boundaryd has no record of
(it was not running) is skipped, not sent empty.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from boundaryd.core.ledger import Ledger, monday_of
from boundaryd.engine.journal_ledger import LedgerStore, ledger_of, record

if TYPE_CHECKING:
    from boundaryd.core.model import Plan, Snapshot
    from boundaryd.core.rules import Rules

__all__ = ["DUE_KEY", "after_sync", "due_time", "report_week", "send", "send_if_due"]

DUE_KEY = "ledger:report-due"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def due_time(rules: Rules, now: datetime) -> datetime | None:
    """The latest time the weekly email was due at or before ``now``; None when the rules want none."""
    report = getattr(rules.notify, "report", None)
    if report is None:
        return None
    tz = rules.tz
    local = now.astimezone(tz)
    day = local.date() - timedelta(days=(local.weekday() - _DAYS.index(report.day)) % 7)
    when = datetime.combine(day, report.time, tz)
    if when > local:
        when = datetime.combine(day - timedelta(days=7), report.time, tz)
    return when


def report_week(due: datetime, rules: Rules) -> date:
    """The Monday of the week a report due at ``due`` covers (the week holding the day before)."""
    return monday_of(due - timedelta(days=1), rules.tz)


def after_sync(app: Any, rules: Rules, plan: Plan, snapshot: Snapshot) -> None:
    """What a sync adds: the ledger of the weeks it saw, then the weekly email if it is due."""
    record(app.journal, rules, plan, snapshot)
    send_if_due(app, rules, plan.now)


def send_if_due(app: Any, rules: Rules, now: datetime) -> str | None:
    """Send the weekly email if it is due and not sent yet; its subject, or None."""
    when = due_time(rules, now)
    if when is None:
        return None
    journal = app.journal
    mark = when.isoformat()
    if journal.get(DUE_KEY) == mark:
        return None
    monday = report_week(when, rules)
    subject = None
    if LedgerStore(journal).lines(monday):  # a week with no record is not sent empty
        subject = send(app, rules, ledger_of(journal, rules, monday, now), now, "report-" + mark)
    journal.set(DUE_KEY, mark)
    return subject


def send(app: Any, rules: Rules, ledger: Ledger, now: datetime, key: str, recorded: bool = True) -> str:
    """Put the ledger's email in the outbox (once per ``key``) and deliver what waits; its subject."""
    from boundaryd.delivery.mail import Outbox, deliver
    from boundaryd.delivery.notice import build_mail
    from boundaryd.presentation.report import report_view

    key = "report-" + hashlib.sha256(key.encode()).hexdigest()[:24]
    msg = build_mail(rules=rules, view=report_view(rules, ledger, recorded), now=now, key=key)
    box = Outbox(app.state_dir / "outbox")
    box.put(key, msg)
    deliver(box, app.transport(rules))
    return str(msg["Subject"])
