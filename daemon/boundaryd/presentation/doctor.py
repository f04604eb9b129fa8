"""``boundaryd doctor``'s words: one line per part, ``ok`` or what is wrong and what to do."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Finding", "line", "summary", "words"]

#: how each status reads at the start of a line
_MARK = {"ok": "ok", "note": "note", "unreachable": "FAIL", "misconfigured": "FIX"}

#: what each finding says, by code; ``{detail}`` is the backend's or server's own one-line reason
_PUBLISH = (
    "publish the OAuth app (Google Cloud console: Google Auth Platform > Audience > Publish app),"
    " then run `boundaryd auth google --client-secrets FILE` again"
)

words: dict[str, str] = {
    "rules.ok": "{detail}",
    "rules.bad": "{detail}",
    "calendar.ok": "{detail} is reachable and readable",
    "calendar.writable": "{detail} is reachable, readable and writable",
    "calendar.new": "{detail} does not exist yet; it is created on the first sync",
    "calendar.readonly": "{detail}: the folder is not writable (boundaryd cannot write blocks; fix its permissions)",
    "calendar.bad": "{detail}",
    "calendar.down": "{detail}",
    "caldav.ok": "{detail}: a calendar of events, reachable, readable and writable",
    "caldav.unsure": "{detail}: a calendar of events, reachable and readable (the server does not say whether you may write)",
    "caldav.notcalendar": "{detail} is not a calendar collection (use the calendar's URL from the server's settings page)",
    "caldav.noevents": "{detail} holds no events, only other items (use the URL of a calendar of events)",
    "caldav.readonly": "{detail}: this account may not write to this calendar (boundaryd writes blocks and answers;"
    " share it with write access, or use a calendar of your own)",
    "google.readonly": "{detail}: your access is read-only, so boundaryd cannot write blocks (use a calendar you own,"
    " or ask its owner for \"Make changes to events\")",
    "credentials.none": "none needed ({detail})",
    "credentials.ok": "{detail}",
    "credentials.missing": "{detail}",
    "google.none": "{detail}: no Google token yet (run `boundaryd auth google --client-secrets FILE`)",
    "google.unreadable": "{detail} (not a Google token file: run `boundaryd auth google --client-secrets FILE`)",
    "google.norefresh": "{detail} has no refresh token, so access ends within the hour"
    " (run `boundaryd auth google --client-secrets FILE` again)",
    "google.scope": "{detail}: the token does not allow writing events"
    " (run `boundaryd auth google --client-secrets FILE` again and allow calendar access)",
    "google.mode": "{detail} is readable by others (run `chmod 600 {detail}`)",
    "google.ok": "Google accepted the token in {detail}",
    "google.ends": "Google accepted the token in {detail}",
    "google.testing": "Google accepted the token but ends it on {detail}: the OAuth app is in Testing mode,"
    " where Google ends tokens 7 days after consent; " + _PUBLISH,
    "google.refused": "Google refused the token in {detail}: it expired or was revoked. An OAuth app in Testing mode"
    " loses its token 7 days after consent: " + _PUBLISH,
    "google.client": "Google does not know the OAuth client of {detail} (deleted, or its secret reset):"
    " run `boundaryd auth google` with the client's current JSON",
    "google.down": "cannot check the Google token: {detail}",
    "sched.google": "Google tells organizers when boundaryd declines",
    "sched.microsoft": "Microsoft 365 tells organizers when boundaryd declines (with the message and a proposed new time)",
    "sched.server": "the calendar server tells organizers when boundaryd declines (CalDAV scheduling)",
    "sched.smtp": "boundaryd tells organizers itself: a reply to each decline, sent over SMTP ({detail})",
    "sched.nosmtp": "nobody tells organizers yet: replies wait in the outbox (add notify.email.smtp to send them,"
    " or send them yourself from the outbox)",
    "sched.outbox": "replies: outbox: each reply waits in the outbox for you to send",
    "sched.off": "replies: off: organizers are not told of declines (the calendar server does not tell them)",
    "sched.unknown": "not known: the calendar could not be reached",
    "smtp.none": "no SMTP configured: replies and notices wait in the outbox (add notify.email.smtp to send them)",
    "smtp.ok": "logged in to {detail} (no mail sent)",
    "smtp.bad": "{detail}",
    "smtp.down": "{detail}",
    "unit.ok": "installed: {detail}",
    "unit.none": "not installed ({detail}; run `boundaryd service install` to keep boundaryd running)",
    "unit.bad": "{detail}",
    "unit.noexe": "{detail}, which is not there (run `make install` in the clone, then `boundaryd service install`)",
    "unit.checkout": "{detail}",
    "unit.otherrules": "{detail}, not this rules file (run `boundaryd service install` to use this one)",
    "skipped": "not checked: the rules file does not load",
}


@dataclass(frozen=True)
class Finding:
    part: str
    status: str  # ok | note | unreachable | misconfigured
    code: str
    detail: str = ""


def line(f: Finding) -> str:
    """"rules        ok    /home/a/rules.yaml: 7 blocks, times in America/Toronto"."""
    text = words[f.code].format(detail=f.detail)
    return f"{f.part:<12} {_MARK[f.status]:<5} {text}"


def summary(found: list[Finding]) -> str:
    """The error line after the table: "doctor: 1 part to fix, 1 unreachable (see above)"."""
    fix = len({f.part for f in found if f.status == "misconfigured"})
    down = len({f.part for f in found if f.status == "unreachable"})
    parts = [f"{fix} part{'s' if fix != 1 else ''} to fix"] if fix else []
    parts += [f"{down} unreachable"] if down else []
    return "doctor: " + ", ".join(parts) + " (see above)"
