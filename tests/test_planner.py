"""The planner (SPEC "What boundaryd decides"): decisions, strictest wins, alternatives, messages, invariants."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boundaryd.core.model import Attendee, Conflict, Decision, Occurrence, Plan, Snapshot
from boundaryd.core.planner import AllowEntry, Memory, notice_key, plan, render_message
from boundaryd.core.rules import Rules
from conftest import OWNER, TORONTO, local, make_rules, occurrence

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=TORONTO)  # Monday 07:00
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2026, 11, 23) + timedelta(days=i) for i in range(7))

BLOCKS = """
- id: prospecting
  title: Prospecting calls
  kind: prospecting
  days: weekdays
  start: "08:30"
  end: "11:00"
  policy: decline
  allow: {people: ["*@bigclient.com", boss@example.com], keywords: [urgent]}
- id: call-return
  title: Return calls
  kind: call-return
  days: weekdays
  times: ["11:30", "16:30"]
  duration: 30m
  policy: flag
- id: focus
  title: Focus
  days: [tue]
  start: "10:00"
  end: "12:00"
  policy: keep
- id: family
  title: Family evening
  kind: family
  days: weekdays
  start: "18:00"
  end: "21:00"
  policy: decline
  private: true
  message: "Sorry, {block}. How about {alternatives}? Or call me {next_call_return}."
- id: sunday
  title: Day off
  kind: day-off
  days: [sun]
  all_day: true
  policy: decline
"""


@pytest.fixture(scope="module")
def rules() -> Rules:
    return make_rules(BLOCKS)


def run(rules: Rules, *occs: Occurrence, now: datetime = NOW, memory: Memory | None = None) -> Plan:
    return plan(rules, Snapshot(tuple(occs)), now, memory or Memory())


def one(rules: Rules, occ: Occurrence, **kw: object) -> Conflict:
    p = run(rules, occ, **kw)  # type: ignore[arg-type]
    (c,) = p.conflicts
    return c


# --- allow ---------------------------------------------------------------------------------


def test_allow_by_organizer_glob(rules: Rules) -> None:
    c = one(rules, occurrence("e", local(TUE, 9), organizer="Ceo@BigClient.com".lower()))
    assert (c.decision, c.block) == (Decision.ALLOW, "prospecting")
    assert c.reason == "organizer matches *@bigclient.com"


def test_allow_by_exact_person_as_attendee(rules: Rules) -> None:
    c = one(rules, occurrence("e", local(TUE, 9), others=("boss@example.com",)))
    assert c.decision is Decision.ALLOW and "boss@example.com" in c.reason


def test_owner_address_never_allows(rules: Rules) -> None:
    """A glob that matches the owner's own address does not let every invitation through."""
    r = make_rules(
        '- {id: b, days: weekdays, start: "08:30", end: "11:00", policy: decline, allow: {people: ["*@example.com"]}}'
    )
    c = one(r, occurrence("e", local(TUE, 9)))
    assert c.decision is Decision.DECLINE
    # but another attendee at that domain does
    c2 = one(r, occurrence("e", local(TUE, 9), others=("carol@example.com",)))
    assert c2.decision is Decision.ALLOW and "carol@example.com" in c2.reason
    # and the owner as organizer is the owner's own event, not an allow
    c3 = one(r, occurrence("e", local(TUE, 9), organizer=OWNER, me=None))
    assert c3.decision is Decision.FLAG and c3.reason == "your own event"


@pytest.mark.parametrize(
    ("field", "text"), [("summary", "URGENT: contract"), ("description", "This is urgent, sorry")]
)
def test_allow_by_keyword(rules: Rules, field: str, text: str) -> None:
    occ = replace(occurrence("e", local(TUE, 9)), **{field: text})
    c = one(rules, occ)
    assert c.decision is Decision.ALLOW and c.reason == "keyword 'urgent' found"


def test_allow_entry(rules: Rules) -> None:
    occ = occurrence("e", local(TUE, 9))
    assert one(rules, occ).decision is Decision.DECLINE
    c = one(rules, occ, memory=Memory(allowed=[AllowEntry("e")]))
    assert c.decision is Decision.ALLOW and "boundaryd allow" in c.reason
    assert one(rules, occ, memory=Memory(allowed=[AllowEntry("other")])).decision is Decision.DECLINE
    assert one(rules, occ, memory=Memory(allowed=[AllowEntry("e", until=MON)])).decision is Decision.DECLINE
    assert one(rules, occ, memory=Memory(allowed=[AllowEntry("e", until=TUE)])).decision is Decision.ALLOW


def test_allow_entry_for_one_instance(rules: Rules) -> None:
    a = occurrence("s", local(TUE, 9), recurrence_id=local(TUE, 9))
    b = occurrence("s", local(WED, 9), recurrence_id=local(WED, 9))
    p = run(rules, a, b, memory=Memory(allowed=[AllowEntry("s", recurrence_id=local(TUE, 9).isoformat())]))
    assert [c.decision for c in p.conflicts] == [Decision.ALLOW, Decision.DECLINE]


def test_allow_of_one_block_does_not_beat_a_decline_of_another(rules: Rules) -> None:
    # 10:30–12:00 on Tuesday: prospecting (allow by keyword? no) — use an organizer allowed only on prospecting
    occ = occurrence("e", local(MON, 10, 30), minutes=60 * 8, organizer="x@bigclient.com")  # to 18:30: family too
    c = one(rules, occ)
    assert c.decision is Decision.DECLINE and c.block == "family"
    assert set(c.blocks) == {"prospecting", "call-return", "family"}


# --- keep, flag, decline --------------------------------------------------------------------


def test_keep_only(rules: Rules) -> None:
    c = one(rules, occurrence("e", local(TUE, 11), minutes=30))  # only the keep block
    assert c.decision is Decision.KEEP and c.block == "focus"
    assert run(rules, occurrence("e", local(TUE, 11), minutes=30)).notices == ()


def test_flag_policy(rules: Rules) -> None:
    c = one(rules, occurrence("e", local(WED, 11, 45), minutes=30))
    assert (c.decision, c.block) == (Decision.FLAG, "call-return")
    assert "Return calls" in c.reason and c.message == "" and c.alternatives == ()


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"organizer": OWNER, "me": "ACCEPTED"}, "your own event"),
        ({"organizer": "", "me": None}, "your own event"),  # no attendees at all: the owner's entry
        ({"me": "ACCEPTED"}, "already accepted"),
        ({"me": None}, "you are not on the invitation"),
    ],
    ids=["organizer", "no-attendees", "accepted", "not-invited"],
)
def test_decline_becomes_flag(rules: Rules, kw: dict[str, object], reason: str) -> None:
    c = one(rules, occurrence("e", local(TUE, 9), **kw))  # type: ignore[arg-type]
    assert (c.decision, c.reason, c.block) == (Decision.FLAG, reason, "prospecting")
    assert c.message == "" and c.alternatives == ()


@pytest.mark.parametrize("partstat", ["NEEDS-ACTION", "TENTATIVE"])
def test_decline(rules: Rules, partstat: str) -> None:
    c = one(rules, occurrence("e", local(TUE, 9), me=partstat))
    assert (c.decision, c.block) == (Decision.DECLINE, "prospecting")
    assert "Prospecting calls" in c.reason
    assert c.alternatives and c.message


def test_decline_accepted_when_configured() -> None:
    r = make_rules(BLOCKS, extra="defaults: {decline_accepted: true}\n")
    assert one(r, occurrence("e", local(TUE, 9), me="ACCEPTED")).decision is Decision.DECLINE
    # never the owner's own event
    assert one(r, occurrence("e", local(TUE, 9), organizer=OWNER, me="ACCEPTED")).decision is Decision.FLAG


def test_owner_email_case_insensitive(rules: Rules) -> None:
    occ = occurrence("e", local(TUE, 9), owner="alice@example.com")
    assert one(rules, occ).decision is Decision.DECLINE


def test_strictest_wins_and_earliest_block_among_equals() -> None:
    r = make_rules(
        """
        - {id: late, days: daily, start: "10:00", end: "12:00", policy: flag}
        - {id: early, days: daily, start: "09:00", end: "10:30", policy: flag}
        - {id: strict, days: daily, start: "11:00", end: "13:00", policy: decline}
        - {id: lenient, days: daily, start: "08:00", end: "09:30", policy: decline, allow: {keywords: [vip]}}
        """
    )
    c = one(r, occurrence("e", local(TUE, 9, 45), minutes=30))  # early + late, both flag
    assert (c.decision, c.block, c.blocks) == (Decision.FLAG, "early", ("early", "late"))
    c = one(r, occurrence("e", local(TUE, 10, 15), minutes=60))  # early, late (flag) and strict (decline)
    assert (c.decision, c.block) == (Decision.DECLINE, "strict")
    assert c.blocks == ("early", "late", "strict")
    c = one(r, occurrence("e", local(TUE, 9), minutes=60, summary="VIP call"))  # lenient allows, early flags
    assert (c.decision, c.block, c.blocks) == (Decision.FLAG, "early", ("lenient", "early"))


# --- which events count ----------------------------------------------------------------------


def test_all_day_events_only_hit_all_day_blocks(rules: Rules) -> None:
    weekday = occurrence("holiday", local(TUE), minutes=24 * 60, all_day=True)
    sunday = occurrence("picnic", local(SUN), minutes=24 * 60, all_day=True)
    timed_sunday = occurrence("brunch", local(SUN, 11), minutes=90)
    p = run(rules, weekday, sunday, timed_sunday)
    assert [(c.occurrence.uid, c.block, c.decision) for c in p.conflicts] == [
        ("picnic", "sunday", Decision.DECLINE),
        ("brunch", "sunday", Decision.DECLINE),
    ]
    pic = p.conflicts[0]
    assert all(a.time() == time(0) and a.weekday() < 5 and a.date() > SUN for a in pic.alternatives)


@pytest.mark.parametrize(
    "kw",
    [
        {"status": "CANCELLED"},
        {"transparent": True},
        {"me": "DECLINED"},
        {"owned_block": "prospecting"},
    ],
    ids=["cancelled", "transparent", "declined", "owned"],
)
def test_ignored_events(rules: Rules, kw: dict[str, object]) -> None:
    assert run(rules, occurrence("e", local(TUE, 9), **kw)).conflicts == ()  # type: ignore[arg-type]


def test_window_and_half_open_overlap(rules: Rules) -> None:
    p = run(
        rules,
        occurrence("touch-before", local(TUE, 8), minutes=30),  # ends exactly at 08:30
        occurrence("touch-after", local(MON, 11), minutes=30),  # starts exactly at 11:00
        occurrence("zero", local(TUE, 9), minutes=0),
        occurrence("past", NOW - timedelta(hours=1), minutes=600),  # started before now
        occurrence("far", local(MON + timedelta(days=14), 9)),  # starts at the window's end
        occurrence("last", local(MON + timedelta(days=13), 9)),  # last day in the window (a Sunday: all-day block)
    )
    assert [c.occurrence.uid for c in p.conflicts] == ["last"]
    assert p.window_start == NOW and p.window_end == NOW + timedelta(days=14)


def test_recurring_instances_are_separate_conflicts(rules: Rules) -> None:
    occs = [occurrence("s", local(d, 9), recurrence_id=local(d, 9)) for d in (TUE, WED, THU)]
    p = run(rules, *occs)
    assert [c.occurrence.recurrence_id for c in p.conflicts] == [local(d, 9) for d in (TUE, WED, THU)]


# --- alternatives ---------------------------------------------------------------------------


def test_alternatives_basic(rules: Rules) -> None:
    c = one(rules, occurrence("e", local(TUE, 9)))
    # nearest the meeting's own time on its day, then the other half of the working day the next day
    assert c.alternatives == (local(TUE, 12), local(WED, 14))
    assert c.message == (
        "Thanks for the invitation. I'm not available then; could we meet "
        "on Tue, Nov 24, 12:00 PM or on Wed, Nov 25, 2:00 PM (Eastern Time)?"
    )


def test_alternatives_avoid_busy_events_and_are_not_offered_twice(rules: Rules) -> None:
    busy = occurrence("busy", local(TUE, 12), minutes=120, me="ACCEPTED")  # on no block: just busy
    a = occurrence("a", local(TUE, 9))
    b = occurrence("b", local(TUE, 9, 30))
    p = run(rules, busy, a, b)
    ca, cb = (c for c in p.conflicts if c.occurrence.uid in ("a", "b"))
    assert ca.alternatives == (local(TUE, 14), local(WED, 14))
    assert cb.alternatives == (local(TUE, 15), local(WED, 15))
    assert not set(ca.alternatives) & set(cb.alternatives)


def test_declined_events_free_their_time(rules: Rules) -> None:
    """A meeting boundaryd declines no longer makes its time busy for other alternatives."""
    a = occurrence("a", local(MON, 10, 30), minutes=60)  # prospecting; 11:00-11:30 is otherwise free
    x = occurrence("x", local(MON, 10, 45), minutes=30)
    p = run(rules, a, x)
    ca, cx = p.conflicts
    assert (ca.decision, cx.decision) == (Decision.DECLINE, Decision.DECLINE)
    assert ca.alternatives == (local(MON, 12), local(TUE, 15, 30))
    assert cx.alternatives == (local(MON, 11), local(TUE, 15))


def test_alternatives_same_day_when_no_other_day(rules: Rules) -> None:
    r = make_rules(BLOCKS, horizon_days=1)
    c = one(r, occurrence("e", local(MON, 9)))
    assert [a.date() for a in c.alternatives] == [MON, MON]
    assert c.alternatives == (local(MON, 12), local(MON, 14))


def test_no_alternative_fits(rules: Rules) -> None:
    c = one(rules, occurrence("e", local(TUE, 9), minutes=11 * 60))  # longer than a working day
    assert c.decision is Decision.DECLINE and c.alternatives == ()
    assert "at another time that suits you" in c.message


def test_alternatives_after_now_when_event_started_before() -> None:
    r = make_rules('- {id: b, days: daily, start: "08:00", end: "09:00", policy: decline}')
    now = local(TUE, 8, 10)
    c = one(r, occurrence("e", local(TUE, 8, 15), minutes=30), now=now)
    assert c.alternatives[0] == local(TUE, 9)


def test_all_day_alternatives_as_long_as_the_event() -> None:
    r = make_rules(
        """
        - {id: sunday, days: [sun], all_day: true, policy: decline}
        - {id: pro, days: [mon, tue, wed], start: "08:30", end: "11:00", policy: decline}
        """,
        horizon_days=21,
    )
    offsite = occurrence("offsite", local(SAT), minutes=2 * 24 * 60, all_day=True)  # Sat + Sun
    c = one(r, offsite)
    assert (c.decision, c.block) == (Decision.DECLINE, "sunday")
    # two free working days in a row, inside the window; days with a block are not free
    assert c.alternatives == (local(date(2026, 12, 3)), local(date(2026, 12, 10)))
    assert c.message.endswith("could we meet on Thu, Dec 3 or on Thu, Dec 10?")
    # the window's end bounds the whole span
    short = make_rules(r"""
        - {id: sunday, days: [sun], all_day: true, policy: decline}
        - {id: pro, days: [mon, tue, wed], start: "08:30", end: "11:00", policy: decline}
        """, horizon_days=11)  # ends Fri Dec 4 07:00: Thu Dec 3 + Fri Dec 4 does not fit
    assert one(short, offsite).alternatives == ()


# --- messages --------------------------------------------------------------------------------


def test_private_block_message_and_next_call_return(rules: Rules) -> None:
    c = one(rules, occurrence("e", local(TUE, 19), minutes=30))
    assert c.block == "family"
    assert c.message.startswith("Sorry, a prior commitment. How about on Wed, Nov 25, 5:30 PM or on Thu, Nov 26, 12:30 PM (Eastern Time)?")
    assert "Family evening" not in c.message
    assert c.message.endswith("Or call me on Mon, Nov 23, 11:30 AM (Eastern Time).")


def test_render_message_placeholders(rules: Rules) -> None:
    block = rules.block("prospecting")
    occ = occurrence("e", local(TUE, 9))
    msg = render_message("{block} | {alternatives} | {next_call_return} | {unknown}", rules, block, [], occ, None)
    assert msg == "Prospecting calls | at another time that suits you | at my next call-back time | {unknown}"
    all_day = occurrence("d", local(TUE), all_day=True)
    day = render_message("{alternatives}", rules, block, [local(WED)], all_day, None)
    assert day == "on Wed, Nov 25"


def test_notice_once_per_conflict(rules: Rules) -> None:
    occ = occurrence("e", local(TUE, 9))
    p1 = run(rules, occ)
    (n,) = p1.notices
    assert n.to == OWNER and "1 declined" in n.subject
    p2 = run(rules, occ, memory=Memory(notified=n.keys))
    assert p2.notices == ()
    moved = replace(occ, start=local(WED, 9), end=local(WED, 10))
    assert notice_key(run(rules, moved).conflicts[0]) not in n.keys
    assert run(rules, moved, memory=Memory(notified=n.keys)).notices != ()


# --- properties ------------------------------------------------------------------------------

PEOPLE = ["bob@client.example", "x@bigclient.com", "boss@example.com", "carol@example.com"]
PROP_NOWS = [NOW, datetime(2026, 10, 26, 13, 17, tzinfo=TORONTO), datetime(2026, 3, 4, 23, 50, tzinfo=TORONTO)]


HOT_TIMES = [time(9), time(8, 45), time(10, 30), time(11, 30), time(16, 45), time(18), time(19, 30), time(12), time(14)]


@st.composite
def occurrences(draw: st.DrawFn, now: datetime) -> list[Occurrence]:
    """Up to a dozen occurrences around now, biased towards block times and real invitations."""
    n = draw(st.integers(0, 12))
    out = []
    for i in range(n):
        all_day = draw(st.sampled_from([False, False, False, True]))
        day = now.date() + timedelta(days=draw(st.integers(-1, 8)))
        if all_day:
            start = datetime.combine(day, time(0), TORONTO)
            end = datetime.combine(day + timedelta(days=draw(st.integers(1, 3))), time(0), TORONTO)
        else:
            at = draw(st.one_of(st.sampled_from(HOT_TIMES), st.integers(0, 95).map(lambda q: time(q // 4, 15 * (q % 4)))))
            start = datetime.combine(day, at, TORONTO)
            end = start + timedelta(minutes=15 * draw(st.sampled_from([0, 1, 2, 4, 4, 4, 6, 8, 16, 40])))
        organizer = draw(st.sampled_from([PEOPLE[0], PEOPLE[0], PEOPLE[1], OWNER, ""]))
        me = draw(st.sampled_from(["NEEDS-ACTION", "NEEDS-ACTION", "TENTATIVE", "ACCEPTED", None, "DECLINED"]))
        others = draw(st.lists(st.sampled_from(PEOPLE), max_size=2, unique=True))
        attendees = [Attendee(p, draw(st.sampled_from(["ACCEPTED", "NEEDS-ACTION"]))) for p in others]
        if me is not None:
            attendees.insert(draw(st.integers(0, len(attendees))), Attendee(OWNER, me))
        out.append(
            Occurrence(
                uid=f"ev{i}",
                recurrence_id=start if draw(st.booleans()) else None,
                summary=draw(st.sampled_from(["Sync", "Sync", "urgent call", "Lunch", ""])),
                start=start,
                end=end,
                all_day=all_day,
                organizer=organizer,
                attendees=tuple(attendees),
                status=draw(st.sampled_from(["CONFIRMED", "CONFIRMED", "CONFIRMED", "TENTATIVE", "CANCELLED"])),
                transparent=draw(st.sampled_from([False, False, False, True])),
                owned_block=draw(st.sampled_from([None, None, None, None, "prospecting"])),
            )
        )
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[datetime, list[Occurrence], bool, int]:
    now = draw(st.sampled_from(PROP_NOWS))
    return now, draw(occurrences(now)), draw(st.booleans()), draw(st.integers(0, 2**32 - 1))


@pytest.fixture(scope="module")
def rules_pair() -> dict[bool, Rules]:
    return {
        False: make_rules(BLOCKS, horizon_days=7),
        True: make_rules(BLOCKS, horizon_days=7, extra="defaults: {decline_accepted: true}\n"),
    }


def _owner_partstat(o: Occurrence) -> str | None:
    return next((a.partstat for a in o.attendees if a.email == OWNER), None)


def _considered(o: Occurrence, p: Plan) -> bool:
    return (
        o.owned_block is None
        and o.status != "CANCELLED"
        and not o.transparent
        and _owner_partstat(o) != "DECLINED"
        and p.window_start <= o.start < p.window_end
    )


def _overlaps(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> bool:
    """Overlap by more than zero (a zero-length event overlaps nothing)."""
    return min(a1, b1) > max(a0, b0)


PROP = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@PROP
@given(scenarios())
def test_property_invariants(rules_pair: dict[bool, Rules], scenario: tuple[datetime, list[Occurrence], bool, int]) -> None:
    now, occs, decline_accepted, seed = scenario
    rules = rules_pair[decline_accepted]
    p = plan(rules, Snapshot(tuple(occs)), now)
    wh = rules.working_hours

    # every reported conflict is a considered occurrence that overlaps a block; and every such one is reported
    reported = {c.occurrence.key for c in p.conflicts}
    for o in occs:
        hit = [b for b in p.blocks if _overlaps(o.start, o.end, b.start, b.end) and (b.all_day or not o.all_day)]
        assert (o.key in reported) == (_considered(o, p) and bool(hit)), o
    for c in p.conflicts:
        o = c.occurrence
        hit_ids = {b.block for b in p.blocks if _overlaps(o.start, o.end, b.start, b.end) and (b.all_day or not o.all_day)}
        assert set(c.blocks) == hit_ids and c.block in c.blocks
        assert c.reason
    assert [c.occurrence.start for c in p.conflicts] == sorted(c.occurrence.start for c in p.conflicts)

    # never decline the owner's own event, an uninvited one, or an accepted one (unless configured)
    for c in p.declines:
        o = c.occurrence
        assert o.organizer != OWNER and o.attendees
        assert _owner_partstat(o) in ("NEEDS-ACTION", "TENTATIVE") or (decline_accepted and _owner_partstat(o) == "ACCEPTED")
        assert c.message
    for c in p.conflicts:
        if c.decision is not Decision.DECLINE:
            assert c.alternatives == () and c.message == ""

    # alternatives: after the start, in working hours, free of blocks, busy events and each other
    declined = {c.occurrence.key for c in p.declines}
    busy = [o for o in occs if _considered(o, p) and o.key not in declined and o.end > o.start]
    offered: list[tuple[datetime, datetime]] = []
    for c in p.declines:
        o = c.occurrence
        assert len(c.alternatives) <= 2
        assert len({a.date() for a in c.alternatives}) == len(c.alternatives) or all(
            a.date() == c.alternatives[0].date() for a in c.alternatives
        )
        for a in c.alternatives:
            if o.all_day:
                ndays = (o.end.date() - o.start.date()).days
                end = datetime.combine(a.date() + timedelta(days=ndays), time(0), TORONTO)
                assert a.time() == time(0) and a.date() > o.start.date()
                assert all((a.date() + timedelta(days=k)).weekday() in wh.days for k in range(ndays))
            else:
                end = a + (o.end - o.start)
            assert a >= o.start and a >= now and end <= p.window_end
            assert a.weekday() in wh.days
            if not o.all_day:
                assert a.date() == end.date() and wh.start <= a.time() and end.time() <= wh.end
            for b in p.blocks:
                assert not _overlaps(a, end, b.start, b.end), (a, b)
            for e in busy:
                assert not _overlaps(a, end, e.start, e.end), (a, e)
            for s, t in offered:
                assert not _overlaps(a, end, s, t), "the same time offered twice"
            offered.append((a, end))

    # the plan does not depend on the order of the calendar
    shuffled = list(occs)
    random.Random(seed).shuffle(shuffled)
    assert plan(rules, Snapshot(tuple(shuffled)), now) == p
