"""``boundaryd demo``: Alice's week shows each capability, and says so truthfully.

One demo run (module fixture) is checked from the outside: what it printed, the calendar file it
left (the owned events), ``plan --json`` and ``report --json`` on its directory, and its outbox.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import icalendar
import pytest

from clirun import Env, make_env

DEMO_NOW = "2026-11-20T09:00:00-05:00"  # a Friday: the demo week is Mon Nov 23 – Sun Nov 29


class Demo:
    def __init__(self, env: Env, d: Path, out: str) -> None:
        self.env, self.dir, self.out = env, d, out

    def cli(self, *args: str, now: bool = True) -> str:
        base = ("--rules", str(self.dir / "rules.yaml"), "--state", str(self.dir / "state"))
        return self.env.run(*base, *args, *(("--now", DEMO_NOW) if now else ())).stdout

    def owned(self, prop: str) -> list[icalendar.Event]:
        cal = icalendar.Calendar.from_ical((self.dir / "calendar.ics").read_bytes())
        return sorted((ev for ev in cal.walk("VEVENT") if prop in ev), key=lambda ev: str(ev.decoded("DTSTART")))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    tmp = tmp_path_factory.mktemp("demo")
    env = make_env(tmp)
    out = env.run("demo", "--dir", str(tmp / "d"), "--now", DEMO_NOW).stdout
    return Demo(env, tmp / "d", out)


def _at(ev: icalendar.Event) -> str:
    s = ev.decoded("DTSTART")
    e = ev.decoded("DTEND") if "DTEND" in ev else s + ev.decoded("DURATION")
    return f"{s:%a %H:%M}-{e:%H:%M}"


def _conflict(demo: Demo, uid: str) -> dict[str, Any]:
    plan = json.loads(demo.cli("plan", "--json"))
    found: dict[str, Any] = next(c for c in plan["conflicts"] if c["event"] == uid)
    return found


def _partstat(demo: Demo, uid: str) -> str:
    cal = icalendar.Calendar.from_ical((demo.dir / "calendar.ics").read_bytes())
    ev = next(ev for ev in cal.walk("VEVENT") if str(ev["UID"]) == uid)
    alice = next(a for a in ev.get("ATTENDEE") if str(a).lower() == "mailto:alice@example.com")
    return str(alice.params["PARTSTAT"])


def test_a_new_lead_goes_through_prospecting_and_alice_is_told(demo: Demo) -> None:
    lead = _conflict(demo, "new-lead@demo.boundaryd")
    assert (lead["block"], lead["decision"]) == ("prospecting", "allow") and "new lead" in lead["reason"]
    for known in ("listing-review", "dinner"):  # met at the breakfast: not leads, so declined
        assert _partstat(demo, f"{known}@demo.boundaryd") == "DECLINED"
    notice = "New lead Casey Newman (casey@newmail.example) asked for Tue, Nov 24, 9:00 AM"
    assert notice in demo.cli("notices", now=False)
    assert "A new lead: Casey Newman, whom Alice has never met, went through Prospecting calls" in demo.out
    assert notice in demo.out


def test_a_vip_over_prospecting_is_made_up_the_same_week(demo: Demo) -> None:
    vip = _conflict(demo, "vip@demo.boundaryd")
    assert (vip["decision"], vip["reason"]) == ("allow", "organizer matches *@bigclient.com")
    makeups = [_at(ev) for ev in demo.owned("X-BOUNDARYD-MAKEUP") if ev.decoded("DTSTART").day in range(23, 30)]
    assert makeups == ["Mon 08:00-08:30", "Mon 14:00-16:30"]
    ledger = json.loads(demo.cli("report", "--json", "--week", "2026-11-23"))
    pros = next(b for b in ledger["blocks"] if b["block"] == "prospecting")
    assert (pros["target_minutes"], pros["lost_minutes"], pros["made_up_minutes"]) == (750, 180, 180)
    assert "A VIP: Pat Director took 1h of Prospecting calls (organizer matches *@bigclient.com)." in demo.out
    assert "week (3h): Mon Nov 23 08:00–08:30, Mon Nov 23 14:00–16:30" in demo.out


def test_the_workout_moves_away_from_a_meeting_it_lets_through(demo: Demo) -> None:
    moved = demo.owned("X-BOUNDARYD-FLEX")
    assert [(_at(ev), str(ev["SUMMARY"])) for ev in moved] == [("Wed 06:00-07:00", "Workout")]
    series = next(ev for ev in demo.owned("X-BOUNDARYD-BLOCK") if str(ev["X-BOUNDARYD-BLOCK"]) == "workout")
    exdates = [d.dt for x in ([series["EXDATE"]] if not isinstance(series["EXDATE"], list) else series["EXDATE"]) for d in x.dts]
    assert [f"{d:%Y-%m-%d %H:%M}" for d in exdates] == ["2026-11-25 06:30"]
    assert "Workout on Wed Nov 25 moved to 06:00–07:00 (flexible:)" in demo.out and '"Dentist"' in demo.out


def test_declines_offer_slots_that_are_held(demo: Demo) -> None:
    assert _partstat(demo, "listing-review@demo.boundaryd") == "DECLINED"
    assert "Listing review from Dana Buyer\n" in demo.out and "offered: Mon Nov 23 12:00, Tue Nov 24 15:30\n" in demo.out
    held = [ev for ev in demo.owned("X-BOUNDARYD-HOLD") if str(ev["SUMMARY"]) == "Held for Dana Buyer: Listing review"]
    assert [f"{ev.decoded('DTSTART'):%b %d %H:%M}" for ev in held] == ["Nov 23 12:00", "Nov 24 15:30"]
    assert all(str(ev["CLASS"]) == "PRIVATE" and str(ev["TRANSP"]) == "OPAQUE" for ev in held)
    assert len(demo.owned("X-BOUNDARYD-HOLD")) == 6  # two for each of the three declines
    assert "Held offers: the 6 slots the declines offered are held on her calendar" in demo.out


def test_the_output_is_short_says_where_things_are_and_ends_with_the_ledger(demo: Demo) -> None:
    head, _, ledger = demo.out.partition("Her week's ledger")
    for where in ("Calendar: ", "Rules:    ", "Outbox:   "):
        assert where + str(demo.dir) in head
    assert "Declined (3)" in head and "Flagged (4)" in head and "Allowed (3)" in head
    assert "why new-lead@demo.boundaryd" in head
    assert "2 notice(s) to Alice and 3 iCalendar REPLY(s) to declined organizers" in head
    assert len(head.splitlines()) <= 60 and len(ledger.splitlines()) < 30
    assert "Prospecting calls  12h 30m  12h 30m  9h 30m  3h    3h" in ledger


def test_a_second_run_starts_afresh_and_a_sync_after_it_writes_nothing(demo: Demo) -> None:
    again = demo.cli("sync")
    assert "Calendar events: up to date" in again
    before = sorted(_at(ev) + str(ev["SUMMARY"]) for ev in demo.owned("X-BOUNDARYD-BLOCK"))
    rerun = demo.env.run("demo", "--dir", str(demo.dir), "--now", DEMO_NOW).stdout
    assert rerun == demo.out  # the same calendar, rules and an empty journal: the same week
    assert sorted(_at(ev) + str(ev["SUMMARY"]) for ev in demo.owned("X-BOUNDARYD-BLOCK")) == before
