"""``boundaryd doctor``: check every configured part and say, one line each, ok or what to do.

Exit 0 when all are ok, 1 when something is unreachable, 2 when something is misconfigured.
Reads the calendar once (a day of it) and logs in to SMTP without sending; changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from boundaryd.errors import BadInput, BoundarydError, RuntimeFailure
from boundaryd.presentation.doctor import Finding

EXIT = {"ok": 0, "note": 0, "unreachable": 1, "misconfigured": 2}


def findings(rules_path: Path, state_dir: Path, calendar: str | None = None) -> Iterator[Finding]:
    from boundaryd.core.rules import load_rules

    try:
        rules = load_rules(rules_path)
    except BadInput as e:
        for p in e.problems:
            yield Finding("rules", "misconfigured", "rules.bad", p)
        for part in ("calendar", "credentials", "smtp"):
            yield Finding(part, "misconfigured", "skipped")
        yield _unit()
        return
    yield Finding("rules", "ok", "rules.ok", f"{rules_path}: {len(rules.blocks)} blocks, times in {rules.timezone}")
    yield _calendar(rules, state_dir, calendar)
    yield _credentials(rules)
    yield _smtp(rules)
    yield _unit()


def _calendar(rules: object, state_dir: Path, calendar: str | None) -> Finding:
    from boundaryd.calendars import open_backend

    try:
        backend = open_backend(rules, calendar, str(state_dir))  # type: ignore[arg-type]
        backend.connect()
        now = datetime.now(timezone.utc)
        backend.snapshot(now, now + timedelta(days=1), rules.tz)  # type: ignore[attr-defined]
    except BadInput as e:
        return Finding("calendar", "misconfigured", "calendar.bad", "; ".join(e.problems))
    except (RuntimeFailure, BoundarydError) as e:
        return Finding("calendar", "unreachable", "calendar.down", str(e))
    name = str(getattr(backend, "name", calendar or "calendar"))
    path = getattr(backend, "path", None)
    if isinstance(path, Path):
        if not path.exists():
            return Finding("calendar", "ok", "calendar.new", str(path))
        if not os.access(path.parent, os.W_OK) or not os.access(path, os.W_OK):
            return Finding("calendar", "misconfigured", "calendar.readonly", str(path))
    return Finding("calendar", "ok", "calendar.ok", name)


def _credentials(rules: object) -> Finding:
    from boundaryd.secrets import read_secret

    cal = getattr(rules, "calendar", None)
    if cal is None or cal.ics is not None:
        return Finding("credentials", "ok", "credentials.none", "a local calendar file")
    if cal.caldav is not None:
        c = cal.caldav
        if not c.username:
            return Finding("credentials", "ok", "credentials.none", "CalDAV without a login")
        try:
            secret = read_secret(file=c.password_file, env=c.password_env, credential="caldav-password", what="caldav password")
        except BadInput as e:
            return Finding("credentials", "misconfigured", "credentials.missing", "; ".join(e.problems))
        if secret is None:
            return Finding("credentials", "misconfigured", "credentials.missing",
                           f"CalDAV user {c.username} has no password (set calendar.caldav.password_env or password_file)")
        return Finding("credentials", "ok", "credentials.ok", f"CalDAV password for {c.username} found")
    if cal.microsoft is not None:  # the token file: MSAL's cache (`boundaryd auth microsoft`)
        m = Path(cal.microsoft.token_file).expanduser() if cal.microsoft.token_file else None
        if m is not None and not m.exists():
            return Finding("credentials", "misconfigured", "credentials.missing",
                           "no Microsoft token file (run `boundaryd auth microsoft --client-id ID`)")
        return Finding("credentials", "ok", "credentials.ok", f"Microsoft token in {m or 'the state dir'}")
    g = cal.google
    token = Path(g.token_file).expanduser() if g.token_file else None
    if token is None or not token.exists():
        return Finding("credentials", "misconfigured", "credentials.missing",
                       "no Google token file (run `boundaryd auth google --client-secrets FILE`)")
    return Finding("credentials", "ok", "credentials.ok", f"Google token in {token}")


def _smtp(rules: object) -> Finding:
    from boundaryd.delivery.transport import SmtpTransport

    email = getattr(getattr(rules, "notify", None), "email", None)
    if email is None or email.smtp is None:
        return Finding("smtp", "ok", "smtp.none")
    try:
        t = SmtpTransport(email.smtp)
        conn = t._connect()  # connect, TLS and login: what sending needs, without a message
        conn.quit()
    except BadInput as e:
        return Finding("smtp", "misconfigured", "smtp.bad", "; ".join(e.problems))
    except BoundarydError as e:
        return Finding("smtp", "unreachable", "smtp.down", str(e))
    return Finding("smtp", "ok", "smtp.ok", f"{t.host}:{t.port}")


def _unit() -> Finding:
    from boundaryd.service.unit import user_unit_path

    path = user_unit_path()
    if path.exists():
        return Finding("unit", "ok", "unit.ok", str(path))
    return Finding("unit", "note", "unit.none", str(path))


def exit_code(found: list[Finding]) -> int:
    return max((EXIT[f.status] for f in found), default=0)
