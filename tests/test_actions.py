"""The plan as typed actions: every decision is in it, with its trace, and the executor only carries it out."""

from __future__ import annotations

import ast
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from boundaryd.core.actions import Flag, Notify, RemoveBlock, Reply, Telling, WriteBlock
from boundaryd.core.model import Capabilities, Decision, Memory, OwnedEvent, Snapshot
from boundaryd.core.planner import block_instances, plan, reply_key, trace
from boundaryd.core.rules import Rules
from conftest import OWNER, TORONTO, local, make_rules, occurrence

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TORONTO)  # Monday 07:00
MON, TUE = date(2026, 11, 23), date(2026, 11, 24)
PACKAGE = Path(__file__).resolve().parent.parent / "daemon" / "boundaryd"

BLOCKS = """
- id: prospecting
  title: Prospecting calls
  kind: prospecting
  days: weekdays
  start: "08:30"
  end: "11:00"
  policy: decline
  allow: {people: ["*@bigclient.com"]}
- id: call-return
  title: Return calls
  kind: call-return
  days: weekdays
  times: ["11:30", "16:30"]
  duration: 30m
  policy: flag
"""


def rules(replies: str = "auto", digest: str = "immediate", smtp: bool = True) -> Rules:
    server = ", smtp: {host: 127.0.0.1, port: 2525, security: none}" if smtp else ""
    notify = f"notify:\n  email: {{to: {OWNER}, from: boundaryd@example.com{server}}}\n  replies: {replies}\n  digest: {digest}\n"
    return make_rules(BLOCKS, extra=notify)


def snapshot(capabilities: Capabilities = Capabilities()) -> Snapshot:  # noqa: B008 - frozen
    return Snapshot(
        (
            occurrence("decline@t", local(TUE, 9), 60),
            occurrence("flag@t", local(TUE, 11, 30), 30),
            occurrence("allow@t", local(TUE, 9, 30), 30, organizer="pat@bigclient.com"),
            occurrence("bad@t", local(MON, 9), 60, organizer="not an address"),
        ),
        capabilities=capabilities,
    )


def test_a_plan_holds_every_action_in_order_and_the_json_views_come_from_them() -> None:
    p = plan(rules(), snapshot(), NOW)
    kinds = [type(a).__name__ for a in p.actions]
    first_decline = kinds.index("Decline")
    # held offers journaled first, then blocks (and the held events), then declines, flags, messages
    assert kinds[0] == "RememberOwned" and set(kinds[1:first_decline]) == {"WriteBlock"}
    assert kinds[first_decline:] == ["Decline", "Decline", "Flag", "Reply", "Notify"]
    assert p.calendar_changes == tuple(a for a in p.actions if isinstance(a, WriteBlock))
    assert [d.occurrence.uid for d in p.decline_actions] == ["bad@t", "decline@t"]
    assert [f.occurrence.uid for f in p.flag_actions] == ["flag@t"]
    (notify,) = [a for a in p.actions if isinstance(a, Notify)]
    assert p.notices == (notify.notice,) and notify.notice.subject == "boundaryd: 2 declined, 1 flagged, 1 allowed"
    assert [r.key for r in notify.rows] == list(notify.notice.keys) and not notify.digest
    assert sorted(notify.depends) == sorted(d.occurrence.key for d in p.decline_actions)


@pytest.mark.parametrize(
    ("replies", "tells", "told", "reply"),
    [
        ("auto", False, Telling.REPLY, True),
        ("auto", True, Telling.SERVER, False),
        ("outbox", False, Telling.OUTBOX, True),
        ("outbox", True, Telling.OUTBOX, True),
        ("off", False, Telling.NOBODY, False),
        ("off", True, Telling.SERVER, False),
    ],
)
def test_how_the_organizer_is_told_is_decided_by_the_planner(replies: str, tells: bool, told: Telling, reply: bool) -> None:
    p = plan(rules(replies), snapshot(Capabilities(tells_organizer=tells)), NOW)
    by_uid = {d.occurrence.uid: d for d in p.decline_actions}
    good = by_uid["decline@t"]
    assert good.told is told and good.told_why
    replies_made = [a for a in p.actions if isinstance(a, Reply)]
    if reply:
        (r,) = replies_made
        assert r.key == good.reply == reply_key(good.conflict) and r.occurrence == good.occurrence
        assert r.send is (replies == "auto") and r.comment == good.message and r.owner_email == OWNER
        assert r.depends == (good.occurrence.key,)
    else:
        assert replies_made == [] and good.reply is None
    bad = by_uid["bad@t"]  # an organizer no reply can reach: the server, or nobody, and why
    assert bad.reply is None
    if replies != "off" and not (replies == "auto" and tells):
        assert bad.told is (Telling.SERVER if tells else Telling.NOBODY)
        assert tells or bad.told_why.endswith("is not usable")


def test_without_smtp_a_reply_waits_in_the_outbox_and_the_plan_says_so() -> None:
    p = plan(rules(smtp=False), snapshot(), NOW)
    good = next(d for d in p.decline_actions if d.occurrence.uid == "decline@t")
    assert good.told is Telling.OUTBOX and "no SMTP" in good.told_why
    (r,) = [a for a in p.actions if isinstance(a, Reply)]
    assert r.send  # as before: queued to send, and kept for the owner while nothing can send it


def test_the_journals_memory_keeps_replies_notices_and_refused_declines_from_repeating() -> None:
    r = rules()
    first = plan(r, snapshot(), NOW)
    reply = next(a for a in first.actions if isinstance(a, Reply))
    notify = next(a for a in first.actions if isinstance(a, Notify))
    refused = ("bad@t", "")
    memory = Memory(notified=notify.notice.keys, messages={reply.key, notify.key}, refused={refused})
    again = plan(r, snapshot(), NOW, memory)
    assert not [a for a in again.actions if isinstance(a, (Reply, Notify))]
    assert [d.occurrence.key for d in again.decline_actions] == [("decline@t", "")]
    assert len(again.declines) == 2  # the refused one is still reported as decided
    assert next(d for d in again.decline_actions).reply == reply.key  # told by the reply made before


def test_a_digest_collects_rows_instead_of_a_notice() -> None:
    p = plan(rules(digest="hourly"), snapshot(), NOW)
    (notify,) = [a for a in p.actions if isinstance(a, Notify)]
    assert notify.digest and notify.key.startswith("notice-") and "digest" in notify.trace.steps[0]


def test_each_action_carries_its_trace() -> None:
    owned = (OwnedEvent("gone@boundaryd", "gone", "x"),)
    p = plan(rules(), Snapshot(snapshot().occurrences, owned), NOW)
    remove = next(a for a in p.actions if isinstance(a, RemoveBlock))
    assert remove.op == "delete" and remove.trace.steps == ("block gone is no longer in the rules",)
    assert all(a.trace.steps for a in p.calendar_changes)
    decline = next(a for a in p.decline_actions if a.occurrence.uid == "decline@t")
    (verdict,) = decline.trace.verdicts
    assert (verdict.block, verdict.policy, verdict.decision) == ("prospecting", "decline", Decision.DECLINE)
    assert verdict.reason == "lands on Prospecting calls (policy decline)"
    assert decline.trace.steps[-1].startswith("organizer told: reply")
    flag = next(a for a in p.actions if isinstance(a, Flag))
    assert flag.trace.verdicts[0].decision is Decision.FLAG
    # the same trace, asked for one occurrence (what `why` does for one the plan skips)
    assert trace(rules(), decline.occurrence, p.blocks, Memory()) == decline.conflict.trace


def test_block_instances_is_the_one_expansion_check_and_the_plan_share() -> None:
    r = rules()
    p = plan(r, Snapshot(()), NOW)
    week_blocks, week_conflicts = p.week()
    assert week_conflicts == ()
    mine = block_instances(r, p.now, p.now + timedelta(days=7), anchor=p.now.date())
    assert tuple(mine) == week_blocks


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_the_executor_decides_nothing() -> None:
    """It imports no planner, rule or address-checking code and reads no environment switch."""
    source = (PACKAGE / "engine" / "executor.py").read_text(encoding="utf-8")
    found = _imports(PACKAGE / "engine" / "executor.py")
    assert not found & {"boundaryd.core.planner", "boundaryd.core.tell", "boundaryd.core.addresses", "boundaryd.core.slots"}
    assert "boundaryd.core.rules" not in found or "if TYPE_CHECKING" in source  # the type only
    assert "os.environ" not in source and "reply_problem" not in source and ".notify.replies" not in source
    # the backend's capabilities reach the planner with the snapshot, as data: the executor reads none
    assert "tells_organizer" not in source and "capabilities" not in source


def test_why_reads_the_planners_public_trace() -> None:
    tree = ast.parse((PACKAGE / "core" / "explain.py").read_text(encoding="utf-8"))
    names = {
        a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module == "boundaryd.core.planner"
        for a in n.names
    }
    assert names and not any(n.startswith("_") for n in names)
