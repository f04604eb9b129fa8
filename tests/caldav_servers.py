"""pytest fixtures for real CalDAV servers, and a fault-injecting HTTP proxy to put in front of them.

    from caldav_servers import radicale_server, radicale_htpasswd_server, xandikos_server  # noqa: F401

Each server fixture yields a :class:`dav_servers.DavServer` (``.url`` the calendar collection,
``.username`` / ``.password`` None without auth, ``.root``, ``.name``), started as a subprocess on
127.0.0.1 on a free port with its storage under the test's ``tmp_path``, and stopped afterwards.

- ``radicale_server``: Radicale with ``--auth-type none``.
- ``radicale_htpasswd_server``: Radicale with an htpasswd file made here (sha512-crypt, so the
  hashed path is exercised; ``dav_servers.start_radicale(htpasswd=True)`` gives a plain one).
- ``xandikos_server``: Xandikos (``--defaults``: principal ``user``, collection
  ``user/calendars/calendar/``), which does CalDAV scheduling (RFC 6638), with its outbound iMIP
  going to an aiosmtpd server started here: ``server.extra["smtp"]`` is that
  :class:`smtp_server.SmtpServer` (``.wait_for(n)``, ``.received``).

:class:`FaultProxy` understands just enough HTTP to act per request: each request is forwarded
on its own upstream connection (``Connection: close``), so a test can let the REPORT through and
cut the answer to the PUT that follows, or delay one, or answer 500 in the server's place.
``proxy.requests`` lists every request seen as ``(method, path)``: a wire-level count.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

try:  # tests/ is on sys.path under pytest; `tests.caldav_servers` works from the repository root
    from dav_servers import DavServer, free_port, start_radicale, start_xandikos
    from smtp_server import SmtpServer
except ImportError:  # pragma: no cover - imported as tests.caldav_servers
    from tests.dav_servers import DavServer, free_port, start_radicale, start_xandikos  # type: ignore[import-not-found,no-redef]
    from tests.smtp_server import SmtpServer  # type: ignore[import-not-found,no-redef]

if TYPE_CHECKING:
    from typing_extensions import Self

OWNER = "alice@example.com"  # the principal's address on Xandikos (its EMAIL), as in the tests' rules

__all__ = [
    "DavServer",
    "FaultProxy",
    "free_port",
    "radicale_htpasswd_server",
    "radicale_server",
    "xandikos_server",
]


@pytest.fixture
def radicale_server(tmp_path: Path) -> Iterator[DavServer]:
    server = start_radicale(tmp_path / "radicale")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def radicale_htpasswd_server(tmp_path: Path) -> Iterator[DavServer]:
    server = start_radicale(tmp_path / "radicale-auth", htpasswd=True, encryption="sha512")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def xandikos_server(tmp_path: Path) -> Iterator[DavServer]:
    with SmtpServer(mode="none") as smtp:
        server = start_xandikos(tmp_path / "xandikos", email=OWNER, smtp_port=smtp.port)
        server.extra["smtp"] = smtp
        try:
            yield server
        finally:
            server.stop()


# --- faults ----------------------------------------------------------------------------------


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """(request head up to and including the blank line, whatever body bytes came with it)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return b"", b""
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip() or 0)
    return 0


def _close_after(head: bytes) -> bytes:
    """The same head with ``Connection: close``, so the server ends its answer by closing."""
    lines = [
        ln for ln in head.rstrip(b"\r\n").split(b"\r\n") if not ln.lower().startswith((b"connection:", b"keep-alive:"))
    ]
    return b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n"


class FaultProxy:
    """An HTTP/1.1 proxy on 127.0.0.1 in front of ``target_port`` that can misbehave per request.

    ``rule(method, path, body) -> action | None`` decides (None: ``mode``, which is ``pass``).
    - ``pass``: forward, answer; ``("slow", s)``: the same after ``s`` seconds;
    - ``hang``: read the request, never answer (a timeout);
    - ``cut``: forward the request (the server applies it), then close without answering;
    - ``error``: answer 500 in the server's place; ``("status", code)``: answer ``code`` instead;
    - ``drop``: close at once, nothing forwarded.
    """

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.mode: str | tuple[str, float] = "pass"
        self.rule: Callable[[str, str, bytes], str | tuple[str, float] | None] | None = None
        self.requests: list[tuple[str, str]] = []
        #: rewrites each whole answer (head and body) on its way back, e.g. :func:`weaken_etags`
        self.transform: Callable[[bytes], bytes] | None = None
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port: int = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url_for(self, server: DavServer) -> str:
        """``server.url`` reached through this proxy."""
        return server.url.replace(f":{self.target}/", f":{self.port}/", 1)

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client:
            client.settimeout(30)
            try:
                head, body = _read_head(client)
                if not head:
                    return
                need = _content_length(head)
                while len(body) < need:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    body += chunk
                method, path = head.split(b" ", 2)[:2]
                self.requests.append((method.decode(), path.decode()))
                action = (self.rule(method.decode(), path.decode(), body) if self.rule else None) or self.mode
                self._act(action, client, _close_after(head) + body)
            except OSError:
                return

    def _act(self, action: str | tuple[str, float], client: socket.socket, request: bytes) -> None:
        if isinstance(action, tuple) and action[0] == "status":
            reason = {403: "Forbidden", 404: "Not Found", 501: "Not Implemented"}.get(int(action[1]), "Error")
            client.sendall(
                f"HTTP/1.1 {int(action[1])} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            return
        if isinstance(action, tuple):
            self.stopping.wait(action[1])
            action = "pass"
        if action == "hang":
            self.stopping.wait(60)
            return
        if action == "drop":
            return
        if action == "error":
            client.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        with socket.create_connection(("127.0.0.1", self.target), timeout=30) as upstream:
            upstream.sendall(request)
            answer = b""
            while chunk := upstream.recv(65536):
                answer += chunk
        if action == "cut":  # the server did it; the client never hears so
            return
        client.sendall(self.transform(answer) if self.transform else answer)

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()
        self._thread.join(5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def weaken_etags(answer: bytes) -> bytes:
    """Every ETag in an HTTP answer made weak (``W/"..."``), headers and DAV:getetag alike, as a
    compressing front-end does. Content-Length is fixed up; chunked answers are left alone."""
    head, sep, body = answer.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        return answer
    lines = []
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"etag" and not value.strip().startswith(b"W/"):
            line = name + b": W/" + value.strip()
        lines.append(line)
    encoding = [ln for ln in lines if ln.lower().startswith(b"content-encoding:")]
    if encoding and b"gzip" in encoding[0].lower():  # Radicale compresses when asked
        import gzip

        body = gzip.decompress(body)
        lines.remove(encoding[0])
    for quote in (b'"', b"&quot;"):
        body = body.replace(b"getetag>" + quote, b"getetag>W/" + quote)
    out = []
    for line in lines:
        if line.lower().startswith(b"content-length:"):
            line = b"Content-Length: " + str(len(body)).encode()
        out.append(line)
    return b"\r\n".join(out) + sep + body


def wait_until(predicate: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
