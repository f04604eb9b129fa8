"""The rules file's ``busy_from:``: the owner's other calendars, whose events count as busy.

Each source is read-only and has exactly one of ``ics_url`` (a feed over HTTP(S)), ``ics``,
``caldav``, ``google``, ``microsoft`` (the same sections as ``calendar:``).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from boundaryd.core.rules_calendar import (
    CaldavCalendar,
    CalendarSection,
    GoogleCalendar,
    IcsCalendar,
    MicrosoftCalendar,
)
from boundaryd.core.rules_scalars import Policy, Section

_CREDENTIALS_IN_URL = re.compile(r"^https?://[^/]*@")


class BusySource(Section):
    """One of the owner's other calendars. Never written to; its events count as busy."""

    name: str = Field(min_length=1, max_length=60, description="unique; names the source to the owner")
    ics_url: str | None = Field(None, description="an iCalendar feed over http(s) (webcal:// is https), revalidated every cycle")
    ics: IcsCalendar | None = None
    caldav: CaldavCalendar | None = None
    google: GoogleCalendar | None = None
    microsoft: MicrosoftCalendar | None = None
    policy: Policy = Field("flag", description="a meeting colliding with one of its events: decline | flag | keep")
    mirror: bool = Field(False, description="write a private busy copy of each of its events on the main calendar")
    mirror_titles: bool = Field(False, description="mirrors carry the event's title (else they read 'Busy')")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip() or any(c in v for c in "\r\n\t"):
            raise ValueError(f"{v!r} is not a usable name (a word or two, on one line)")
        return v.strip()

    @field_validator("ics_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if v[:9].lower() == "webcal://":  # what calendar apps' "subscribe" links say: HTTPS underneath
            v = "https://" + v[9:]
        if not re.match(r"^https?://[^/\s]+", v, re.IGNORECASE):
            raise ValueError(f"{v!r} is not an http(s) or webcal URL")
        if _CREDENTIALS_IN_URL.match(v):
            raise ValueError("credentials never go in the URL")
        return v

    @model_validator(mode="after")
    def _one(self) -> BusySource:
        given = [k for k in SOURCE_KINDS if getattr(self, k, None) is not None]
        if len(given) != 1:
            raise ValueError(f"busy_from {self.name}: give exactly one of {', '.join(SOURCE_KINDS)}")
        return self

    # -- derived ------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return next(k for k in SOURCE_KINDS if getattr(self, k, None) is not None)

    def section(self) -> CalendarSection | None:
        """The source as a ``calendar:`` section (for the backend registry); None for a feed."""
        if self.ics_url is not None:
            return None
        return CalendarSection(**{self.kind: getattr(self, self.kind)})

    @property
    def where(self) -> str:
        """Where the source is, for the owner, with nothing secret (a feed's path may hold its key)."""
        if self.ics_url is not None:
            m = re.match(r"^(https?://[^/?#]+)", self.ics_url, re.IGNORECASE)
            return f"{m.group(1) if m else 'feed'}/…"
        if self.ics is not None:
            return f"ics:{self.ics.path}"
        if self.caldav is not None:
            return f"caldav:{self.caldav.url}"
        if self.google is not None:
            return f"google:{self.google.calendar_id}"
        return f"{self.kind}:{getattr(getattr(self, self.kind), 'calendar', '')}"


#: the ways a source can be given (every field but these); exactly one per source
SOURCE_KINDS: tuple[str, ...] = tuple(
    k for k in BusySource.model_fields if k not in ("name", "policy", "mirror", "mirror_titles")
)


def _unique(sources: list[BusySource]) -> list[BusySource]:
    seen: set[str] = set()
    for s in sources:
        if s.name.casefold() in seen:
            raise ValueError(f"busy_from: the name {s.name!r} is used twice (each source needs its own name)")
        seen.add(s.name.casefold())
    return sources


#: ``Rules.busy_from``: the sources, each name used once
BusySources = Annotated[list[BusySource], AfterValidator(_unique)]
