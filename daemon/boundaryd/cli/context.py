"""What every command shares: the options object, the clock stand-in, the common options.

Light on purpose: `boundaryd --help` imports this and click only.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from boundaryd.errors import BadInput
from boundaryd.paths import default_rules_path, default_state_dir

if TYPE_CHECKING:
    from boundaryd.core.rules import Rules
    from boundaryd.engine.app import App


def load_rules(path: Path) -> Rules:
    from boundaryd.core.rules import load_rules as load

    return load(path)


def now_in(rules: Rules, now: datetime | None) -> datetime:
    """``--now`` or the clock, in the rules' zone (loaded with the rules, never before them)."""
    from boundaryd.core.rules import now_in as local_now

    return local_now(rules, now)


class Obj:
    def __init__(self, rules: Path | None, state: Path | None, verbosity: int) -> None:
        self.rules_path = rules or default_rules_path()
        self.state_dir = state or default_state_dir()
        self.verbosity = verbosity
        self._app: App | None = None

    def app(self, calendar: str | None = None) -> App:
        if self._app is None or calendar:
            from boundaryd.engine.app import App

            self._app = App(self.rules_path, self.state_dir, calendar)
        return self._app


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"--now {value}: not an ISO 8601 date-time (e.g. 2026-11-23T07:00:00-05:00)") from None
    if t.tzinfo is None:
        raise BadInput(f"--now {value}: give an offset (e.g. 2026-11-23T07:00:00-05:00)")
    return t


_now_opt = click.option("--now", "now", metavar="ISO", help="stand-in for the clock (ISO 8601 with offset)")
_cal_opt = click.option("--calendar", "calendar", metavar="URI", help="ics:PATH, caldav:URL, google:CALENDAR_ID or microsoft:CALENDAR")
_json_opt = click.option("--json", "as_json", is_flag=True, help="print one JSON object")
