"""Shared helpers for the core's tests: rules from YAML snippets, block instances, occurrences.

Plain functions first (importable as ``from conftest import ...``), fixtures at the end.
"""

from __future__ import annotations

import os
import textwrap
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import settings

from boundaryd.core.ical import block_events, expand_blocks
from boundaryd.core.model import Attendee, BlockInstance, Occurrence
from boundaryd.core.rules import Rules, load_rules_text

# The property tests and state machines run on a fixed sequence of examples, so a red CI run is a
# change's doing, never the dice. To hunt with fresh random examples:
# `HYPOTHESIS_PROFILE=explore make test-slow` (a find becomes a plain regression test).
settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

OWNER = "alice@example.com"
TORONTO = ZoneInfo("America/Toronto")


def rules_yaml(
    blocks: str,
    *,
    tz: str = "America/Toronto",
    owner: str = OWNER,
    horizon_days: int = 14,
    working_hours: str = '{days: weekdays, start: "08:00", end: "18:00"}',
    extra: str = "",
) -> str:
    """A whole rules file around ``blocks`` (YAML list items, any common indentation)."""
    head = textwrap.dedent(
        f"""\
        version: 1
        timezone: {tz}
        owner: {{name: Alice Agent, emails: [{owner}]}}
        horizon_days: {horizon_days}
        working_hours: {working_hours}
        """
    )
    return head + textwrap.dedent(extra) + "blocks:\n" + textwrap.indent(textwrap.dedent(blocks).strip("\n"), "  ") + "\n"


def make_rules(blocks: str, **kw: object) -> Rules:
    return load_rules_text(rules_yaml(blocks, **kw), "rules.yaml")  # type: ignore[arg-type]


def load_text(text: str, name: str = "rules.yaml") -> Rules:
    return load_rules_text(textwrap.dedent(text), name)


def instances(rules: Rules, start: datetime, end: datetime) -> list[BlockInstance]:
    """Block instances in ``[start, end)`` the way the planner gets them (written events, expanded)."""
    events = [e for b in rules.blocks for e in block_events(rules, b, anchor=start.astimezone(rules.tz).date())]
    return expand_blocks(rules, events, start, end)


def local(d: date, hh: int = 0, mm: int = 0, tz: ZoneInfo = TORONTO) -> datetime:
    return datetime.combine(d, time(hh, mm), tz)


def occurrence(
    uid: str,
    start: datetime,
    minutes: int = 60,
    *,
    summary: str = "Meeting",
    organizer: str = "bob@client.example",
    me: str | None = "NEEDS-ACTION",
    others: tuple[str, ...] = (),
    owner: str = OWNER,
    all_day: bool = False,
    **kw: object,
) -> Occurrence:
    """An invitation as the planner sees it. ``me`` is the owner's PARTSTAT (None: not invited)."""
    attendees: list[Attendee] = []
    if organizer:
        attendees.append(Attendee(organizer, "ACCEPTED"))
    attendees += [Attendee(o) for o in others]
    if me is not None:
        attendees.append(Attendee(owner, me))
    end = start + (timedelta(days=minutes // (24 * 60)) if all_day else timedelta(minutes=minutes))
    return Occurrence(
        uid=uid,
        recurrence_id=kw.pop("recurrence_id", None),  # type: ignore[arg-type]
        summary=summary,
        start=start,
        end=end,
        all_day=all_day,
        organizer=organizer,
        attendees=tuple(attendees),
        **kw,  # type: ignore[arg-type]
    )


# --- fixtures ---------------------------------------------------------------------------------
# The calendar contract's worlds; servers are session-wide, so they are defined here once.
from contract_graph import graph_session  # noqa: E402, F401
from contract_servers import (  # noqa: E402, F401
    cyrus_session,
    davical_session,
    google_session,
    radicale_session,
    sabredav_session,
    xandikos_session,
)
from contract_worlds import world  # noqa: E402, F401
