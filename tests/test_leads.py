"""Leads (SPEC decision 5) and ``keyword_limit_per_week`` in the planner: pure, no journal, no calendar."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from boundaryd.core.leads import contacts_of, keyword_uses
from boundaryd.core.model import Attendee, Decision, Occurrence, Snapshot
from boundaryd.core.planner import Memory, notice_key, plan
from boundaryd.core.rules import Rules
from boundaryd.errors import BadInput
from conftest import OWNER, local, make_rules, occurrence
from test_planner import BLOCKS, FRI, MON, NOW, THU, TUE, WED

LEADS = "leads: {people: ['*@zillow.com']}\n"
KNOWN = frozenset({"bob@client.example"})


def rules(extra: str = LEADS) -> Rules:
    return make_rules(BLOCKS, extra=extra)


def decide(r: Rules, *occs: Occurrence, memory: Memory | None = None, now: datetime = NOW) -> dict[str, tuple[Decision, str]]:
    p = plan(r, Snapshot(tuple(occs)), now, memory if memory is not None else Memory(contacts=KNOWN))
    return {c.occurrence.uid: (c.decision, c.reason) for c in p.conflicts}


def dana(uid: str = "dana", start: datetime | None = None, **kw: object) -> Occurrence:
    return occurrence(uid, start or local(TUE, 9), organizer="dana@new.example", organizer_name="Dana", **kw)  # type: ignore[arg-type]


# --- who is a lead ----------------------------------------------------------------------------------


def test_without_leads_in_the_rules_a_stranger_is_declined_as_before() -> None:
    got = decide(rules(extra=""), dana(), memory=Memory(contacts=frozenset()))
    assert got["dana"][0] is Decision.DECLINE


def test_a_new_contact_goes_through_a_prospecting_block_with_the_reason() -> None:
    d, why = decide(rules(), dana())["dana"]
    assert d is Decision.ALLOW
    assert why == "new lead (no meeting with dana@new.example in the last 365 days): prospecting lets leads through"


def test_a_known_contact_is_declined_as_before() -> None:
    bob = occurrence("bob", local(TUE, 9), organizer="bob@client.example")
    assert decide(rules(), bob)["bob"][0] is Decision.DECLINE


def test_a_lead_is_flagged_never_declined_on_a_block_that_does_not_pass_leads() -> None:
    d, why = decide(rules(), dana(start=local(TUE, 18, 30)))["dana"]  # the family evening (policy decline)
    assert d is Decision.FLAG and why.startswith("new lead (") and why.endswith("flagged, never declined")


def test_a_lead_on_a_flag_block_stays_flagged() -> None:
    assert decide(rules(), dana(start=local(TUE, 11, 30), minutes=30))["dana"][0] is Decision.FLAG  # call-return


def test_people_make_a_known_contact_a_lead_by_organizer_or_attendee() -> None:
    z = occurrence("z", local(WED, 9), organizer="agent@zillow.com")
    a = occurrence("a", local(THU, 9), organizer="bob@client.example", others=("scout@ZILLOW.com".lower(),))
    got = decide(rules(), z, a, memory=Memory(contacts=frozenset({"agent@zillow.com", "bob@client.example"})))
    assert got["z"] == (Decision.ALLOW, "new lead (agent@zillow.com matches *@zillow.com): prospecting lets leads through")
    assert got["a"][0] is Decision.ALLOW and "attendee scout@zillow.com matches *@zillow.com" in got["a"][1]


def test_new_contacts_off_leaves_only_people() -> None:
    r = rules(extra="leads: {new_contacts: false, people: ['*@zillow.com']}\n")
    assert decide(r, dana())["dana"][0] is Decision.DECLINE


def test_no_one_is_a_new_contact_while_nobody_knows_who_the_owner_met() -> None:
    assert decide(rules(), dana(), memory=Memory())["dana"][0] is Decision.DECLINE


def test_pass_names_the_kinds_a_lead_goes_through() -> None:
    r = rules(extra="leads: {pass: [family]}\n")
    got = decide(r, dana(), dana("eve", start=local(TUE, 18, 30)))
    assert got["dana"][0] is Decision.FLAG  # prospecting no longer passes leads: at most flagged
    assert got["eve"][0] is Decision.ALLOW


def test_pass_kinds_are_checked() -> None:
    with pytest.raises(BadInput) as e:
        rules(extra="leads: {pass: [prospecting, sales], lookback_days: 0}\n")
    text = "\n".join(e.value.problems)
    assert "pass" in text and "lookback_days" in text


def test_the_owners_own_event_is_no_lead() -> None:
    mine = occurrence("mine", local(TUE, 9), organizer=OWNER, others=("dana@new.example",), me="ACCEPTED")
    assert decide(rules(), mine)["mine"] == (Decision.FLAG, "your own event")


# --- what the owner is told -----------------------------------------------------------------------


def test_the_owner_is_told_at_once_even_with_a_daily_digest() -> None:
    r = rules(extra=LEADS + "notify: {digest: daily 07:30}\n")
    bob = occurrence("bob", local(WED, 9), organizer="bob@client.example")
    p = plan(r, Snapshot((dana(), bob)), NOW, Memory(contacts=KNOWN))
    notices = [a for a in p.actions if type(a).__name__ == "Notify"]
    lead, other = notices
    assert not lead.digest and [c.occurrence.uid for c in lead.notice.conflicts] == ["dana"]
    assert lead.notice.subject == (
        "boundaryd: New lead Dana (dana@new.example) asked for Tue, Nov 24, 9:00 AM;"
        " your next call-return slot is Mon, Nov 23, 11:30 AM."
    )
    assert other.digest and [c.occurrence.uid for c in other.notice.conflicts] == ["bob"]


def test_a_lead_is_known_by_its_field_not_by_words_in_its_trace() -> None:
    from dataclasses import replace

    from boundaryd.core.leads import at_once
    from boundaryd.core.model import Trace

    p = plan(rules(), Snapshot((dana(),)), NOW, Memory(contacts=KNOWN))
    (c,) = p.conflicts
    assert c.lead.startswith("New lead Dana (dana@new.example) asked for Tue, Nov 24") and at_once(c)
    assert not at_once(replace(c, lead=""))  # the trace's words alone make no lead
    assert at_once(replace(c, trace=Trace()))  # nor does a trace without them unmake one


def test_a_lead_notified_once_is_not_notified_again() -> None:
    r = rules()
    first = plan(r, Snapshot((dana(),)), NOW, Memory(contacts=KNOWN))
    keys = {notice_key(c) for c in first.conflicts}
    again = plan(r, Snapshot((dana(),)), NOW, Memory(contacts=KNOWN, notified=keys))
    assert first.notices and not again.notices
    assert again.conflicts[0].decision is Decision.ALLOW


def test_the_next_call_return_slot_on_the_same_day_is_a_time_in_the_owners_locale() -> None:
    r = rules()
    de = r.model_copy(update={"owner": r.owner.model_copy(update={"locale": "de_DE"})})
    early = plan(r, Snapshot((dana(start=local(MON, 9)),)), NOW, Memory(contacts=KNOWN)).notices[0].subject
    assert early.endswith("asked for Mon, Nov 23, 9:00 AM; your next call-return slot is 11:30 AM.")
    german = plan(de, Snapshot((dana(),)), NOW, Memory(contacts=KNOWN)).notices[0].subject
    assert german.startswith("boundaryd: Neuer Lead Dana (dana@new.example) hat ") and "11:30" in german


# --- known contacts ---------------------------------------------------------------------------------


def test_contacts_of_a_meeting() -> None:
    o = occurrence("m", local(TUE, 9), organizer="dana@new.example", others=("carl@x.example",))
    assert contacts_of(o, (OWNER,)) == (("carl@x.example", "dana@new.example"), False)
    accepted = occurrence("m", local(TUE, 9), organizer="dana@new.example", me="ACCEPTED")
    assert contacts_of(accepted, (OWNER,)) == (("dana@new.example",), True)
    assert contacts_of(occurrence("m", local(TUE, 9), me="DECLINED"), (OWNER,)) is None
    assert contacts_of(occurrence("m", local(TUE, 9), status="CANCELLED"), (OWNER,)) is None
    mine = Occurrence("m", None, "Mine", local(TUE, 9), local(TUE, 10), organizer=OWNER,
                      attendees=(Attendee(OWNER, "ACCEPTED"), Attendee("erin@x.example")))
    assert contacts_of(mine, (OWNER,)) == (("erin@x.example",), True)
    assert contacts_of(occurrence("m", local(TUE, 9), organizer="", me=None), (OWNER,)) is None


# --- keyword_limit_per_week -----------------------------------------------------------------------

LIMIT = "defaults: {keyword_limit_per_week: 2}\n"


def urgent(uid: str, start: datetime, organizer: str = "bob@client.example") -> Occurrence:
    return occurrence(uid, start, summary="URGENT: call me", organizer=organizer)


def test_past_the_limit_the_keyword_no_longer_opens_the_block_flagged_never_declined() -> None:
    r = rules(extra=LIMIT)
    occs = [urgent("u1", local(TUE, 9)), urgent("u2", local(WED, 9)), urgent("u3", local(THU, 9)),
            urgent("c1", local(FRI, 9), organizer="carl@client.example")]
    p = plan(r, Snapshot(tuple(occs)), NOW, Memory(contacts=KNOWN))
    got = {c.occurrence.uid: c for c in p.conflicts}
    assert [got[u].decision for u in ("u1", "u2", "u3", "c1")] == [Decision.ALLOW, Decision.ALLOW, Decision.FLAG, Decision.ALLOW]
    assert got["u3"].reason == (
        "keyword 'urgent' found, but bob@client.example already had 2 keyword exceptions in the last 7 days"
        " (keyword_limit_per_week 2): the keyword no longer opens the block, flagged"
    )
    assert got["u3"].trace.verdicts[0].decision is Decision.FLAG
    assert [n.subject for n in p.notices] == ["boundaryd: 1 flagged, 3 allowed"]
    assert keyword_uses(r, p.conflicts) == [
        ("bob@client.example", "u1", ""), ("bob@client.example", "u2", ""), ("carl@client.example", "c1", "")
    ]


def test_what_counted_before_keeps_counting_and_stays_open() -> None:
    r = rules(extra=LIMIT)
    then = NOW - timedelta(days=2)
    memory = Memory(contacts=KNOWN, keyword_uses=(("bob@client.example", "u2", "", then), ("bob@client.example", "x", "", then)))
    got = decide(r, urgent("u1", local(TUE, 9)), urgent("u2", local(WED, 9)), memory=memory)
    assert got["u2"][0] is Decision.ALLOW  # counted before: still open
    assert got["u1"][0] is Decision.FLAG  # a third in 7 days


def test_exceptions_older_than_seven_days_no_longer_count() -> None:
    r = rules(extra=LIMIT)
    old = NOW - timedelta(days=7, minutes=1)
    memory = Memory(contacts=KNOWN, keyword_uses=(("bob@client.example", "a", "", old), ("bob@client.example", "b", "", old)))
    assert decide(r, urgent("u1", local(TUE, 9)), memory=memory)["u1"][0] is Decision.ALLOW


def test_without_a_limit_every_keyword_opens_the_block() -> None:
    got = decide(rules(), *(urgent(f"u{i}", local(TUE, 8, 30) + timedelta(days=i)) for i in range(4)))
    assert {d for d, _ in got.values()} == {Decision.ALLOW}


def test_a_lead_on_a_pass_block_spends_no_keyword() -> None:
    r = rules(extra=LEADS + "defaults: {keyword_limit_per_week: 1}\n")
    p = plan(r, Snapshot((occurrence("d", local(TUE, 9), summary="urgent", organizer="dana@new.example"),)), NOW,
             Memory(contacts=KNOWN))
    assert p.conflicts[0].decision is Decision.ALLOW and keyword_uses(r, p.conflicts) == []


def test_a_leads_series_is_one_sentence_in_the_notice() -> None:
    from boundaryd.presentation.notice import notice_view

    r = rules()
    series = [dana("s", start=local(d, 9), recurrence_id=local(d, 9)) for d in (TUE, WED)]
    p = plan(r, Snapshot((*series, occurrence("z", local(THU, 9), organizer="agent@zillow.com"))), NOW, Memory(contacts=KNOWN))
    view = notice_view(rules=r, conflicts=p.notices[0].conflicts, blocks=p.blocks, now=NOW)
    text, page = view.render(10)
    assert text.count("New lead ") == 2 and "New lead Dana (dana@new.example) asked for Tue, Nov 24" in text
    assert "New lead agent@zillow.com asked for Thu, Nov 26" in text and "New lead Dana" in page
