"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, plain, STARTTLS, implicit TLS, with AUTH.

    with SmtpServer(mode="starttls", users={"alice": "s3cret"}) as srv:
        cfg = srv.config(username="alice", password_env="X")
        ...
        srv.messages  # list of email.message.EmailMessage as received (parsed with the stdlib)

Certificates come from ``trustme`` (a throw-away CA made per server); ``srv.client_context`` is
an ``ssl.SSLContext`` that trusts it.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
import time
import warnings
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

if TYPE_CHECKING:
    from typing_extensions import Self



def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _QuietController(Controller):
    def factory(self) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return super().factory()


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: EmailMessage


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    refuse_rcpt: set[str] = field(default_factory=set)
    tempfail_rcpt: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address.lower() in self.refuse_rcpt:
            return "550 5.1.1 no such user here"
        if address.lower() in self.tempfail_rcpt:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = bytes(envelope.original_content or envelope.content)
        msg = email.message_from_bytes(data.replace(b"\r\n", b"\n"), policy=email.policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), data, msg))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(
        self,
        mode: str = "none",
        users: dict[str, str] | None = None,
        port: int | None = None,
        exclude_auth: tuple[str, ...] = (),
    ) -> None:
        assert mode in ("none", "starttls", "ssl")
        self.mode = mode
        self.users = users
        self.port = port or free_port()
        self.handler = _Handler()
        self.auth_attempts: list[tuple[str, bool]] = []
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.server_context)
        self.client_context = ssl.create_default_context()
        self.ca.configure_trust(self.client_context)
        kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": self.port, "enable_SMTPUTF8": True}
        if mode == "starttls":
            kwargs["tls_context"] = self.server_context
            kwargs["require_starttls"] = True
        elif mode == "ssl":
            kwargs["ssl_context"] = self.server_context
        if users is not None:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_required"] = True
            # aiosmtpd only counts STARTTLS as TLS; an implicit-TLS connection is TLS too
            kwargs["auth_require_tls"] = mode == "starttls"
            if exclude_auth:
                kwargs["auth_exclude_mechanism"] = list(exclude_auth)
        self.controller = _QuietController(self.handler, **kwargs)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self.users is not None
            and self.users.get(auth_data.login.decode()) == auth_data.password.decode()
        )
        login = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?"
        self.auth_attempts.append((f"{mechanism}:{login}", ok))
        return AuthResult(success=ok, handled=False)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received

    def config(self, **over: Any) -> SimpleNamespace:
        """An object shaped like ``rules.notify.email.smtp`` pointing at this server."""
        cfg: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": self.mode,
            "username": None,
            "password_file": None,
            "password_env": None,
            "timeout": 5.0,
        }
        cfg.update(over)
        return SimpleNamespace(**cfg)
