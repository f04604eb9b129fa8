"""Email out: the outbox (a Maildir), the SMTP transport, and delivery between them.

Every message boundaryd sends — conflict notices, weekly previews, iMIP replies to organizers,
alerts — is first put in the **outbox**, ``STATE/outbox``: a Maildir any mail client opens
(mutt ``-f``, NeoMutt, Evolution, Thunderbird with a Maildir account, ``python -m mailbox``).

How the outbox represents each message's state (``entries()``):

* ``STATE/outbox/{new,cur}/bd.<hash>`` — in the outbox. Its state is ``waiting`` when it is
  queued for SMTP and not sent yet (the server was down, or this sync has not delivered it yet),
  or ``outbox`` when the outbox *is* its destination: no SMTP is configured (you read it there),
  ``put(..., send=False)`` (``notify.replies: outbox``: you forward the reply yourself), or the
  server refused it for good (5xx for that message).
* ``STATE/outbox/.Sent/cur/bd.<hash>:2,S`` — accepted by the SMTP server (``sent``). ``.Sent``
  is a Maildir++ sub-folder: mail clients show it as "Sent" under the outbox.
* ``STATE/outbox/boundaryd-ledger`` — an append-only list (JSON lines) of the keys put and their
  state. It makes ``put`` idempotent even after you delete a read message in your mail client,
  and keeps ``outbox`` apart from ``waiting``. Mail clients ignore files at a Maildir's top.

``<hash>`` is the SHA-256 of the message's key, so the same key always names the same file.

Crash safety (a sync can be killed at any instruction):

* ``put`` writes the message to ``tmp/`` and fsyncs it, appends ``queued`` to the ledger and
  fsyncs, then renames the file into ``new/`` and fsyncs the directory. Killed before the
  ledger line: a stray ``tmp/`` file, ignored and overwritten by the next ``put``. Killed after
  it: the next ``Outbox`` open finishes the rename. Either way exactly one message results.
* ``mark_sent`` renames the file into ``.Sent`` first (the location is the truth), then appends
  ``sent`` to the ledger.
* ``deliver`` marks each message sent right after the server's final ``250`` for it. A kill in
  the milliseconds between the server's ``250`` and that rename is the one case where the next
  sync sends the message again; it carries the same ``Message-ID``, which mail systems use to
  drop duplicates. A message is never lost.
"""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import email.utils
import fcntl
import hashlib
import json
import os
import re
import smtplib
import socket
import ssl
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from boundaryd.core.addresses import usable_address
from boundaryd.errors import BadInput, RuntimeFailure
from boundaryd.fsutil import fsync_dir, write_synced
from boundaryd.secrets import read_secret

__all__ = [
    "MAX_MESSAGE_BYTES",
    "DeliveryReport",
    "MessageRejected",
    "Outbox",
    "OutboxEntry",
    "SmtpTransport",
    "Transport",
    "clean_header",
    "clean_text",
    "deliver",
    "format_address",
    "message_id",
    "usable_address",
]

#: every message boundaryd builds stays under this many bytes as sent (headers + encoded body)
MAX_MESSAGE_BYTES = 1_000_000

State = Literal["sent", "waiting", "outbox"]

_POLICY = email.policy.default  # \n line ends on disk; smtplib converts to CRLF on the wire

if TYPE_CHECKING:
    from typing_extensions import Self


# --- text from strangers -------------------------------------------------------------------

_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"), None)


def _as_str(value: object) -> str:
    """Any value as a str that encodes to UTF-8 (bytes decoded leniently, lone surrogates replaced)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = bytes(value).decode("utf-8", "replace")
    elif value is None:
        text = ""
    else:
        text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (e.g. from surrogateescape-decoded bytes)
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` characters; a shortened text ends with an ellipsis, never half a character."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + "…"


def clean_header(value: object, limit: int = 200) -> str:
    """One line safe for an email header: no control characters (CR, LF, NUL, line/paragraph
    separators), no bidi overrides, whitespace collapsed, at most ``limit`` characters."""
    text = _as_str(value).translate(_BIDI)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") else c for c in text)
    return _cut(" ".join(text.split()), limit)


def clean_text(value: object, limit: int = 2000) -> str:
    """Body text: newlines kept (CR/LF normalized), other control characters dropped, bounded."""
    text = _as_str(value).replace("\r\n", "\n").replace("\r", "\n").translate(_BIDI)
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cs"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return _cut(text, limit)


def format_address(name: object, addr: str) -> str:
    """``"Name" <addr>`` with the name cleaned (or just ``addr``); ``addr`` must be usable."""
    display = clean_header(name, 80).replace('"', "'").replace("\\", "/")
    return email.utils.formataddr((display, addr)) if display else addr


def message_id(key: str, domain: str) -> str:
    """A Message-ID that is the same for the same key: a re-sent message is a known duplicate."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    dom = domain if re.fullmatch(r"[A-Za-z0-9.-]{1,200}", domain or "") else "boundaryd.invalid"
    return f"<bd.{digest}@{dom}>"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]


# --- the outbox ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxEntry:
    key: str
    subject: str
    to: str
    date: datetime | None
    state: State


class Outbox:
    """``STATE/outbox``: every message boundaryd sends, as a Maildir (see the module docstring)."""

    LEDGER = "boundaryd-ledger"
    SENT = ".Sent"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            for d in (self.path, self.path / self.SENT):
                for sub in ("", "tmp", "new", "cur"):
                    (d / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
            marker = self.path / self.SENT / "maildirfolder"
            if not marker.exists():  # opening an outbox writes nothing once it exists
                marker.touch(mode=0o600)
        except OSError as e:
            raise RuntimeFailure(f"{self.path}: cannot create the outbox: {e.strerror or e}") from None
        self._recover()

    # -- public ---------------------------------------------------------------------------
    def put(self, key: str, msg: EmailMessage, *, send: bool = True) -> bool:
        """Queue ``msg`` under ``key``. True if queued now; False if that key was put before
        (queued, sent, or read and deleted by you). ``send=False`` keeps it in the outbox for
        you to read or forward: no transport will send it."""
        with self._lock():
            ledger = self._ledger()
            h = _hash(key)
            if h in ledger:
                return False
            data = msg.as_bytes(policy=_POLICY)
            tmp = self.path / "tmp" / f"bd.{h}"
            write_synced(tmp, data)
            self._append({"h": h, "k": key, "s": "queued" if send else "outbox"})
            os.rename(tmp, self.path / "new" / f"bd.{h}")
            fsync_dir(self.path / "new")
            fsync_dir(self.path / "tmp")
            return True

    def pending(self) -> list[tuple[str, EmailMessage]]:
        """Messages waiting for a transport, oldest first."""
        out: list[tuple[str, EmailMessage]] = []
        for key, h, state in self._states():
            if state != "waiting":
                continue
            path = self._find(h, sent=False)
            if path is None:
                continue
            with path.open("rb") as f:
                msg = email.message_from_binary_file(f, policy=_POLICY)
            assert isinstance(msg, EmailMessage)
            out.append((key, msg))
        return out

    def mark_sent(self, key: str) -> None:
        """The server accepted the message: move it to ``.Sent``. Idempotent."""
        with self._lock():
            h = _hash(key)
            src = self._find(h, sent=False)
            if src is not None:
                os.rename(src, self.path / self.SENT / "cur" / f"bd.{h}:2,S")
                fsync_dir(self.path / self.SENT / "cur")
                fsync_dir(src.parent)
            if self._ledger().get(h, ("", ""))[1] != "sent":
                self._append({"h": h, "s": "sent"})

    def keep(self, key: str) -> None:
        """Stop waiting for a transport: the message stays in the outbox for the user (``outbox``)."""
        with self._lock():
            h = _hash(key)
            if self._ledger().get(h, ("", ""))[1] == "queued" and self._find(h, sent=True) is None:
                self._append({"h": h, "s": "outbox"})

    def state(self, key: str) -> State | None:
        """The state of ``key``'s message, None if never put."""
        h = _hash(key)
        for _, hh, st in self._states():
            if hh == h:
                return st
        return None

    def entries(self) -> list[OutboxEntry]:
        """Every message still on disk, with its state, oldest first."""
        out: list[OutboxEntry] = []
        for key, h, state in self._states():
            path = self._find(h, sent=state == "sent")
            if path is None:
                continue
            try:
                with path.open("rb") as f:
                    msg = email.message_from_binary_file(f, policy=_POLICY)
                date_h = msg.get("Date")
                when = email.utils.parsedate_to_datetime(str(date_h)) if date_h else None
                out.append(OutboxEntry(key, str(msg.get("Subject", "")), str(msg.get("To", "")), when, state))
            except (OSError, ValueError, TypeError, IndexError):
                out.append(OutboxEntry(key, "(unreadable message)", "", None, state))
        return out

    # -- internals ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        fd = os.open(self.path / ".boundaryd-lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _ledger(self) -> dict[str, tuple[str, str]]:
        """hash -> (key, last ledger state); a torn last line (killed mid-append) is ignored."""
        out: dict[str, tuple[str, str]] = {}
        try:
            raw = (self.path / self.LEDGER).read_bytes()
        except FileNotFoundError:
            return out
        for line in raw.splitlines():
            try:
                rec = json.loads(line)
                h, s = rec["h"], rec["s"]
            except (ValueError, KeyError, TypeError):
                continue
            key = rec.get("k", out.get(h, ("", ""))[0])
            out[h] = (key, s)
        return out

    def _append(self, rec: dict[str, str]) -> None:
        line = json.dumps(rec, ensure_ascii=True).encode() + b"\n"
        fd = os.open(self.path / self.LEDGER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            # a torn line from an earlier kill would swallow this one: start on a fresh line
            size = os.fstat(fd).st_size
            if size:
                with open(self.path / self.LEDGER, "rb") as f:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _states(self) -> list[tuple[str, str, State]]:
        out: list[tuple[str, str, State]] = []
        for h, (key, s) in self._ledger().items():
            if s == "sent" or self._find(h, sent=True) is not None:
                out.append((key, h, "sent"))
            elif s == "queued":
                out.append((key, h, "waiting"))
            else:
                out.append((key, h, "outbox"))
        return out

    def _find(self, h: str, *, sent: bool) -> Path | None:
        base = self.path / self.SENT if sent else self.path
        name = f"bd.{h}"
        for sub in ("new", "cur"):
            d = base / sub
            p = d / name
            if p.exists():
                return p
            try:
                for entry in os.scandir(d):
                    if entry.name.startswith(name + ":") or entry.name.startswith(name + "!"):
                        return Path(entry.path)
            except FileNotFoundError:
                pass
        return None

    def _recover(self) -> None:
        """Finish a ``put`` killed between its ledger line and its rename."""
        with self._lock():
            ledger = self._ledger()
            for tmp in (self.path / "tmp").glob("bd.*"):
                h = tmp.name[3:]
                if h in ledger and self._find(h, sent=False) is None and self._find(h, sent=True) is None:
                    os.rename(tmp, self.path / "new" / tmp.name)
                    fsync_dir(self.path / "new")
                else:
                    tmp.unlink(missing_ok=True)


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
                raise BadInput(
                    f"notify.email.smtp: username {self.username!r} is set but no password"
                    " (set password_file or password_env, or LoadCredential=smtp-password)"
                )
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
        conn = self._conn or self._connect()
        self._conn = conn
        try:
            refused = conn.send_message(msg)
        except smtplib.SMTPRecipientsRefused as e:
            self._reset()
            codes = [c for c, _ in e.recipients.values()]
            detail = "; ".join(f"{r}: {c} {_decode(m)}" for r, (c, m) in e.recipients.items())
            exc = MessageRejected if codes and all(500 <= c < 600 for c in codes) else RuntimeFailure
            raise exc(self._fail(f"recipient refused ({detail})")) from None
        except smtplib.SMTPDataError as e:
            self._reset()
            exc = MessageRejected if 500 <= e.smtp_code < 600 else RuntimeFailure
            raise exc(self._fail(f"message refused ({e.smtp_code} {_decode(e.smtp_error)})")) from None
        except smtplib.SMTPSenderRefused as e:
            self.close()
            raise RuntimeFailure(
                self._fail(f"sender {e.sender} refused ({e.smtp_code} {_decode(e.smtp_error)}; check notify.email.from)")
            ) from None
        except (smtplib.SMTPException, OSError) as e:
            self.close()
            raise RuntimeFailure(self._fail(_describe(e))) from None
        del refused  # some recipients refused, others accepted: the message went out

    # -- internals ------------------------------------------------------------------------
    def _fail(self, text: str) -> str:
        return f"smtp {self.host}:{self.port}: {' '.join(text.split())}"

    def _reset(self) -> None:
        if self._conn is not None:
            try:
                self._conn.rset()
            except (smtplib.SMTPException, OSError):
                self.close()

    def _context(self) -> ssl.SSLContext:
        return self._ssl if self._ssl is not None else ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        conn: smtplib.SMTP | None = None
        try:
            if self.security == "ssl":
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise RuntimeFailure(self._fail("server does not offer STARTTLS (use security: ssl, or none for a local relay)"))
                conn.starttls(context=self._context())
                conn.ehlo()
            if self.username:
                assert self._password is not None
                try:
                    _login(conn, self.username, self._password)
                except smtplib.SMTPAuthenticationError as e:
                    raise RuntimeFailure(
                        self._fail(f"authentication failed for {self.username!r} ({e.smtp_code} {_decode(e.smtp_error)}; check the password)")
                    ) from None
                except smtplib.SMTPNotSupportedError:
                    raise RuntimeFailure(
                        self._fail("server offers no AUTH on this connection (check security: starttls or ssl)")
                    ) from None
            return conn
        except RuntimeFailure:
            _close_quietly(conn)
            raise
        except (smtplib.SMTPException, OSError) as e:
            _close_quietly(conn)
            raise RuntimeFailure(self._fail(_describe(e))) from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _login(conn: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH; smtplib's own when the credentials are ASCII, else PLAIN/LOGIN in UTF-8 (RFC 4616)."""
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
        raise smtplib.SMTPException("no AUTH mechanism for a non-ASCII password (server offers " + " ".join(mechs) + ")")
    if code not in (235, 503):
        raise smtplib.SMTPAuthenticationError(code, resp)


def _close_quietly(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()


def _decode(data: object) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    return clean_header(text, 200)


def _describe(e: BaseException) -> str:
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
        return f"{e.smtp_code} {_decode(e.smtp_error)}"
    if isinstance(e, OSError):
        return e.strerror or str(e) or type(e).__name__
    return str(e) or type(e).__name__


# --- delivery ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryReport:
    sent: int  # accepted by the SMTP server in this call
    waiting: int  # still queued for SMTP (server down): sent by a later deliver
    error: str | None  # one line, when something failed
    outbox: int = 0  # left in the outbox for the user in this call (no SMTP, or refused for good)


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
                errors.append(f"{e} (left in the outbox)")
                continue
            except RuntimeFailure as e:
                errors.append(str(e))
                break
            outbox.mark_sent(key)
            sent += 1
    waiting = len(pending) - sent - kept
    error = errors[0] if len(errors) == 1 else (f"{errors[0]} (and {len(errors) - 1} more)" if errors else None)
    if error and waiting:
        error += f"; {waiting} message(s) wait in {outbox.path}"
    return DeliveryReport(sent=sent, waiting=waiting, error=error, outbox=kept)
