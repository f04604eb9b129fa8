"""SMTP out of the outbox: the transport, and delivery of what waits in the outbox.

``deliver`` sends every waiting message through a :class:`Transport` (``SmtpTransport`` in
production, a local server in the tests) and marks each one sent right after the server's final
``250`` for it; a server that fails leaves the rest waiting. See ``delivery.outbox`` for what a
kill between the ``250`` and that mark means.
"""

from __future__ import annotations

import base64
import contextlib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Protocol

from boundaryd.delivery.outbox import Outbox
from boundaryd.errors import BadInput, RuntimeFailure
from boundaryd.presentation import mail_errors as words
from boundaryd.secrets import read_secret

if TYPE_CHECKING:
    import smtplib
    import ssl

    from typing_extensions import Self

__all__ = ["DeliveryReport", "MessageRejected", "SmtpTransport", "Transport", "deliver"]


# --- SMTP ----------------------------------------------------------------------------------


class Transport(Protocol):
    def send(self, msg: EmailMessage) -> None:
        """Hand ``msg`` to the server; return only once it accepted it. Raises RuntimeFailure
        (MessageRejected when the server refused this message for good)."""
        ...


class MessageRejected(RuntimeFailure):
    """The server refused this one message permanently (5xx on its recipient or its data)."""


class SmtpTransport:
    """SMTP with ``security: starttls | ssl | none``, AUTH when ``username`` is set, and
    ``timeout`` seconds on the connect and on every command.

    ``ssl_context`` is for tests (a private CA); ``None`` means the system's trusted CAs and
    hostname checking. ``with transport:`` keeps one connection for several messages;
    ``send`` outside it connects for that message only.
    """

    def __init__(self, cfg: Any, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.host: str = cfg.host
        self.port: int = int(cfg.port)
        self.security: str = cfg.security
        self.username: str | None = cfg.username
        self.timeout: float = float(cfg.timeout)
        self._password: str | None = None
        if self.username:
            self._password = read_secret(
                file=cfg.password_file, env=cfg.password_env, credential="smtp-password", what="smtp password"
            )
            if self._password is None:
                raise BadInput(words.missing_password(self.username))
        self._ssl = ssl_context
        self._conn: smtplib.SMTP | None = None

    def __repr__(self) -> str:  # never shows the password
        return f"SmtpTransport({self.host}:{self.port}, security={self.security}, username={self.username!r})"

    @property
    def name(self) -> str:
        return f"smtp {self.host}:{self.port}"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.quit()
            with contextlib.suppress(Exception):
                conn.close()

    def send(self, msg: EmailMessage) -> None:
        import smtplib  # here, not at start-up: a daemon that sends no mail never loads SMTP or TLS
        conn = self._conn or self._connect()
        self._conn = conn
        try:
            refused = conn.send_message(msg)
        except smtplib.SMTPRecipientsRefused as e:
            self._reset()
            codes = [c for c, _ in e.recipients.values()]
            exc = MessageRejected if codes and all(500 <= c < 600 for c in codes) else RuntimeFailure
            raise exc(self._fail(words.recipients_refused(e.recipients))) from None
        except smtplib.SMTPDataError as e:
            self._reset()
            exc = MessageRejected if 500 <= e.smtp_code < 600 else RuntimeFailure
            raise exc(self._fail(words.message_refused(e.smtp_code, e.smtp_error))) from None
        except smtplib.SMTPSenderRefused as e:
            self.close()
            raise RuntimeFailure(self._fail(words.sender_refused(e.sender, e.smtp_code, e.smtp_error))) from None
        except (smtplib.SMTPException, OSError) as e:
            self.close()
            raise RuntimeFailure(self._fail(words.describe(e))) from None
        del refused  # some recipients refused, others accepted: the message went out

    # -- internals ------------------------------------------------------------------------
    def _fail(self, text: str) -> str:
        return words.smtp_problem(self.host, self.port, text)

    def _reset(self) -> None:
        import smtplib
        if self._conn is not None:
            try:
                self._conn.rset()
            except (smtplib.SMTPException, OSError):
                self.close()

    def _context(self) -> ssl.SSLContext:
        import ssl
        return self._ssl if self._ssl is not None else ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        import smtplib
        conn: smtplib.SMTP | None = None
        try:
            if self.security == "ssl":
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise RuntimeFailure(self._fail(words.NO_STARTTLS))
                conn.starttls(context=self._context())
                conn.ehlo()
            if self.username:
                assert self._password is not None
                try:
                    _login(conn, self.username, self._password)
                except smtplib.SMTPAuthenticationError as e:
                    raise RuntimeFailure(self._fail(words.auth_failed(self.username, e.smtp_code, e.smtp_error))) from None
                except smtplib.SMTPNotSupportedError:
                    raise RuntimeFailure(self._fail(words.NO_AUTH)) from None
            return conn
        except RuntimeFailure:
            _close_quietly(conn)
            raise
        except (smtplib.SMTPException, OSError) as e:
            _close_quietly(conn)
            raise RuntimeFailure(self._fail(words.describe(e))) from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _login(conn: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH; smtplib's own when the credentials are ASCII, else PLAIN/LOGIN in UTF-8 (RFC 4616)."""
    import smtplib
    if user.isascii() and password.isascii():
        conn.login(user, password)
        return
    if not conn.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("AUTH not offered")
    mechs = (conn.esmtp_features.get("auth") or "").upper().split()
    if "PLAIN" in mechs:
        code, resp = conn.docmd("AUTH", "PLAIN " + _b64(b"\0" + user.encode() + b"\0" + password.encode()))
    elif "LOGIN" in mechs:
        code, resp = conn.docmd("AUTH", "LOGIN " + _b64(user.encode()))
        if code == 334:
            code, resp = conn.docmd(_b64(password.encode()))
    else:
        raise smtplib.SMTPException(words.no_auth_mechanism(mechs))
    if code not in (235, 503):
        raise smtplib.SMTPAuthenticationError(code, resp)


def _close_quietly(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()


# --- delivery ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryReport:
    sent: int  # accepted by the SMTP server in this call
    waiting: int  # still queued for SMTP (server down): sent by a later deliver
    error: str | None  # one line, when something failed
    outbox: int = 0  # kept in the outbox for the user in this call (no SMTP, or refused for good)


def deliver(outbox: Outbox, transport: Transport | None) -> DeliveryReport:
    """Send what waits. With no transport the outbox is the destination: waiting messages become
    ``outbox`` entries. A server that fails leaves the rest waiting; nothing is lost or doubled."""
    pending = outbox.pending()
    if transport is None:
        for key, _ in pending:
            outbox.keep(key)
        return DeliveryReport(sent=0, waiting=0, error=None, outbox=len(pending))
    if not pending:
        return DeliveryReport(sent=0, waiting=0, error=None)
    sent = kept = 0
    errors: list[str] = []
    with contextlib.ExitStack() as stack:
        if hasattr(transport, "__enter__") and hasattr(transport, "__exit__"):
            stack.enter_context(transport)  # type: ignore[arg-type]
        for key, msg in pending:
            try:
                transport.send(msg)
            except MessageRejected as e:
                outbox.keep(key)
                kept += 1
                errors.append(words.left_in_outbox(e))
                continue
            except RuntimeFailure as e:
                errors.append(str(e))
                break
            outbox.mark_sent(key)
            sent += 1
    waiting = len(pending) - sent - kept
    error = words.delivery_error(errors, waiting, outbox.path)
    return DeliveryReport(sent=sent, waiting=waiting, error=error, outbox=kept)
