"""Real CalDAV servers for tests: Radicale and Xandikos as subprocesses on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DavServer:
    name: str
    url: str  # the calendar collection
    root: str  # the server's base URL
    proc: subprocess.Popen[bytes]
    username: str | None = None
    password: str | None = None
    log: Path | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def _request(url: str, method: str, body: bytes | None = None, auth: tuple[str, str] | None = None) -> int:
    req = urllib.request.Request(url, data=body, method=method)
    if auth:
        import base64

        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            _request(url, "OPTIONS")
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


def start_radicale(tmp: Path, *, htpasswd: bool = False, port: int | None = None, encryption: str = "plain") -> DavServer:
    """Radicale on 127.0.0.1; with ``htpasswd``, user alice in a file made here (``encryption``:
    ``plain``, or ``sha512`` for a sha512-crypt hash made with passlib, which Radicale requires)."""
    port = port or free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    storage = tmp / "radicale-storage"
    args = [
        str(BIN / "python"), "-m", "radicale",
        "--server-hosts", f"127.0.0.1:{port}",
        "--storage-filesystem-folder", str(storage),
        "--logging-level", "warning",
    ]
    user, password = "alice", None
    if htpasswd:
        password = "test-only-password"
        stored = password
        if encryption == "sha512":
            from passlib.hash import sha512_crypt  # type: ignore[import-untyped]

            stored = sha512_crypt.using(rounds=5000).hash(password)  # fast to check
        (tmp / "htpasswd").write_text(f"{user}:{stored}\n")
        args += ["--auth-type", "htpasswd", "--auth-htpasswd-filename", str(tmp / "htpasswd"),
                 "--auth-htpasswd-encryption", encryption]
    else:
        args += ["--auth-type", "none"]
    log = tmp / "radicale.log"
    proc = subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    root = f"http://127.0.0.1:{port}/"
    _wait(root, proc, log)
    url = f"{root}{user}/work/"
    auth = (user, password or "x")
    status = _request(url, "MKCALENDAR", auth=auth)
    assert status in (201, 405, 409), f"MKCALENDAR {status}"  # 405/409: it exists already
    return DavServer("radicale", url, root, proc, user if htpasswd else None, password, log)


def start_xandikos(tmp: Path, *, email: str, smtp_port: int | None = None, port: int | None = None) -> DavServer:
    port = port or free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    args = [
        str(BIN / "xandikos"), "serve", "--defaults", "-d", str(tmp / "xandikos"),
        "-l", "127.0.0.1", "-p", str(port), "--state-dir", str(tmp / "xandikos-state"),
        "--no-detect-systemd",
    ]
    if smtp_port:
        args += ["--imip-send", "smtp", "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_port),
                 "--smtp-from", "xandikos@localhost"]
    log = tmp / "xandikos.log"
    env = {**os.environ, "EMAIL": email}
    proc = subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    root = f"http://127.0.0.1:{port}/"
    _wait(root, proc, log)
    return DavServer("xandikos", f"{root}user/calendars/calendar/", root, proc, log=log)


def put_event(server: DavServer, name: str, data: bytes) -> int:
    auth = (server.username, server.password) if server.username and server.password else None
    req_url = server.url + name
    req = urllib.request.Request(req_url, data=data, method="PUT", headers={"Content-Type": "text/calendar"})
    if auth:
        import base64

        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
