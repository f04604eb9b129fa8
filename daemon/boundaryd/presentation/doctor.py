"""``boundaryd doctor``'s words: one line per part, ``ok`` or what is wrong and what to do."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Finding", "line", "summary", "words"]

#: how each status reads at the start of a line
_MARK = {"ok": "ok", "note": "ok", "unreachable": "FAIL", "misconfigured": "FIX"}

#: what each finding says, by code; ``{detail}`` is the backend's or server's own one-line reason
words: dict[str, str] = {
    "rules.ok": "{detail}",
    "rules.bad": "{detail}",
    "calendar.ok": "{detail} is reachable and readable",
    "calendar.new": "{detail} does not exist yet; it is created on the first sync",
    "calendar.readonly": "{detail}: the folder is not writable (boundaryd cannot write blocks; fix its permissions)",
    "calendar.bad": "{detail}",
    "calendar.down": "{detail}",
    "credentials.none": "none needed ({detail})",
    "credentials.ok": "{detail}",
    "credentials.missing": "{detail}",
    "smtp.none": "no SMTP configured: replies and notices wait in the outbox (add notify.email.smtp to send them)",
    "smtp.ok": "logged in to {detail} (no mail sent)",
    "smtp.bad": "{detail}",
    "smtp.down": "{detail}",
    "unit.ok": "installed at {detail}",
    "unit.none": "not installed ({detail}; run `boundaryd service install` to keep boundaryd running)",
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
