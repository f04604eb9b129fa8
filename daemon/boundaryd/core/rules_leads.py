"""The rules file's ``leads:`` section: the client you cannot afford to lose (SPEC decision 5).

Absent from the rules file, there is no lead logic at all: every meeting is decided as before.
"""

from __future__ import annotations

from pydantic import Field

from boundaryd.core.rules_scalars import Email, Kind, Section


class Leads(Section):
    new_contacts: bool = Field(default=True, description="an organizer with no past meeting on this calendar is a new lead")
    lookback_days: int = Field(
        default=365, ge=1, le=3660, description="how far back 'past meeting' looks (their pending invitations don't count)"
    )
    people: list[Email] = Field(default=[], description="also leads: organizer or attendee, glob, case-insensitive")
    pass_: list[Kind] = Field(
        default=["prospecting", "follow-up"],
        alias="pass",
        description="kinds of block a lead goes through; elsewhere a lead is flagged, never declined",
    )
