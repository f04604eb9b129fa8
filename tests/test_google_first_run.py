"""Whole syncs on Google (App -> planner -> executor -> GoogleBackend): a standing conflict flagged
once and declined as a series with ``decline --series``, then undone by ``allow``; Google tells the
organizer both times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boundaryd.engine.journal import Journal
from test_google_sync import ALICE, TZ, invitation, sync, world  # noqa: F401 - world is a fixture


def answer(google: Any, event_id: str) -> str:
    ev = google.get_event(event_id)
    return str(next(a for a in ev["attendees"] if a["email"] == ALICE)["responseStatus"])


def test_standing_conflict_declined_as_a_series_then_undone(world: dict[str, Any]) -> None:  # noqa: F811
    google = world["google"]
    rules = world["write_rules"]()
    series = google.add_event(invitation("Weekly pipeline", datetime(2026, 11, 24, 9, 0, tzinfo=TZ), 30,
                                         recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"]))
    first = sync(world, rules)
    weekly = [c for c in first.plan.conflicts if c.occurrence.summary == "Weekly pipeline"]
    assert len(weekly) == 2 and all(c.series and c.decision.value == "flag" for c in weekly)
    assert first.declined == 0 and not google.notifications and first.queued == ["boundaryd: 1 flagged"]

    journal = Journal(world["state"] / "journal.sqlite3")
    journal.add_decline_request(weekly[0].occurrence.uid, "")  # boundaryd decline REF --series
    second = sync(world, rules, 1)
    assert [d.occurrence.recurrence_id for d in second.plan.decline_actions] == [None]
    assert answer(google, series["id"]) == "declined"
    assert [n["event"] for n in google.notifications] == [series["id"]]  # one word to the organizer
    quiet = sync(world, rules, 2)
    assert not quiet.plan.decline_actions and len(google.notifications) == 1  # declined once, not again

    journal.add_allow(weekly[0].occurrence.uid, None)  # boundaryd allow REF
    third = sync(world, rules, 3)
    assert [u.partstat for u in third.plan.undo_actions] == ["NEEDS-ACTION"]
    assert answer(google, series["id"]) == "needsAction"
    assert [n["responseStatus"] for n in google.notifications] == ["declined", "needsAction"]
    assert journal.declined() == {}
    journal.close()
