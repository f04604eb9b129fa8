"""Carry out a Plan through a backend, every step journaled, so a killed sync converges when run again.

The executor decides nothing: the plan says which blocks to write, what to decline or flag, which
replies and notices to send and how; the executor does it and records it. The caller (``App``)
reads the calendar and recovers through the executor, plans once, and hands the plan back.

Order of a sync, and why it is safe at every point:
1. read the calendar; settle what an interrupted sync left (see ``recover``);
2. plan (pure, the caller);
3. hold this sync's messages (replies, notice) in the journal — nothing sent yet;
4. apply calendar changes phase by phase, then flush (the ICS file is written once, atomically);
5. queue the held messages into the outbox (same key = same file) and record them as notified;
6. deliver the outbox over SMTP when configured.
Killed before 4 finishes: the held messages are dropped on the next run (unless their declines
are on the calendar) and planned again with the same keys. Killed after 4: the next run sees the
declines on the calendar and queues the held messages. The outbox and the journal both refuse a
second copy of a key; messages are held, queued and recorded one by one, never batched.

The journal writes of 4 are batched (engine/journal_batch.py): each phase's intents in one
transaction before its first action, the ends (done, refused, a decline's record, an undo) in one
transaction once durable: after the flush, and for a backend that writes as it goes also at the
end of each phase and every ``every`` actions / ``seconds``. So a kill can leave an action whose
intent is journaled and whose end is not, applied or not. Why that is safe, kind by kind:
- block write / delete: idempotent (``put_block`` replaces by UID, deleting a missing event is no
  error); the planner diffs the calendar against the rules, so it writes again only what is missing.
- decline: idempotent (an override with PARTSTAT=DECLINED); the planner declines only what is not
  declined. Its record (what ``allow`` sets back) was written with the intent, kept unread as an
  intent, and ``settle`` makes it the record when the calendar shows the decline. Its reply is a
  held message: queued only if the decline is on the calendar, once (same key).
- undo: idempotent (an occurrence not declined is left alone); ``settle`` records it undone when
  the calendar shows it no longer declined; its reply is a held message like a decline's.
- flag: planned only where the mark is not on, ``flag`` is idempotent; ``settle`` records it done
  when the mark is on, so boundaryd still takes off its own mark when the conflict ends.
- unflag: planned only where the mark is on and boundaryd put it; idempotent.
- a refused decline: nothing changed; not recorded, it is tried again and refused again.
Each step calls the optional ``step`` hook with its name ("snapshot", "held", "intents:flag",
"change:0", "decline:0", "flag:0", "committed:0", "flushed", "queued:0", ...): tests crash a sync there.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import os
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from boundaryd.calendars.base import CalendarBackend
from boundaryd.core.actions import (
    NOT_YET_PLANNED,
    Decline,
    Flag,
    Notify,
    Remember,
    RemoveBlock,
    Reply,
    Undo,
    Unflag,
    WriteBlock,
)
from boundaryd.core.model import Conflict, Decision, Memory, Plan, Snapshot
from boundaryd.engine.journal import Journal, PendingMessage
from boundaryd.engine.journal_batch import EVERY, SECONDS, ActionLog, declined_keys, settle, writes_when_made
from boundaryd.errors import ChangeRefused
from boundaryd.presentation.jsonout import conflict_from_json, conflict_to_json

if TYPE_CHECKING:
    from boundaryd.core.rules import Rules

#: called with the name of each step of a sync as it completes (tests crash a sync there)
StepHook = Callable[[str], None]


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


class Executor:
    def __init__(
        self,
        rules: Rules,
        backend: CalendarBackend,
        journal: Journal,
        state_dir: Path,
        transport: Any | None = None,
        step: StepHook | None = None,
    ) -> None:
        self.rules = rules
        self.backend = backend
        self.journal = journal
        self.state_dir = state_dir
        self.transport = transport
        self._step = step or (lambda name: None)
        self.every, self.seconds = EVERY, SECONDS  # how often a backend that writes as it goes commits its ends

    # -- outboxes ----------------------------------------------------------------------------
    def outbox(self) -> Any:
        from boundaryd.delivery.mail import Outbox

        return Outbox(self.state_dir / "outbox")

    # -- what the planner reads --------------------------------------------------------------
    def snapshot(self, now: datetime) -> Snapshot:
        tz = self.rules.tz
        now = now.astimezone(tz)
        return self.backend.snapshot(now, now + timedelta(days=self.rules.horizon_days), tz)

    def memory(self) -> Memory:
        """What the journal remembers; read again only once the journal changed (a quiet cycle reads nothing)."""
        version = self.journal.version()
        kept = _MEMORY.get(self.journal)
        if kept is not None and kept[0] == version:
            return kept[1]
        memory = self._read_memory()
        _MEMORY[self.journal] = (version, memory)
        return memory

    def _read_memory(self) -> Memory:
        return Memory(
            allowed=self.journal.allows(),
            notified=self.journal.notified_keys(),
            messages=self.journal.message_keys(),
            refused=frozenset(self.journal.actions_in_state("decline", "refused")),
            applied=self.journal.applied(),
            refs=self.journal.refs(),
            declined=self.journal.declined(),
            decline_now=self.journal.decline_requests(),
            flagged=frozenset(self.journal.actions_in_state("flag", "done")),
        )

    # -- the cycle ---------------------------------------------------------------------------
    def begin(self, now: datetime) -> tuple[Snapshot, list[str]]:
        """Read the calendar and settle what an interrupted sync left: (snapshot, subjects queued).
        Plan after this, with :meth:`memory` read after it too."""
        snap = self.snapshot(now)
        self._step("snapshot")
        return snap, self.recover(snap)

    def apply(self, p: Plan, queued: Sequence[str] = ()) -> SyncResult:
        """Carry out every action of ``p``; ``queued``: what :meth:`begin` already queued."""
        unknown = [a for a in p.actions if isinstance(a, NOT_YET_PLANNED)]
        if unknown:  # a planner that makes them comes with the executor step that carries them out
            raise TypeError(f"no executor step for {type(unknown[0]).__name__} actions yet")
        sync_id = f"{p.now.isoformat()}-{os.getpid()}"
        self.journal.hold_messages(sync_id, [self._message(m, p) for m in p.messages])
        self._step("held")
        for r in (a for a in p.actions if isinstance(a, Remember)):
            self.journal.remember(r.applied, r.refs)

        owners = tuple(self.rules.owner.emails)
        log = ActionLog(self.journal, sync_id, self._step, writes_when_made(self.backend), self.every, self.seconds)
        changes = p.calendar_changes
        log.phase("change", changes, [(ch.op, ch.uid, ch.block) for ch in changes], self._change(log))
        undos = p.undo_actions
        log.phase("undo", undos, [("undo", *u.occurrence.key) for u in undos], self._undo(log, owners))
        refused: list[str] = []
        declines = p.decline_actions
        log.phase(
            "decline", declines, [("decline", *d.occurrence.key) for d in declines], self._declined(log, owners, refused),
            [(*d.occurrence.key, d.previous, d.told.value) for d in declines],
        )
        flags = p.flag_actions  # planned only where the mark is not on yet
        log.phase("flag", flags, [("flag", *f.occurrence.key) for f in flags], self._flag(log))
        unflags = [a for a in p.actions if isinstance(a, Unflag)]
        log.phase("unflag", unflags, [("unflag", *u.occurrence.key) for u in unflags], self._unflag(log))
        self.backend.flush()
        self._step("flushed")
        log.commit()  # on the calendar now: done, and for declines what ``allow`` sets back and how the organizer was told

        result = SyncResult(plan=p, executed=True, queued=list(queued), refused=refused)
        for i, m in enumerate(self.journal.held()):
            result.queued.append(self._queue(m))
            self._step(f"queued:{i}")
        self._deliver(result)
        return result

    # -- one action each: applied, then its end noted in the log (committed with its batch) -----
    def _change(self, log: ActionLog) -> Callable[[WriteBlock | RemoveBlock, int], None]:
        def act(ch: WriteBlock | RemoveBlock, action: int) -> None:
            if isinstance(ch, RemoveBlock):
                self.backend.delete_block(ch.uid)
            else:
                self.backend.put_block(ch.event)
            log.end(action)

        return act

    def _undo(self, log: ActionLog, owners: tuple[str, ...]) -> Callable[[Undo, int], None]:
        def act(u: Undo, action: int) -> None:
            self.backend.answer(u.occurrence, owners, u.partstat)
            log.end(action, undone=u.occurrence.key)

        return act

    def _declined(self, log: ActionLog, owners: tuple[str, ...], refused: list[str]) -> Callable[[Decline, int], None]:
        def act(d: Decline, action: int) -> None:
            try:
                self._decline(d, owners)
                log.end(action, decline=(*d.occurrence.key, d.previous, d.told.value))
            except ChangeRefused as e:  # this server will never take it: say so, go on with the rest
                log.end(action, "refused", refused=d.occurrence.key)
                refused.append(str(e))

        return act

    def _flag(self, log: ActionLog) -> Callable[[Flag, int], None]:
        def act(f: Flag, action: int) -> None:
            self.backend.flag(f.occurrence)
            log.end(action)

        return act

    def _unflag(self, log: ActionLog) -> Callable[[Unflag, int], None]:
        def act(off: Unflag, action: int) -> None:
            self.backend.unflag(off.occurrence)
            log.end(action)

        return act

    def _decline(self, d: Decline, owners: tuple[str, ...]) -> None:
        """The decline; with the new time the plan proposes, where it proposes one (only for a
        calendar that carries it: Microsoft Graph). Other backends are called exactly as before."""
        if d.proposed is not None:
            self.backend.decline(d.occurrence, owners, d.message, proposed=d.proposed)  # type: ignore[call-arg]
        else:
            self.backend.decline(d.occurrence, owners, d.message)

    def recover(self, snap: Snapshot) -> list[str]:
        """What an interrupted sync left: its unfinished actions settled from the calendar
        (``journal_batch.settle``); the messages it held queued where their declines took
        effect, dropped where not."""
        owners = set(self.rules.owner.emails)
        settle(self.journal, snap, owners)
        held = self.journal.held()
        if not held:
            return []
        declined = declined_keys(snap, owners)  # a series declined at once: (uid, "") for the reply for it
        queued = []
        for m in held:
            if m.key.startswith("undo-"):  # an undo's reply: once the decline is off again
                ok = any(tuple(k) not in declined for k in m.depends)
            else:
                ok = any(tuple(k) in declined for k in m.depends)
            if ok:
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

    # -- messages: built from the plan's data -----------------------------------------------------
    def _message(self, m: Reply | Notify, p: Plan) -> PendingMessage:
        if isinstance(m, Reply):
            from boundaryd.delivery.imip import build_reply

            msg = build_reply(
                occ=m.occurrence, owner_email=m.owner_email, owner_name=m.owner_name, comment=m.comment, now=p.now,
                key=m.key, partstat=m.partstat,
            )
            return PendingMessage(m.key, "reply" if m.send else "reply-outbox", [list(k) for k in m.depends], [], msg.as_bytes())
        depends = [list(k) for k in m.depends]
        rows = [r.as_dict() for r in m.rows]
        told = {**_told(p), **{k: (how, why) for k, how, why in m.told}}
        if m.digest:
            tz = self.rules.tz
            payload = [
                dict(conflict_to_json(c, tz), key=k, told=told.get(c.occurrence.key))
                for c, k in zip(m.notice.conflicts, m.notice.keys, strict=True)
            ]
            return PendingMessage(m.key, "digest", depends, rows, json.dumps(payload).encode())
        notice = self.build_notice(m.notice.conflicts, p, m.key, told)
        return PendingMessage(m.key, "notice", depends, rows, notice.as_bytes())

    def build_notice(
        self, conflicts: Sequence[Conflict], p: Plan, key: str, told: dict[tuple[str, str], tuple[str, str]] | None = None
    ) -> EmailMessage:
        from boundaryd.delivery.notice import build_notice

        told = _told(p) if told is None else told
        return build_notice(rules=self.rules, conflicts=conflicts, blocks=p.blocks, now=p.now, key=key, told=told)

    # -- scheduled mail (the daemon calls these through App, with a plan made once) ------------
    def digest_waiting(self) -> bool:
        return bool(self.journal.digest_rows())

    def flush_digest(self, p: Plan) -> str | None:
        """One notice for the conflicts collected since the last digest; ``p`` draws the week."""
        rows = self.journal.digest_rows()
        if not rows:
            return None
        saved = [json.loads(payload) for _, payload in rows]
        conflicts = [conflict_from_json(d, self.rules.tz) for d in saved]
        told = {c.occurrence.key: (d["told"][0], d["told"][1]) for c, d in zip(conflicts, saved, strict=True) if d.get("told")}
        key = "digest-" + _key(*sorted(k for k, _ in rows))
        msg = self.build_notice(conflicts, p, key, told)
        self.outbox().put(key, msg)
        self.journal.clear_digest([k for k, _ in rows])
        self._deliver(SyncResult(plan=p, executed=False))
        return str(msg["Subject"])

    def weekly_preview(self, p: Plan) -> str:
        from boundaryd.delivery.notice import build_weekly_preview

        blocks, conflicts = p.week()
        key = "preview-" + _key(p.now.astimezone(self.rules.tz).date().isoformat())
        msg = build_weekly_preview(rules=self.rules, conflicts=conflicts, blocks=blocks, now=p.now, key=key)
        self.outbox().put(key, msg)
        self._deliver(SyncResult(plan=p, executed=False))
        return str(msg["Subject"])


#: the last :class:`Memory` read from each journal, with the journal's version then
_MEMORY: weakref.WeakKeyDictionary[Journal, tuple[tuple[int, int], Memory]] = weakref.WeakKeyDictionary()


def _told(p: Plan) -> dict[tuple[str, str], tuple[str, str]]:
    """How each of the plan's declines reaches its organizer: occurrence key -> (``Telling`` value, why)."""
    return {a.occurrence.key: (a.told.value, a.told_why) for a in p.actions if isinstance(a, Decline)}


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
