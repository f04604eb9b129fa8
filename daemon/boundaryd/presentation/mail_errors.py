"""What a person reads when mail does not go out: SMTP failures, delivery summaries, outbox errors.

``delivery.transport`` and ``delivery.outbox`` raise and report with these words; each is one
line, with the server's own reply cleaned and bounded (a server is a stranger too), and most
end with what to check.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from os import PathLike

from boundaryd.presentation.safe import clean_header

__all__ = [
    "NO_AUTH",
    "NO_STARTTLS",
    "UNREADABLE_MESSAGE",
    "auth_failed",
    "delivery_error",
    "describe",
    "left_in_outbox",
    "message_refused",
    "missing_password",
    "no_auth_mechanism",
    "outbox_unwritable",
    "recipients_refused",
    "sender_refused",
    "server_reply",
    "smtp_problem",
]

NO_STARTTLS = "server does not offer STARTTLS (use security: ssl, or none for a local relay)"
NO_AUTH = "server offers no AUTH on this connection (check security: starttls or ssl)"
#: the subject ``boundaryd notices`` shows for a message it cannot parse
UNREADABLE_MESSAGE = "(unreadable message)"


def server_reply(data: object) -> str:
    """A server's reply text, decoded leniently, on one line, bounded."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    return clean_header(text, 200)


def smtp_problem(host: str, port: int, text: str) -> str:
    """"smtp mail.example:587: <what went wrong>"."""
    return f"smtp {host}:{port}: {' '.join(text.split())}"


def missing_password(username: str | None) -> str:
    return (
        f"notify.email.smtp: username {username!r} is set but no password"
        " (set password_file or password_env, or LoadCredential=smtp-password)"
    )


def recipients_refused(recipients: Mapping[str, tuple[int, object]]) -> str:
    detail = "; ".join(f"{r}: {c} {server_reply(m)}" for r, (c, m) in recipients.items())
    return f"recipient refused ({detail})"


def message_refused(code: int, reply: object) -> str:
    return f"message refused ({code} {server_reply(reply)})"


def sender_refused(sender: object, code: int, reply: object) -> str:
    return f"sender {sender} refused ({code} {server_reply(reply)}; check notify.email.from)"


def auth_failed(username: str, code: int, reply: object) -> str:
    return f"authentication failed for {username!r} ({code} {server_reply(reply)}; check the password)"


def no_auth_mechanism(mechanisms: Sequence[str]) -> str:
    return "no AUTH mechanism for a non-ASCII password (server offers " + " ".join(mechanisms) + ")"


def describe(e: BaseException) -> str:
    """A failed connection or command, in words, with what to check."""
    import smtplib  # here, not at start-up: a daemon that never sends mail never loads SMTP or TLS
    import ssl
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({e.verify_message or e.reason})"
    if isinstance(e, ssl.SSLError):
        return f"TLS failed ({e.reason or e}; check security: starttls vs ssl and the port)"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timed out (server not answering; check host and port)"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused (server down, or wrong port)"
    if isinstance(e, socket.gaierror):
        return f"cannot resolve host ({e.strerror or e})"
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return f"server closed the connection ({e or 'unexpectedly'})"
    if isinstance(e, smtplib.SMTPResponseException):
        return f"{e.smtp_code} {server_reply(e.smtp_error)}"
    if isinstance(e, OSError):
        return e.strerror or str(e) or type(e).__name__
    return str(e) or type(e).__name__


def left_in_outbox(error: object) -> str:
    """A message the server refused for good: it stays in the outbox."""
    return f"{error} (left in the outbox)"


def delivery_error(errors: Sequence[str], waiting: int, outbox: str | PathLike[str]) -> str | None:
    """One line for what a delivery run could not do, or None when nothing failed."""
    error = errors[0] if len(errors) == 1 else (f"{errors[0]} (and {len(errors) - 1} more)" if errors else None)
    if error and waiting:
        error += f"; {waiting} message(s) wait in {outbox}"
    return error


def outbox_unwritable(path: str | PathLike[str], e: OSError) -> str:
    return f"{path}: cannot create the outbox: {e.strerror or e}"
