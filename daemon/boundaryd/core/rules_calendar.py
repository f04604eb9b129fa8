"""Which calendar boundaryd keeps: the rules file's ``calendar:`` section and ``--calendar`` URIs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import field_validator, model_validator

from boundaryd.core.rules_scalars import FocusTime, Section
from boundaryd.errors import BadInput

_CREDENTIALS_IN_URL = re.compile(r"^https?://[^/]*@")
_SCHEMES = ("ics", "caldav", "google", "microsoft")


class IcsCalendar(Section):
    path: str


class CaldavCalendar(Section):
    url: str
    username: str | None = None
    password_env: str | None = None
    password_file: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        if _CREDENTIALS_IN_URL.match(v):
            raise ValueError("credentials never go in the URL (use username and password_env/password_file)")
        return v


class GoogleCalendar(Section):
    calendar_id: str = "primary"
    token_file: str | None = None
    focus_time: FocusTime = "auto"
    api_endpoint: str | None = None


class MicrosoftCalendar(Section):
    """Microsoft 365 / Outlook.com through Microsoft Graph (signed in by ``boundaryd auth microsoft``)."""

    #: ``primary`` (the default calendar), a calendar's name, or its Graph id
    calendar: str = "primary"
    #: the app registered in Entra ID (public client); none needed once the token file exists
    client_id: str | None = None
    #: ``common`` (work and personal accounts), ``consumers``, ``organizations`` or a tenant id
    tenant: str = "common"
    token_file: str | None = None
    #: the sign-in host (national clouds, tests); the tenant is appended
    authority: str = "https://login.microsoftonline.com"
    api_endpoint: str = "https://graph.microsoft.com/v1.0/"

    @field_validator("authority", "api_endpoint")
    @classmethod
    def _https(cls, v: str) -> str:
        if not re.match(r"^https?://[^/@]+(/|$)", v):
            raise ValueError(f"{v!r} is not an http(s) URL without credentials")
        return v


class CalendarSection(Section):
    ics: IcsCalendar | None = None
    caldav: CaldavCalendar | None = None
    google: GoogleCalendar | None = None
    microsoft: MicrosoftCalendar | None = None

    @model_validator(mode="after")
    def _one(self) -> CalendarSection:
        given = [k for k in _SCHEMES if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("calendar: give exactly one of ics, caldav, google, microsoft")
        return self


def _ics_path(path: str, given_as: str) -> str:
    """An ``ics:`` path the user named, expanded. Its folder must exist: a typo there is an error,
    not a fresh empty calendar somewhere no client looks. A missing file in an existing folder is
    a new calendar (created on the first write), the way to start one for boundaryd to keep."""
    p = Path(path).expanduser()
    if not p.parent.is_dir():
        raise BadInput(f"{p}: the folder {p.parent} does not exist (fix {given_as}, or create the folder)")
    return str(p)


@dataclass(frozen=True)
class CalendarURI:
    scheme: str  # ics | caldav | google | microsoft
    location: str

    @classmethod
    def parse(cls, uri: str) -> CalendarURI:
        scheme, sep, rest = uri.partition(":")
        if not sep or scheme not in _SCHEMES or not rest:
            raise BadInput(f"--calendar {uri}: use ics:PATH, caldav:URL, google:CALENDAR_ID or microsoft:CALENDAR")
        if scheme == "caldav" and _CREDENTIALS_IN_URL.match(rest):
            raise BadInput(f"--calendar {uri.split('@')[-1]}: credentials never go in a URI (use the rules file)")
        if scheme == "ics":
            rest = _ics_path(rest, f"--calendar {uri}")
        return cls(scheme, rest)

    @classmethod
    def of_section(cls, cal: CalendarSection | None, state_dir: str | Path) -> CalendarURI:
        """The calendar a rules file names; without a ``calendar:`` section, ``calendar.ics`` in ``state_dir``."""
        if cal is None:  # the embedded default: created, folder and all, on first use
            return cls("ics", str((Path(state_dir) / "calendar.ics").expanduser()))
        if cal.ics is not None:
            return cls("ics", _ics_path(cal.ics.path, "calendar: ics: path"))
        if cal.caldav is not None:
            return cls("caldav", cal.caldav.url)
        if cal.microsoft is not None:
            return cls("microsoft", cal.microsoft.calendar)
        assert cal.google is not None
        return cls("google", cal.google.calendar_id)

    def __str__(self) -> str:
        return f"{self.scheme}:{self.location}"
