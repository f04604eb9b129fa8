"""``doctor`` for Google: the saved token (read locally, then one refresh at Google's token
endpoint, nothing saved) and the calendar (one ``events.list`` of one event: reachable, and the
account's access role on it).

A Google OAuth app whose publishing status is *Testing* gets refresh tokens that end 7 days after
consent; Google says so in the token answer (``refresh_token_expires_in``) where it tells at all,
and refuses the token afterwards. Both read here as what to do: publish the app, authorize again.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from boundaryd.presentation.doctor import Finding

#: Google's token endpoint (google-auth's own default); a token file may name another one only on
#: this machine (tests, a local proxy), as ``google_auth.load_credentials`` allows
TOKEN_URI = "https://oauth2.googleapis.com/token"
#: scopes that let boundaryd read and write events
EVENT_SCOPES = {"https://www.googleapis.com/auth/calendar.events", "https://www.googleapis.com/auth/calendar"}
#: a refresh token that ends within this of being issued is a Testing-mode (or time-limited) grant
TESTING_LIFETIME = timedelta(days=7, minutes=5)
TIMEOUT = 15.0


def _when(t: datetime) -> str:
    return f"{t:%a %Y-%m-%d %H:%M}"


def _token_uri(info: dict[str, Any]) -> str:
    from boundaryd.calendars.google_auth import _is_loopback

    uri = str(info.get("token_uri") or "")
    return uri if uri and _is_loopback(uri) else TOKEN_URI


def _refresh(info: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One refresh-token grant; (HTTP status, JSON answer). Raises OSError when Google is unreachable."""
    import requests

    form = {"grant_type": "refresh_token", "refresh_token": info["refresh_token"],
            "client_id": info.get("client_id", ""), "client_secret": info.get("client_secret", "")}
    try:
        resp = requests.post(_token_uri(info), data=form, timeout=TIMEOUT)
    except requests.RequestException as e:
        raise OSError(str(e)) from None
    try:
        body = resp.json()
    except ValueError:
        body = {}
    return resp.status_code, body if isinstance(body, dict) else {}


def credentials(token_file: Path, now: datetime) -> Finding:
    """The Google token: there, private, with a refresh token and the events scope, accepted by Google."""
    name = str(token_file)
    try:
        info = json.loads(token_file.read_text())
    except FileNotFoundError:
        return Finding("credentials", "misconfigured", "google.none", name)
    except (OSError, ValueError) as e:
        return Finding("credentials", "misconfigured", "google.unreadable", f"{name}: {e}")
    if not isinstance(info, dict) or not info.get("refresh_token") or not info.get("client_id"):
        return Finding("credentials", "misconfigured", "google.norefresh", name)
    scopes = set(info.get("scopes") or [])
    if scopes and not scopes & EVENT_SCOPES:
        return Finding("credentials", "misconfigured", "google.scope", f"{name} ({', '.join(sorted(scopes))})")
    if os.stat(token_file).st_mode & 0o077:
        return Finding("credentials", "misconfigured", "google.mode", name)
    try:
        status, body = _refresh(info)
    except OSError as e:
        host = urllib.parse.urlsplit(_token_uri(info)).netloc
        return Finding("credentials", "unreachable", "google.down", f"{host}: {e}")
    return _answer(name, status, body, _consent(token_file), now)


def _consent(token_file: Path) -> tuple[datetime | None, int | None]:
    """When consent was given and the lifetime Google told then (``auth google`` keeps both)."""
    from boundaryd.calendars.google_auth import consent_file

    try:
        record = json.loads(consent_file(token_file).read_text())
        at = datetime.fromisoformat(record["authorized_at"])
        life = record.get("refresh_token_expires_in")
        return at, int(life) if life else None
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


def _answer(name: str, status: int, body: dict[str, Any], consent: tuple[datetime | None, int | None], now: datetime) -> Finding:
    error = str(body.get("error") or "")
    authorized, lifetime = consent
    age = f", authorized {_ago(now - authorized)}" if authorized is not None else ""
    if status == 200 and body.get("access_token"):
        until = now + timedelta(seconds=int(body.get("expires_in") or 3600))
        left = body.get("refresh_token_expires_in")
        if left is not None:
            ends: datetime | None = now + timedelta(seconds=int(left))
            testing = timedelta(seconds=int(left)) <= TESTING_LIFETIME
        elif authorized is not None and lifetime is not None:
            ends = authorized + timedelta(seconds=lifetime)
            testing = timedelta(seconds=lifetime) <= TESTING_LIFETIME
        else:
            ends, testing = None, False
        if ends is not None and testing:
            return Finding("credentials", "misconfigured", "google.testing", f"{_when(ends.astimezone(now.tzinfo))} ({_days(ends - now)})")
        if ends is not None:
            return Finding("credentials", "ok", "google.ends", f"{name}; Google ends it {_when(ends.astimezone(now.tzinfo))}")
        return Finding("credentials", "ok", "google.ok", f"{name} (access renewed until {_when(until)}{age})")
    if error == "invalid_grant":
        return Finding("credentials", "unreachable", "google.refused", f"{name} ({age[2:]})" if age else name)
    if error in ("invalid_client", "unauthorized_client"):
        return Finding("credentials", "misconfigured", "google.client", f"{name}: {error}")
    detail = f"{error}: {body.get('error_description', '')}".strip(": ") or f"HTTP {status}"
    return Finding("credentials", "unreachable", "google.down", f"token endpoint answered {detail}")


def _ago(t: timedelta) -> str:
    return "today" if t.days < 1 else f"{t.days} day{'s' if t.days != 1 else ''} ago"


def _days(left: timedelta) -> str:
    days = round(left.total_seconds() / 86400)
    if left.total_seconds() < 86400:
        return "within a day"
    return f"in {days} day{'s' if days != 1 else ''}"


def calendar(backend: Any, now: datetime) -> Finding:
    """One ``events.list`` of one event: the calendar is there, and the account may write events on it."""
    from boundaryd.calendars.google_events import rfc3339
    from boundaryd.calendars.google_http import RetryPolicy
    from boundaryd.errors import BadInput, BoundarydError

    backend.retry = RetryPolicy(budget=5.0)  # doctor answers in seconds, it does not wait out an outage
    backend.connect()
    try:
        resp = backend._execute(
            "list", lambda ev: ev.list(calendarId=backend.calendar_id, maxResults=1, singleEvents=True, timeMin=rfc3339(now))
        )
    except BadInput as e:
        return Finding("calendar", "misconfigured", "calendar.bad", "; ".join(e.problems))
    except BoundarydError as e:
        return Finding("calendar", "unreachable", "calendar.down", str(e))
    role = str((resp or {}).get("accessRole") or "")
    if role in ("reader", "freeBusyReader"):
        return Finding("calendar", "misconfigured", "google.readonly", f"{backend.name} ({role})")
    return Finding("calendar", "ok", "calendar.writable", f"{backend.name} (your access: {role or 'not reported'})")
