"""Apply a Plan through a backend, every step journaled, so a killed sync converges when run again.

Order of a sync, and why it is safe at every point:
1. read the calendar; finish or drop messages an interrupted sync held (see ``_recover``);
2. plan (pure);
3. hold this sync's messages (replies, notice) in the journal — nothing sent yet;
4. apply calendar changes, then flush (the ICS file is written once, atomically);
5. queue the held messages into the outbox (same key = same file) and record them as notified;
6. deliver the outbox over SMTP when configured.
Killed before 4 finishes: the calendar did not change, the held messages are dropped on the next run
and planned again with the same keys. Killed after 4: the next run sees the declines on the calendar
and queues the held messages. The outbox and the journal both refuse a second copy of a key.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from boundaryd.calendars.base import CalendarBackend
from boundaryd.core.model import Conflict, Decision, Occurrence, Plan, Snapshot
from boundaryd.core.planner import Memory, notice_key, plan
from boundaryd.core.rules import Rules
from boundaryd.engine.journal import Journal, PendingMessage
from boundaryd.errors import ChangeRefused
from boundaryd.presentation.jsonout import conflict_from_json, conflict_to_json

FAULT_ENV = "BOUNDARYD_FAULT"  # test switch: SIGKILL ourselves at the named step


def _step(name: str) -> None:
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class SyncResult:
    plan: Plan
    executed: bool
    queued: list[str] = field(default_factory=list)  # subjects of messages put in the outbox
    sent: int = 0
    waiting: int = 0
    mail_error: str | None = None
    refused: list[str] = field(default_factory=list)  # edits the server refuses for good

    @property
    def conflicts(self) -> int:
        return len(self.plan.conflicts)

    @property
    def declined(self) -> int:
        return len(self.plan.declines)

    @property
    def flagged(self) -> int:
        return len(self.plan.flags)

    @property
    def text(self) -> str:
        p = self.plan
        parts = [
            f"{len(p.calendar_changes)} block change(s)",
            f"{self.declined} declined",
            f"{self.flagged} flagged",
            f"{sum(1 for c in p.conflicts if c.decision is Decision.ALLOW)} allowed",
        ]
        if self.refused:
            parts.append(f"{len(self.refused)} refused by the server: {self.refused[0]}")
        if self.mail_error:
            parts.append(f"mail waiting: {self.mail_error}")
        return ", ".join(parts)


def _key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def reply_key(c: Conflict) -> str:
    o = c.occurrence
    return "reply-" + _key(o.uid, o.key[1], o.start.isoformat(), o.end.isoformat(), o.organizer)


def _notified_row(c: Conflict) -> dict[str, str]:
    o = c.occurrence
    return {
        "key": notice_key(c),
        "uid": o.uid,
        "recurrence_id": o.key[1],
        "block": c.block,
        "decision": c.decision.value,
        "start": o.start.isoformat(),
        "end": o.end.isoformat(),
    }


class Executor:
    def __init__(
        self,
        rules: Rules,
        backend: CalendarBackend,
        journal: Journal,
        state_dir: Path,
        transport: Any | None = None,
    ) -> None:
        self.rules = rules
        self.backend = backend
        self.journal = journal
        self.state_dir = state_dir
        self.transport = transport

    # -- outboxes ----------------------------------------------------------------------------
    def outbox(self) -> Any:
        from boundaryd.delivery.mail import Outbox

        return Outbox(self.state_dir / "outbox")

    # -- the cycle -------------------------------------------------------------------------
    def snapshot(self, now: datetime) -> Snapshot:
        tz = self.rules.tz
        now = now.astimezone(tz)
        return self.backend.snapshot(now, now + timedelta(days=self.rules.horizon_days), tz)

    def memory(self) -> Memory:
        return Memory(allowed=self.journal.allows(), notified=self.journal.notified_keys())

    def plan(self, now: datetime) -> tuple[Plan, Snapshot]:
        snap = self.snapshot(now)
        return plan(self.rules, snap, now, self.memory()), snap

    def sync(self, now: datetime) -> SyncResult:
        snap = self.snapshot(now)
        _step("snapshot")
        result_queued = self._recover(snap)
        p = plan(self.rules, snap, now, self.memory())
        sync_id = f"{now.isoformat()}-{os.getpid()}"
        messages = self._messages(p, now)
        self.journal.hold_messages(sync_id, messages)
        _step("held")

        owners = tuple(self.rules.owner.emails)
        actions: list[int] = []
        for i, ch in enumerate(p.calendar_changes):
            actions.append(self.journal.intent(sync_id, ch.op, ch.uid, ch.block))
            if ch.op == "delete":
                self.backend.delete_block(ch.uid)
            else:
                assert ch.event is not None
                self.backend.put_block(ch.event)
            _step(f"change:{i}")
        refused: list[str] = []
        refused_before = self.journal.actions_in_state("decline", "refused")
        for i, c in enumerate(p.declines):
            if c.occurrence.key in refused_before:  # this server will not take it: reported once
                _step(f"decline:{i}")
                continue
            action = self.journal.intent(sync_id, "decline", c.occurrence.uid, c.occurrence.key[1])
            try:
                self.backend.decline(c.occurrence, owners, c.message)
                actions.append(action)
            except ChangeRefused as e:  # this server will never take it: say so, go on with the rest
                self.journal.done(action, "refused")
                refused.append(str(e))
            _step(f"decline:{i}")
        for i, c in enumerate(p.flags):
            actions.append(self.journal.intent(sync_id, "flag", c.occurrence.uid, c.occurrence.key[1]))
            self.backend.flag(c.occurrence)
            _step(f"flag:{i}")
        self.backend.flush()
        _step("flushed")
        for a in actions:
            self.journal.done(a)

        result = SyncResult(plan=p, executed=True, queued=result_queued, refused=refused)
        for i, m in enumerate(self.journal.held()):
            result.queued.append(self._queue(m))
            _step(f"queued:{i}")
        self._deliver(result)
        return result

    def _recover(self, snap: Snapshot) -> list[str]:
        """Messages an interrupted sync held: queue those whose declines took effect, drop the rest."""
        held = self.journal.held()
        if not held:
            return []
        owners = set(self.rules.owner.emails)
        declined = {
            o.key
            for o in snap.occurrences
            if any(a.email in owners and a.partstat == "DECLINED" for a in o.attendees)
        }
        queued = []
        for m in held:
            if any(tuple(k) in declined for k in m.depends):
                queued.append(self._queue(m))
            else:
                self.journal.drop_message(m.key)
        return queued

    def _queue(self, m: PendingMessage) -> str:
        if m.kind == "digest":
            rows = json.loads(m.body.decode())
            self.journal.add_digest([(r["key"], json.dumps(r)) for r in rows])
            self.journal.message_queued(m.key)
            return f"{len(rows)} conflict(s) for the next digest"
        msg = email.message_from_bytes(m.body, policy=email.policy.SMTP)
        # replies: outbox — kept in the outbox for the owner to send; no transport sends them
        self.outbox().put(m.key, msg, send=m.kind != "reply-outbox")
        self.journal.message_queued(m.key)
        return str(msg.get("Subject", ""))

    def _deliver(self, result: SyncResult) -> None:
        """Send what waits; with no transport this marks queued messages as the owner's to read."""
        from boundaryd.delivery.mail import deliver

        report = deliver(self.outbox(), self.transport)
        result.sent, result.waiting, result.mail_error = report.sent, report.waiting, report.error

    # -- messages -----------------------------------------------------------------------------
    def _messages(self, p: Plan, now: datetime) -> list[PendingMessage]:
        out: list[PendingMessage] = []
        mode = self.rules.notify.replies
        if mode != "off":
            for c in p.declines:
                o = c.occurrence
                if not o.organizer or (mode == "auto" and self.backend.tells_organizer):
                    continue
                from boundaryd.delivery.imip import reply_problem

                if reply_problem(o):  # an organizer address no reply can go to: the notice says so
                    continue
                key = reply_key(c)
                if self.journal.message_known(key):
                    continue
                msg = self.build_reply(o, c.message, now, key)
                out.append(
                    PendingMessage(key, "reply" if mode == "auto" else "reply-outbox", [list(o.key)], [], msg.as_bytes())
                )
        for n in p.notices:
            depends = [list(c.occurrence.key) for c in n.conflicts if c.decision is Decision.DECLINE]
            rows = [_notified_row(c) for c in n.conflicts]
            key = "notice-" + _key(*sorted(n.keys))
            if self.rules.notify.digest == "immediate":
                msg = self.build_notice(n.conflicts, p, now, key)
                out.append(PendingMessage(key, "notice", depends, rows, msg.as_bytes()))
            else:
                payload = [dict(conflict_to_json(c, self.rules.tz), key=notice_key(c)) for c in n.conflicts]
                out.append(PendingMessage(key, "digest", depends, rows, json.dumps(payload).encode()))
        return out

    def build_reply(self, occ: Occurrence, comment: str, now: datetime, key: str) -> EmailMessage:
        from boundaryd.delivery.imip import build_reply

        owner = next((a.email for a in occ.attendees if a.email in set(self.rules.owner.emails)), self.rules.owner.emails[0])
        return build_reply(occ=occ, owner_email=owner, owner_name=self.rules.owner.name, comment=comment, now=now, key=key)

    def build_notice(self, conflicts: Sequence[Conflict], p: Plan, now: datetime, key: str) -> EmailMessage:
        from boundaryd.delivery.notice import build_notice

        return build_notice(rules=self.rules, conflicts=conflicts, blocks=p.blocks, now=now, key=key)

    # -- scheduled mail (the daemon calls these) -------------------------------------------------
    def flush_digest(self, now: datetime) -> str | None:
        rows = self.journal.digest_rows()
        if not rows:
            return None
        conflicts = [conflict_from_json(json.loads(payload), self.rules.tz) for _, payload in rows]
        p, _ = self.plan(now)
        key = "digest-" + _key(*sorted(k for k, _ in rows))
        msg = self.build_notice(conflicts, p, now, key)
        self.outbox().put(key, msg)
        self.journal.clear_digest([k for k, _ in rows])
        result = SyncResult(plan=p, executed=False)
        self._deliver(result)
        return str(msg["Subject"])

    def weekly_preview(self, now: datetime) -> str:
        from boundaryd.delivery.notice import build_weekly_preview

        p, _ = self.plan(now)
        week_end = now + timedelta(days=7)
        blocks = [b for b in p.blocks if b.start < week_end]
        conflicts = [c for c in p.conflicts if c.occurrence.start < week_end]
        key = "preview-" + _key(now.astimezone(self.rules.tz).date().isoformat())
        msg = build_weekly_preview(rules=self.rules, conflicts=conflicts, blocks=blocks, now=now, key=key)
        self.outbox().put(key, msg)
        result = SyncResult(plan=p, executed=False)
        self._deliver(result)
        return str(msg["Subject"])


def send_owner_alert(
    rules: Rules, state_dir: Path, transport: Any | None, subject: str, text: str, now: datetime, key: str
) -> None:
    """A one-off email to the owner (the daemon failing, a rules file that does not validate).

    It needs no calendar (that may be what is down); the outbox refuses a second copy of a key.
    """
    from boundaryd.delivery.mail import Outbox, deliver
    from boundaryd.delivery.notice import build_owner_alert

    box = Outbox(state_dir / "outbox")
    if box.put("alert-" + key, build_owner_alert(rules=rules, subject=subject, text=text, now=now, key=key)):
        deliver(box, transport)
