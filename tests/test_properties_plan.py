"""Properties of the planner over random rules, zones (daylight-saving ones too) and calendars.

Through the public ``plan()`` and what a Plan keeps (``conflicts``, ``blocks``): the decision on an
occurrence is the strictest any one of its blocks gives it (SPEC "The strictest across blocks
wins"), and alternatives lie in working hours, after the meeting's start, inside the window, and
overlap no block instance, no busy event and no other alternative offered.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from boundaryd.core.ical import block_events, expand_blocks
from boundaryd.core.model import Attendee, Conflict, Decision, Occurrence, Plan, Snapshot
from boundaryd.core.planner import plan
from boundaryd.core.rules import Rules
from test_properties import CHANGE_DAYS, OWNER, ZONES, BlockSpec, block_sets, load, rules_data

PEOPLE = ["bob@client.example", "x@bigclient.com", "boss@example.com", "carol@example.com"]
PROP = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def planned_rules(draw: st.DrawFn) -> Rules:
    """Random blocks with random policies and allow lists, random working hours, a short horizon."""
    specs: list[BlockSpec] = draw(block_sets(max_blocks=4))
    for s in specs:
        s.entry.pop("since", None)  # a block that starts later is the reader's test; here, conflicts
        s.entry["policy"] = draw(st.sampled_from(["decline", "decline", "decline", "flag", "keep"]))
        if draw(st.integers(0, 3)) == 0:
            s.entry["allow"] = {"people": ["*@bigclient.com"], "keywords": ["urgent"]}
    if len(specs) > 1 and draw(st.booleans()):  # a second block at the first one's times, under its own policy
        timing = ("days", "rrule", "start", "end", "duration", "times", "all_day")
        for key in timing:
            specs[1].entry.pop(key, None)
        specs[1].entry.update({k: v for k, v in specs[0].entry.items() if k in timing})
    q0 = draw(st.integers(0, 80))
    q1 = draw(st.integers(q0 + 4, 96))
    wh = {
        "days": draw(st.sampled_from(["weekdays", "daily", ["mon", "wed", "sat"]])),
        "start": f"{q0 // 4:02d}:{15 * (q0 % 4):02d}",
        "end": "23:59" if q1 == 96 else f"{q1 // 4:02d}:{15 * (q1 % 4):02d}",
    }
    extra = {"working_hours": wh, "horizon_days": draw(st.integers(2, 7))}
    extra["defaults"] = {"decline_accepted": draw(st.booleans())}
    return load(rules_data(draw(st.sampled_from(ZONES)), specs, [], **extra))


@st.composite
def calendars(draw: st.DrawFn, rules: Rules, now: datetime) -> list[Occurrence]:
    """Three to twelve occurrences in and around the window, most of them on or next to a block instance."""
    tz = rules.tz
    end_of_window = now + timedelta(days=rules.horizon_days)
    instances = [
        b
        for b in expand_blocks(rules, [e for x in rules.blocks for e in block_events(rules, x, now.date())], now, end_of_window)
        if b.start >= now - timedelta(hours=2)
    ]
    out = []
    for i in range(draw(st.integers(3, 12))):
        all_day = draw(st.integers(0, 5)) == 5
        if instances and draw(st.integers(0, 3)) > 0:  # on a block instance, or just before or after it
            start = draw(st.sampled_from(instances)).start + timedelta(minutes=15 * draw(st.integers(-4, 4)))
        else:
            start = now + timedelta(minutes=15 * draw(st.integers(-8, rules.horizon_days * 96)))
        if all_day:
            start = datetime.combine(start.date(), time(0), tz)
            end = datetime.combine(start.date() + timedelta(days=draw(st.integers(1, 2))), time(0), tz)
        else:
            start = start.astimezone(tz)
            end = start + timedelta(minutes=15 * draw(st.sampled_from([0, 1, 2, 4, 4, 6, 8, 12])))
        organizer = draw(st.sampled_from([PEOPLE[0], PEOPLE[0], PEOPLE[0], PEOPLE[1], OWNER, ""]))
        me = draw(st.sampled_from(["NEEDS-ACTION"] * 4 + ["TENTATIVE", "ACCEPTED", None, "DECLINED"]))
        attendees = [Attendee(p, "ACCEPTED") for p in draw(st.lists(st.sampled_from(PEOPLE), max_size=2, unique=True))]
        if me is not None:
            attendees.append(Attendee(OWNER, me))
        out.append(
            Occurrence(
                uid=f"ev{i}",
                recurrence_id=None,
                summary=draw(st.sampled_from(["Sync", "Sync", "urgent call", "Lunch"])),
                start=start,
                end=end,
                all_day=all_day,
                organizer=organizer,
                attendees=tuple(attendees),
                status=draw(st.sampled_from(["CONFIRMED", "CONFIRMED", "TENTATIVE", "CANCELLED"])),
                transparent=draw(st.integers(0, 5)) == 5,
            )
        )
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Rules, datetime, list[Occurrence]]:
    rules = draw(planned_rules())
    day = draw(st.one_of(st.sampled_from(CHANGE_DAYS), st.dates(date(2026, 1, 1), date(2026, 12, 31))))
    day -= timedelta(days=draw(st.integers(0, 3)))
    now = datetime.combine(day, time(0), rules.tz) + timedelta(minutes=15 * draw(st.integers(0, 95)))
    return rules, now, draw(calendars(rules, now))


def _overlaps(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> bool:
    return min(a1, b1) > max(a0, b0)


def _partstat(o: Occurrence) -> str | None:
    return next((a.partstat for a in o.attendees if a.email == OWNER), None)


def _busy(o: Occurrence, p: Plan, declined: set[tuple[str, str]]) -> bool:
    """Busy for alternatives: a considered event (SPEC "Events considered") of some length, not declined now."""
    considered = (
        o.owned_block is None
        and o.status != "CANCELLED"
        and not o.transparent
        and _partstat(o) != "DECLINED"
        and p.window_start <= o.start < p.window_end
    )
    return considered and o.end > o.start and o.key not in declined


def _alone(rules: Rules, block_id: str) -> Rules:
    return rules.model_copy(update={"blocks": [rules.block(block_id)]})


@PROP
@given(scenarios())
def test_the_decision_is_the_strictest_any_block_gives(scenario: tuple[Rules, datetime, list[Occurrence]]) -> None:
    rules, now, occs = scenario
    p = plan(rules, Snapshot(tuple(occs)), now)
    event(f"conflicts: {min(len(p.conflicts), 3)}")
    for c in p.conflicts:
        event(f"decision: {c.decision.value} ({c.reason.split(' (')[0][:30]})")
    for c in p.conflicts:
        alone: dict[str, Decision] = {}
        for bid in c.blocks:  # the same occurrence planned against each block it hits, by itself
            (single,) = plan(_alone(rules, bid), Snapshot((c.occurrence,)), now).conflicts
            alone[bid] = single.decision
        strictest = max(alone.values(), key=lambda d: d.rank)
        assert c.decision is strictest, (c, alone)
        # the block named is the earliest-starting one that gave it
        assert c.block == next(b for b in c.blocks if alone[b] is strictest), (c, alone)
        if len(set(alone.values())) > 1:
            event("blocks disagree")


@PROP
@given(scenarios())
def test_alternatives_are_free_working_time_in_the_window(scenario: tuple[Rules, datetime, list[Occurrence]]) -> None:
    rules, now, occs = scenario
    p = plan(rules, Snapshot(tuple(occs)), now)
    wh, tz = rules.working_hours, rules.tz
    declined = {c.occurrence.key for c in p.conflicts if c.decision is Decision.DECLINE}
    busy = [o for o in occs if _busy(o, p, declined)]
    offered: list[tuple[datetime, datetime]] = []
    for c in p.conflicts:
        if c.decision is not Decision.DECLINE:
            assert c.alternatives == ()
            continue
        o = c.occurrence
        assert len(c.alternatives) <= 2 and list(c.alternatives) == sorted(c.alternatives)
        event(f"alternatives: {len(c.alternatives)}")
        for a in c.alternatives:
            end = _end_of(c, a, tz)
            assert a.tzinfo is tz
            assert a >= o.start and a >= p.now and end <= p.window_end, (a, c)
            assert a.weekday() in wh.days
            if o.all_day:
                assert a.time() == time(0)
            else:
                assert a.date() == end.date() and wh.start <= a.time() and end.time() <= wh.end, (a, end, wh)
            for b in p.blocks:
                assert not _overlaps(a, end, b.start, b.end), (a, b)
            for e in busy:
                assert not _overlaps(a, end, e.start, e.end), (a, e)
            for s, t in offered:
                assert not _overlaps(a, end, s, t), "the same time offered twice"
            offered.append((a, end))


def _end_of(c: Conflict, a: datetime, tz: ZoneInfo) -> datetime:
    """Where alternative ``a`` ends: as long as the meeting (all-day: as many local days)."""
    o = c.occurrence
    if o.all_day:
        return datetime.combine(a.date() + timedelta(days=(o.end.date() - o.start.date()).days), time(0), tz)
    return a + (o.end - o.start)
