"""A calendar and journal held in memory for planner tests over several syncs (holds, make-up, flexible)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import icalendar

from boundaryd.core.actions import RememberOwned, RemoveBlock, WriteBlock
from boundaryd.core.ical_owned import is_block
from boundaryd.core.model import BusyEvent, Hold, LedgerRow, Memory, Occurrence, OwnedEvent, Plan, Snapshot
from boundaryd.core.planner import plan
from boundaryd.core.rules import Rules


@dataclass
class World:
    """Meetings plus the owned single events a plan writes (blocks are kept as owned, not expanded)."""

    rules: Rules
    meetings: list[Occurrence]
    owned: dict[str, tuple[OwnedEvent, Occurrence | None]] = field(default_factory=dict)
    holds: dict[str, Hold] = field(default_factory=dict)
    ledger: dict[tuple[str, str], LedgerRow] = field(default_factory=dict)
    #: the busy_from calendars' events (``Snapshot.busy``)
    busy: list[BusyEvent] = field(default_factory=list)

    def plan(self, now: datetime) -> Plan:
        occs = [*(m for m in self.meetings if m.start >= now), *(o for _, o in self.owned.values() if o is not None and o.start >= now)]
        snap = Snapshot(tuple(occs), tuple(e for e, _ in self.owned.values()), busy=tuple(self.busy))
        return plan(self.rules, snap, now, Memory(holds=tuple(self.holds.values()), ledger=tuple(self.ledger.values())))

    def sync(self, now: datetime) -> Plan:
        p = self.plan(now)
        for a in p.actions:
            if isinstance(a, RememberOwned):
                for h in a.holds:
                    self.holds.setdefault(h.key, h)
                for k in a.released:
                    self.holds.pop(k, None)
                for kk in a.forgotten:
                    self.ledger.pop(kk, None)
                for r in a.ledger:
                    self.ledger[(r.kind, r.key)] = r
            elif isinstance(a, RemoveBlock):
                self.owned.pop(a.uid)
            elif isinstance(a, WriteBlock):
                ev = a.event
                self.owned[ev.uid] = (OwnedEvent(ev.uid, ev.block, ev.fingerprint), None if is_block(ev.block) else _occ(ev.ical, ev.block, self.rules))
        return p

    def owned_of(self, role: str) -> list[Occurrence]:
        return sorted((o for _, o in self.owned.values() if o is not None and o.owned_block and o.owned_block.startswith(role + ":")), key=lambda o: o.start)

    def replace_meeting(self, uid: str, **changes: object) -> None:
        self.meetings = [replace(m, **changes) if m.uid == uid else m for m in self.meetings]  # type: ignore[arg-type]


def _occ(ical: str, tag: str, rules: Rules) -> Occurrence:
    ev = icalendar.Event.from_ical(ical)
    start = ev["DTSTART"].dt
    end = (start.astimezone(timezone.utc) + ev["DURATION"].dt).astimezone(rules.tz)
    return Occurrence(uid=str(ev["UID"]), recurrence_id=None, summary=str(ev["SUMMARY"]), start=start.astimezone(rules.tz), end=end, owned_block=tag)


def minutes(o: Occurrence) -> int:
    return int((o.end.astimezone(timezone.utc) - o.start.astimezone(timezone.utc)).total_seconds()) // 60
