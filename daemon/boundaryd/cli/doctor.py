"""``boundaryd doctor``: check every configured part and say, one line each, ok or what to do.

Parts, in order: rules, calendar, credentials, scheduling (who tells organizers of a decline),
SMTP, the service unit. Exit 0 when all are ok, 1 when something is unreachable (or a token is
refused), 2 when something is misconfigured. Reads a day of the calendar, asks Google's token
endpoint once, logs in to SMTP without sending; writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from boundaryd.cli import doctor_busy
from boundaryd.core.model import Capabilities
from boundaryd.errors import BadInput, BoundarydError
from boundaryd.presentation.doctor import Finding

EXIT = {"ok": 0, "note": 0, "unreachable": 1, "misconfigured": 2}


def findings(
    rules_path: Path, state_dir: Path, calendar: str | None = None, now: datetime | None = None
) -> Iterator[Finding]:
    from boundaryd.cli import doctor_calendar
    from boundaryd.core.rules import load_rules

    try:
        rules = load_rules(rules_path)
    except BadInput as e:
        for p in e.problems:
            yield Finding("rules", "misconfigured", "rules.bad", p)
        for part in ("calendar", "credentials", "scheduling", "smtp"):
            yield Finding(part, "misconfigured", "skipped")
        yield unit(rules_path, state_dir)
        return
    t = (now or datetime.now(timezone.utc)).astimezone(rules.tz)
    yield Finding("rules", "ok", "rules.ok", f"{rules_path}: {len(rules.blocks)} blocks, times in {rules.timezone}")
    found, caps = doctor_calendar.check(rules, state_dir, calendar, t)
    yield found
    yield from doctor_busy.findings(rules, state_dir)  # one line per busy_from source
    yield _credentials(rules, state_dir, calendar, t)
    yield scheduling(rules, caps, calendar)
    yield _smtp(rules)
    yield unit(rules_path, state_dir)


def _credentials(rules: Any, state_dir: Path, uri: str | None, now: datetime) -> Finding:
    from boundaryd.secrets import read_secret

    cal = rules.calendar
    scheme = (uri or "").partition(":")[0] or (
        "google" if cal and cal.google else "caldav" if cal and cal.caldav
        else "microsoft" if cal and getattr(cal, "microsoft", None) else "ics"
    )
    if scheme == "microsoft":  # the token file: MSAL's cache (`boundaryd auth microsoft`)
        ms = cal.microsoft if cal is not None else None
        m = Path(ms.token_file).expanduser() if ms is not None and ms.token_file else None
        if m is not None and not m.exists():
            return Finding("credentials", "misconfigured", "credentials.missing",
                           "no Microsoft token file (run `boundaryd auth microsoft --client-id ID`)")
        return Finding("credentials", "ok", "credentials.ok", f"Microsoft token in {m or 'the state dir'}")
    if scheme == "google":
        from boundaryd.calendars.google_auth import default_token_file
        from boundaryd.cli import doctor_google

        g = cal.google if cal is not None else None
        token = Path(g.token_file).expanduser() if g is not None and g.token_file else default_token_file(state_dir)
        return doctor_google.credentials(token, now)
    if scheme != "caldav" or cal is None or cal.caldav is None:
        return Finding("credentials", "ok", "credentials.none", "a local calendar file" if scheme == "ics" else scheme)
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


def scheduling(rules: Any, caps: Capabilities | None, uri: str | None) -> Finding:
    """Who tells an organizer that boundaryd declined their meeting."""
    mode = rules.notify.replies
    email = rules.notify.email
    smtp = email.smtp if email is not None else None
    if caps is None:
        return Finding("scheduling", "note", "sched.unknown")
    if caps.tells_organizer:
        scheme = (uri or "").partition(":")[0] or next(
            (k for k in ("google", "microsoft") if rules.calendar is not None and getattr(rules.calendar, k, None)), ""
        )
        return Finding("scheduling", "ok", {"google": "sched.google", "microsoft": "sched.microsoft"}.get(scheme, "sched.server"))
    if mode == "off":
        return Finding("scheduling", "note", "sched.off")
    if mode == "outbox":
        return Finding("scheduling", "note", "sched.outbox")
    if smtp is None:
        return Finding("scheduling", "note", "sched.nosmtp")
    return Finding("scheduling", "ok", "sched.smtp", f"{smtp.host}:{smtp.port}")


def _smtp(rules: Any) -> Finding:
    from boundaryd.delivery.transport import SmtpTransport

    email = rules.notify.email
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


def unit(rules_path: Path, state_dir: Path, path: Path | None = None) -> Finding:
    """The user unit: installed, its command there, not in a source checkout, on these rules."""
    import os

    from boundaryd.service.unit import checkout_problem, unit_exec, user_unit_path

    path = user_unit_path() if path is None else path
    if not path.exists():
        return Finding("unit", "note", "unit.none", str(path))
    try:
        words = unit_exec(path.read_text(encoding="utf-8"))
    except OSError as e:
        return Finding("unit", "misconfigured", "unit.bad", f"{path}: {e.strerror or e}")
    exe = Path(words[0]) if words else None
    if exe is None or not exe.is_absolute() or not (exe.is_file() and os.access(exe, os.X_OK)):
        return Finding("unit", "misconfigured", "unit.noexe", f"{path}: ExecStart runs {exe or 'nothing'}")
    problem = checkout_problem(exe, package=_package_of(exe))
    if problem:
        return Finding("unit", "misconfigured", "unit.checkout", problem)
    rules_in = words[words.index("--rules") + 1] if "--rules" in words[:-1] else None
    if rules_in is not None and Path(rules_in) != rules_path.absolute():
        return Finding("unit", "note", "unit.otherrules", f"{path} runs {rules_in}")
    del state_dir  # the unit's own --state is its business
    return Finding("unit", "ok", "unit.ok", f"{path} (runs {exe})")


def _package_of(exe: Path) -> Path:
    """Where the unit's command imports boundaryd from: its venv's copy, else (a launcher we cannot
    follow) the command itself, so only the command's own place is judged."""
    venv = exe.resolve().parent.parent
    for lib in sorted(venv.glob("lib/python3*/site-packages/boundaryd")):
        return lib
    for pth in sorted(venv.glob("lib/python3*/site-packages/__editable__*boundaryd*.pth")):
        target = pth.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        if target and target[0].startswith("/"):
            return Path(target[0]) / "boundaryd"
    return exe


def exit_code(found: list[Finding]) -> int:
    return max((EXIT[f.status] for f in found), default=0)
