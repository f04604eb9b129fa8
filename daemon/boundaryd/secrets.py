"""Secrets (SMTP and CalDAV passwords) by reference: a file, an environment variable, or a
systemd credential (``LoadCredential=`` puts it in ``$CREDENTIALS_DIRECTORY``).

A secret never appears in a log line, an error message or a ``repr``: errors name where it was
looked for, never what was found.
"""

from __future__ import annotations

import os
from pathlib import Path

from boundaryd.errors import BadInput

__all__ = ["read_secret"]

#: a password file larger than this is not a password file (someone pointed at the wrong file)
MAX_SECRET_BYTES = 64 * 1024


def read_secret(*, file: str | None, env: str | None, credential: str | None, what: str) -> str | None:
    """The secret from the first source configured, else ``None`` (no secret configured).

    Order: ``file`` (``~`` expanded; one trailing newline stripped), then the environment variable
    ``env``, then ``$CREDENTIALS_DIRECTORY/<credential>`` when that directory is set and holds it.
    A file or variable that was named but is missing or unreadable is a :class:`BadInput` naming
    it; ``what`` says what the secret is for ("smtp password").
    """
    if file:
        return _from_file(Path(file).expanduser(), what, hint="check password_file in the rules file")
    if env:
        value = os.environ.get(env)
        if value is None:
            raise BadInput(f"${env}: environment variable not set ({what}: set it, or use password_file)")
        if not value:
            raise BadInput(f"${env}: environment variable is empty ({what})")
        return value
    if credential:
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if directory:
            path = Path(directory) / credential
            if path.exists():
                return _from_file(path, what, hint="check LoadCredential= in the systemd unit")
    return None


def _from_file(path: Path, what: str, *, hint: str) -> str:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_SECRET_BYTES + 1)
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file ({what}; {hint})") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory, not a file holding the {what}") from None
    except OSError as e:
        raise BadInput(f"{path}: cannot read the {what}: {e.strerror or e}") from None
    if len(raw) > MAX_SECRET_BYTES:
        raise BadInput(f"{path}: larger than {MAX_SECRET_BYTES // 1024} KiB, not a {what} file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: the {what} is not UTF-8 text") from None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text:
        raise BadInput(f"{path}: the file is empty ({what})")
    return text
