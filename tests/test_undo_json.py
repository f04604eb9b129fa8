"""``plan --json`` / ``sync --json`` list the undos an ``allow`` asks for: the event, its ref, the
answer set back and how the organizer is told."""

from __future__ import annotations

import json
from pathlib import Path

from clirun import NOW, calendar_of, invite, make_env
from test_sync import at


def test_undo_shows_in_plan_and_sync_json(tmp_path: Path) -> None:
    e = make_env(tmp_path, existing=True)
    e.calendar.write_bytes(calendar_of(invite("maybe@t", "Listing review", at(1, 9), partstat="TENTATIVE")))
    first = json.loads(e.run("sync", "--now", NOW, "--json").stdout)
    assert first["undos"] == []
    c = next(c for c in first["conflicts"] if c["event"] == "maybe@t")
    e.run("allow", c["ref"], "--now", NOW)

    planned = json.loads(e.run("plan", "--now", NOW, "--json").stdout)
    expected = [{"event": "maybe@t", "ref": c["ref"], "recurrence_id": None, "summary": "Listing review",
                 "start": c["start"], "answer": "TENTATIVE", "told": "outbox"}]
    assert planned["undos"] == expected
    done = json.loads(e.run("sync", "--now", NOW, "--json").stdout)
    assert done["undos"] == expected
    assert json.loads(e.run("plan", "--now", NOW, "--json").stdout)["undos"] == []  # done: not again
