"""Who is told what: how each decline reaches its organizer, the replies to send, the owner's notice.

Pure, part of the planner. The keys made here are what makes every message unique: the same key
is the same message, so a sync run again (after a crash, or with nothing new) sends nothing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

from boundaryd.core.actions import Decline, NotifiedRow, Notify, Reply, Telling, Undo
from boundaryd.core.addresses import reply_problem
from boundaryd.core.model import (
    BlockInstance,
    Capabilities,
    Conflict,
    Decision,
    Memory,
    Notice,
    Occurrence,
    Trace,
    counts_text,
)
from boundaryd.core.rules import Rules
from boundaryd.presentation.reply import problem_words


def _key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def reply_key(c: Conflict) -> str:
    """What makes a reply unique: the occurrence, its times and its organizer (a series: one reply)."""
    o = c.occurrence
    if c.series:
        return "reply-" + _key(o.uid, "series", o.organizer)
    return "reply-" + _key(o.uid, o.key[1], o.start.isoformat(), o.end.isoformat(), o.organizer)


def notice_key(c: Conflict) -> str:
    """What makes a notified conflict unique: event, occurrence, block, decision and times
    (a standing conflict: the series, its block and decision, notified once)."""
    o = c.occurrence
    if c.series:
        return hashlib.sha256("|".join([o.uid, "series", c.block, c.decision.value]).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    raw = "|".join([o.uid, o.key[1], c.block, c.decision.value, o.start.isoformat(), o.end.isoformat()])
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def once_per_series(conflicts: Sequence[Conflict]) -> list[Conflict]:
    """A standing conflict stands for its series: its first occurrence only, the others dropped."""
    seen: set[str] = set()
    out = []
    for c in conflicts:
        if c.series:
            if c.occurrence.uid in seen:
                continue
            seen.add(c.occurrence.uid)
        out.append(c)
    return out


def owner_answer_of(occ: Occurrence, rules: Rules) -> str | None:
    owners = rules.owner.emails
    return next((a.partstat for a in occ.attendees if a.email in owners), None)


def telling(rules: Rules, occ: Occurrence, caps: Capabilities) -> tuple[Telling, str]:
    """How the organizer of ``occ`` learns of its decline, and that in words."""
    mode = rules.notify.replies
    tells = caps.tells_organizer
    if mode == "auto" and tells and (caps.decline_comment or reply_problem(occ)):
        return Telling.SERVER, "the calendar server tells organizers"
    if mode == "off":
        return (Telling.SERVER, "the calendar server tells organizers") if tells else (Telling.NOBODY, "replies: off")
    problem = reply_problem(occ)
    if problem:
        return (Telling.SERVER, "the calendar server tells organizers") if tells else (Telling.NOBODY, problem_words(problem, occ))
    if mode == "outbox":
        return Telling.OUTBOX, "replies: outbox, kept for you to send" + (" (the server tells them too)" if tells else "")
    dropped = mode == "auto" and tells  # here the server tells them, without the message (decline_comment)
    widened = WIDENS if dropped and occ.recurrence_id is not None and not caps.instance_replies else ""
    if rules.notify.email is None or rules.notify.email.smtp is None:
        if dropped:
            return Telling.OUTBOX, DROPS_COMMENT + widened + ": the reply with it waits in the outbox for you to send"
        return Telling.OUTBOX, "no SMTP server configured: the reply waits in the outbox for you to send"
    if dropped:
        return Telling.REPLY, DROPS_COMMENT + widened + ": reply sent by email"
    return Telling.REPLY, "boundaryd sends them an iTIP REPLY"


DROPS_COMMENT = "told by the server, which drops your message"
WIDENS = " and tells them you declined the whole series (the reply by email names this one occurrence)"
UNDELIVERED = "the server could not deliver"


def delivery_failed(occ: Occurrence, owners: Sequence[str]) -> str:
    """The SCHEDULE-STATUS code (RFC 6638 3.2.9) saying a scheduling server did not deliver the owner's
    reply: 3.x (e.g. 3.7, an address it cannot reach) or 5.x, on ORGANIZER or the owner's ATTENDEE; "" when none does."""
    statuses = [occ.schedule_status, *(a.schedule_status for a in occ.attendees if a.email in owners)]
    return next((c for st in statuses for c in st.split(",") if c.strip().startswith(("3.", "5."))), "")


def _not_delivered(rules: Rules, o: Occurrence, memory: Memory) -> str:
    """The failing SCHEDULE-STATUS of a decline of ``o`` boundaryd left to the server, where
    boundaryd replies instead (``replies: auto``, an organizer to reply to); "" otherwise."""
    if rules.notify.replies != "auto" or memory.declined.get(o.key, ("", ""))[1] != Telling.SERVER.value:
        return ""
    if owner_answer_of(o, rules) != "DECLINED" or reply_problem(o):
        return ""
    return delivery_failed(o, rules.owner.emails)


def undelivered(
    rules: Rules, occurrences: Sequence[Occurrence], memory: Memory, blocks: Sequence[BlockInstance] = ()
) -> tuple[list[Reply], Notify | None]:
    """The iMIP REPLY for each decline boundaryd left to the server that the server then did not
    deliver (its SCHEDULE-STATUS read back): sent once (the key), with the message the decline stored;
    and a notice that says so (the one that reported the decline said the server told them)."""
    owners = rules.owner.emails
    known = set(memory.messages)
    smtp = rules.notify.email is not None and rules.notify.email.smtp is not None
    out: list[Reply] = []
    shown: list[Conflict] = []
    told: list[tuple[tuple[str, str], str, str]] = []
    server = Telling.SERVER.value
    left = {k for k, (_, how) in memory.declined.items() if how == server}  # declines left to the server
    for o in occurrences if left and rules.notify.replies == "auto" else ():
        if o.key not in left:
            continue
        code = _not_delivered(rules, o, memory)
        if not code:
            continue
        key = "reply-" + _key(o.uid, o.key[1], "undelivered", o.organizer)
        if key in known:
            continue
        owner = next(a.email for a in o.attendees if a.email in set(owners))
        how = "reply sent by email" if smtp else "the reply waits in the outbox for you to send"
        why = f"{UNDELIVERED} (SCHEDULE-STATUS {code}): {how}"
        trace = Trace(steps=(f"declined: {why}",))
        out.append(Reply(key, o, o.comment, owner, rules.owner.name, True, trace))
        hit = [b.block for b in blocks if b.start < o.end and b.end > o.start and (b.all_day or not o.all_day)]
        shown.append(Conflict(o, hit[0] if hit else "", tuple(dict.fromkeys(hit)), Decision.DECLINE,
                              f"{UNDELIVERED} your decline", o.comment, trace=trace, ref=memory.refs.get(o.key, "")))
        told.append((o.key, (Telling.REPLY if smtp else Telling.OUTBOX).value, why))
    if not out:
        return out, None
    notice = Notice(to=rules.notify_to, subject=f"boundaryd: {len(out):,} decline(s) {UNDELIVERED}: "
                    + ("replied by email" if smtp else "replies in your outbox"),
                    conflicts=tuple(shown), keys=tuple(r.key for r in out))
    nkey = "notice-" + _key("undelivered", *sorted(r.key for r in out))
    return out, Notify(nkey, notice, (), tuple(c.occurrence.key for c in shown), rules.notify.digest != "immediate",
                       Trace(steps=(f"{len(out)} decline(s) the server could not deliver",)), tuple(told))


def declines(
    rules: Rules, conflicts: Sequence[Conflict], memory: Memory, caps: Capabilities
) -> tuple[list[Decline], list[Reply]]:
    """A decline for each conflict decided so (but those a server refused for good), and the
    replies not made before that tell their organizers (as before: also for a refused one)."""
    refused = set(memory.refused)
    known = set(memory.messages)
    owners = rules.owner.emails
    out: list[Decline] = []
    replies: list[Reply] = []
    for c in once_per_series(conflicts):
        if c.decision is not Decision.DECLINE:
            continue
        if c.series:  # the whole series, with one reply: the owner's answer on the series itself
            c = replace(c, occurrence=replace(c.occurrence, recurrence_id=None))
        o = c.occurrence
        told, why = telling(rules, o, caps)
        key = reply_key(c) if told in (Telling.REPLY, Telling.OUTBOX) else None
        if o.key not in refused:  # a server refused it for good: reported once, not tried again
            proposed = c.alternatives[0] if caps.proposed_new_time and c.alternatives and not o.all_day else None
            out.append(Decline(c, told, why, key, owner_answer_of(o, rules) or "NEEDS-ACTION", proposed))
        if key is None or key in known:
            continue
        owner = next((a.email for a in o.attendees if a.email in set(owners)), owners[0])
        trace = Trace(steps=(f"declined: {why}",))
        send = rules.notify.replies == "auto"  # handed to the mail transport, when there is one
        replies.append(Reply(key, o, c.message, owner, rules.owner.name, send, trace))
    return out, replies


def notify(rules: Rules, conflicts: Sequence[Conflict], memory: Memory) -> Notify | None:
    """One notice for the conflicts not notified before (when a decline or a flag is among them)."""
    notified = set(memory.notified)
    keyed = [(c, notice_key(c)) for c in once_per_series(conflicts)]
    new = [(c, k) for c, k in keyed if c.decision in (Decision.DECLINE, Decision.FLAG) and k not in notified]
    if not new:
        return None
    shown = new + [(c, k) for c, k in keyed if c.decision is Decision.ALLOW and k not in notified]
    cs = tuple(c for c, _ in shown)
    keys = tuple(k for _, k in shown)
    subject = "boundaryd: " + counts_text(c.decision for c in cs)  # as the notice itself says
    notice = Notice(to=rules.notify_to, subject=subject, conflicts=cs, keys=keys)
    rows = tuple(
        NotifiedRow(k, c.occurrence.uid, c.occurrence.key[1], c.block, c.decision.value,
                    c.occurrence.start.isoformat(), c.occurrence.end.isoformat())
        for c, k in shown
    )
    depends = tuple(
        (c.occurrence.uid, "") if c.series else c.occurrence.key for c in cs if c.decision is Decision.DECLINE
    )
    digest = rules.notify.digest != "immediate"
    trace = Trace(steps=(f"{len(cs)} conflict(s) not notified before" + (", for the next digest" if digest else ""),))
    return Notify("notice-" + _key(*sorted(keys)), notice, rows, depends, digest, trace)


def undos(rules: Rules, occurrences: Sequence[Occurrence], memory: Memory) -> tuple[list[Undo], list[Reply]]:
    """``allow`` on an occurrence (or series) boundaryd declined: the owner's answer set back to what
    it was, told the way the decline was (a REPLY with that answer where boundaryd sent the decline's)."""
    owners = rules.owner.emails
    known = set(memory.messages)
    out: list[Undo] = []
    replies: list[Reply] = []
    seen: set[tuple[str, str]] = set()
    for o in occurrences:
        whole = o.recurrence_id is not None and (o.uid, "") in memory.declined  # the series' answer (its instances may not show it yet)
        if (owner_answer_of(o, rules) != "DECLINED" and not whole) or not any(a.covers(o) for a in memory.allowed):
            continue
        key = o.key if o.key in memory.declined else (o.uid, "")
        if key not in memory.declined or key in seen:
            continue
        seen.add(key)
        target = o if key == o.key else replace(o, recurrence_id=None)
        previous, how = memory.declined[key]
        told = Telling(how)
        if told is Telling.SERVER and _not_delivered(rules, o, memory):  # the decline went by our reply: so does its undo
            told = Telling.REPLY
        rkey = None
        if told in (Telling.REPLY, Telling.OUTBOX):
            rkey = "undo-" + _key(o.uid, key[1], previous, target.start.isoformat())
        trace = Trace(steps=(f"declined by boundaryd, now allowed: the answer goes back to {previous}",))
        out.append(Undo(target, previous, told, trace, rkey, memory.refs.get(key, "")))
        if rkey is not None and rkey not in known:
            owner = next((a.email for a in o.attendees if a.email in set(owners)), owners[0])
            replies.append(Reply(rkey, target, "", owner, rules.owner.name, told is Telling.REPLY, trace, previous))
    return out, replies
