"""The words an organizer reads, case by case: real invitations (an iCalendar file as a client
writes it) through the real rules loader, reader and planner, and the whole decline message.

Each row is one case: the owner's locale, the message template, the invitation's DTSTART (with the
organizer's zone or none), and the exact message. Read the table: every message is a whole
sentence, whatever the slots are.
"""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from boundaryd.core import ical
from boundaryd.core.model import Decision, Snapshot
from boundaryd.core.planner import plan
from boundaryd.core.rules import load_rules_text
from boundaryd.errors import BadInput
from boundaryd.presentation import words

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo("America/Toronto"))  # Monday 07:00

DEFAULT = "Thanks for the invitation. I'm not available then; could we meet {alternatives}?"
CALLS = "Thanks! That slot is taken; could we meet {alternatives}? I return calls at {next_call_return}."


def rules(locale: str, message: str, extra_blocks: str = "", working: str = '"08:00", end: "18:00"', tz: str = "America/Toronto") -> str:
    return textwrap.dedent(
        f"""\
        version: 1
        timezone: {tz}
        owner: {{name: Alice Agent, emails: [alice@example.com], locale: {locale}}}
        working_hours: {{days: weekdays, start: {working}}}
        defaults: {{message: "{message}"}}
        blocks:
          - {{id: prospecting, title: Prospecting calls, kind: prospecting, days: weekdays, start: "08:30", end: "11:00", policy: decline}}
          - {{id: call-return, title: Return calls, kind: call-return, days: weekdays, times: ["11:30", "16:30"], duration: 30m, policy: flag}}
          - {{id: sunday, title: Day off, kind: day-off, days: [sun], all_day: true, policy: decline}}
        """
    ) + textwrap.indent(textwrap.dedent(extra_blocks), "  ")


def invitation(dtstart: str, dtend: str, summary: str = "Pipeline review") -> str:
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Client//EN", "BEGIN:VEVENT", "UID:case@client.example",
        "DTSTAMP:20261101T120000Z", f"SUMMARY:{summary}", dtstart, dtend,
        "ORGANIZER;CN=Bob Client:mailto:bob@client.example",
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@client.example",
        "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.com",
        "END:VEVENT", "END:VCALENDAR", "",
    ]
    return "\r\n".join(lines)


def message_for(rules_text: str, cal_text: str) -> tuple[str, tuple[datetime, ...]]:
    r = load_rules_text(rules_text, "rules.yaml")
    cal = ical.parse_calendar(cal_text, "cal.ics")
    occs, owned, skipped = ical.occurrences_of(cal, NOW, NOW + timedelta(days=r.horizon_days), r.tz)
    p = plan(r, Snapshot(tuple(occs), tuple(owned), tuple(skipped)), NOW)
    (c,) = p.conflicts
    assert c.decision is Decision.DECLINE
    return c.message, c.alternatives


TORONTO_9 = ("DTSTART;TZID=America/Toronto:20261124T090000", "DTEND;TZID=America/Toronto:20261124T100000")
UTC_14 = ("DTSTART:20261124T140000Z", "DTEND:20261124T150000Z")
LA_6 = ("DTSTART;TZID=America/Los_Angeles:20261124T060000", "DTEND;TZID=America/Los_Angeles:20261124T070000")
OUTLOOK_9 = ("DTSTART;TZID=Eastern Standard Time:20261124T090000", "DTEND;TZID=Eastern Standard Time:20261124T100000")
BERLIN_15 = ("DTSTART;TZID=Europe/Berlin:20261124T150000", "DTEND;TZID=Europe/Berlin:20261124T160000")
SUNDAY = ("DTSTART;VALUE=DATE:20261129", "DTEND;VALUE=DATE:20261130")

CASES = [
    # organizer in the owner's zone: times in it, zone not named
    ("en_US", DEFAULT, TORONTO_9,
     "Thanks for the invitation. I'm not available then; could we meet on Tue, Nov 24, 12:00 PM or on Wed, Nov 25, 2:00 PM?"),
    # Outlook's Windows zone name is the owner's zone too
    ("en_US", DEFAULT, OUTLOOK_9,
     "Thanks for the invitation. I'm not available then; could we meet on Tue, Nov 24, 12:00 PM or on Wed, Nov 25, 2:00 PM?"),
    # no zone named by the invitation (UTC): the owner's, named
    ("en_US", DEFAULT, UTC_14,
     "Thanks for the invitation. I'm not available then; could we meet on Tue, Nov 24, 12:00 PM or on Wed, Nov 25, 2:00 PM (Eastern Time)?"),
    # organizer three zones away: their times, their zone named
    ("en_US", DEFAULT, LA_6,
     "Thanks for the invitation. I'm not available then; could we meet on Tue, Nov 24, 9:00 AM or on Wed, Nov 25, 11:00 AM (Pacific Time)?"),
    ("en_US", DEFAULT, BERLIN_15,
     "Thanks for the invitation. I'm not available then; could we meet on Tue, Nov 24, 6:00 PM or on Wed, Nov 25, 8:00 PM "
     "(Central European Time)?"),
    # "at {next_call_return}" and "meet {alternatives}" read as sentences
    ("en_US", CALLS, TORONTO_9,
     "Thanks! That slot is taken; could we meet on Tue, Nov 24, 12:00 PM or on Wed, Nov 25, 2:00 PM? "
     "I return calls on Mon, Nov 23, 11:30 AM."),
    # en_GB and German read 24-hour
    ("en_GB", DEFAULT, TORONTO_9,
     "Thanks for the invitation. I'm not available then; could we meet on Tue 24 Nov, 12:00 or on Wed 25 Nov, 14:00?"),
    ("de_DE", "Danke! Können wir uns {alternatives} treffen?", TORONTO_9,
     "Danke! Können wir uns am Di., 24. Nov., 12:00 oder am Mi., 25. Nov., 14:00 treffen?"),
    ("fr_FR", "Merci ! Pourrions-nous nous voir {alternatives} ?", TORONTO_9,
     "Merci ! Pourrions-nous nous voir le mar. 24 nov., 12:00 ou le mer. 25 nov., 14:00 ?"),
    # a Sunday all-day invitation: every working day holds a block, so no whole day is free
    ("en_US", CALLS, SUNDAY,
     "Thanks! That slot is taken; could we meet at another time that suits you? I return calls on Mon, Nov 23, 11:30 AM (Eastern Time)."),
]


@pytest.mark.parametrize(("locale", "template", "when", "expected"), CASES)
def test_decline_words(locale: str, template: str, when: tuple[str, str], expected: str) -> None:
    msg, alts = message_for(rules(locale, template), invitation(*when))
    assert len(alts) == (0 if when is SUNDAY else 2)
    assert msg == expected


def test_no_free_slot_still_a_sentence() -> None:
    # working hours that fit nothing: no alternative at all
    text = rules("en_US", CALLS, working='"09:00", end: "09:30"')
    msg, alts = message_for(text, invitation(*TORONTO_9))
    assert alts == ()
    assert msg == (
        "Thanks! That slot is taken; could we meet at another time that suits you? I return calls on Mon, Nov 23, 11:30 AM."
    )


def test_organizer_and_title_placeholders() -> None:
    msg, _ = message_for(rules("en_US", "Hi {organizer}, {title} lands on {block}; how about {alternatives}?"), invitation(*TORONTO_9))
    assert msg.startswith("Hi Bob Client, Pipeline review lands on Prospecting calls; how about on Tue, Nov 24, 12:00 PM or on ")


def test_one_alternative_reads_whole() -> None:
    t = datetime(2026, 11, 25, 14, 0, tzinfo=ZoneInfo("America/Toronto"))
    assert words.alternatives_words([t]) == "on Wed, Nov 25, 2:00 PM (Eastern Time)"
    assert words.fill("meet at {alternatives}.", {"alternatives": "on Wed"}) == "meet on Wed."
    assert words.fill("I sat {alternatives}.", {"alternatives": "on Wed"}) == "I sat on Wed."  # "sat" is not "at"


def test_focus_time_text_is_a_sentence() -> None:
    r = load_rules_text(rules("en_US", CALLS), "rules.yaml")
    text = words.render_static_message(r.defaults.message, r.block("prospecting"))
    assert text == "Thanks! That slot is taken; could we meet at another time? I return calls during my call-return time."


def test_check_rejects_unknown_placeholders_at_their_place() -> None:
    text = rules("en_US", "Hi {organiser}, could we meet {alternatives}? {when}")
    with pytest.raises(BadInput) as info:
        load_rules_text(text, "rules.yaml")
    line = text.splitlines().index(next(ln for ln in text.splitlines() if "organiser" in ln)) + 1
    row = text.splitlines()[line - 1]
    assert info.value.problems == (
        f"rules.yaml:{line}:{row.index('{organiser}') + 1}: defaults.message: unknown placeholder {{organiser}} in the message (did you mean {{organizer}}?)",
        f"rules.yaml:{line}:{row.index('{when}') + 1}: defaults.message: unknown placeholder {{when}} in the message "
        "(placeholders are {alternatives}, {block}, {next_call_return}, {organizer}, {title})",
    )


def test_check_points_into_a_folded_block_message() -> None:
    text = rules("en_US", DEFAULT, extra_blocks="""\
        - id: fu
          days: [tue]
          start: "14:00"
          duration: 1h
          message: >
            Thanks! I return calls
            at {next_call} or { later
        """)
    with pytest.raises(BadInput) as info:
        load_rules_text(text, "rules.yaml")
    rows = text.splitlines()
    n = next(i for i, ln in enumerate(rows) if "{next_call}" in ln)
    assert info.value.problems == (
        f"rules.yaml:{n + 1}:{rows[n].index('{next_call}') + 1}: blocks.3.message: unknown placeholder {{next_call}} in the message (did you mean {{next_call_return}}?)",
        f"rules.yaml:{n + 1}:{rows[n].index('{ later') + 1}: blocks.3.message: a lone '{{' in the message "
        "(write {{ for a brace; placeholders are {alternatives}, {block}, {next_call_return}, {organizer}, {title})",
    )


def test_unknown_locale_is_an_error() -> None:
    with pytest.raises(BadInput, match=r"rules.yaml:3:\d+: owner.locale: unknown locale 'xx_YY'"):
        load_rules_text(rules("xx_YY", DEFAULT), "rules.yaml")


def test_a_preposition_before_a_time_phrase_is_left_out_in_any_language() -> None:
    de = words.fill("Können wir uns am {alternatives} treffen? Ich rufe um {next_call_return} zurück.",
                    {"alternatives": "am Di., 24. Nov., 12:00", "next_call_return": "am Mo., 23. Nov., 11:30"})
    assert de == "Können wir uns am Di., 24. Nov., 12:00 treffen? Ich rufe am Mo., 23. Nov., 11:30 zurück."
    # a locale without its own words: Babel's dates alone, no English "on" glued to them
    msg, _ = message_for(rules("ja_JP", DEFAULT), invitation(*TORONTO_9))
    assert msg.endswith("could we meet 11月24日(火) 12:00または11月25日(水) 14:00?")
