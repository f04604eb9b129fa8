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
from typing import Any

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


# --- the shared kit: sabre/dav, Cyrus, DAViCal (../shared/servers) --------------------------------

SHARED_SERVERS = Path(__file__).resolve().parents[1].parent / "shared" / "servers"
# Where each kit server keeps alice's calendars (new collections go next to her default one).
KIT_HOMES = {"sabredav": "calendars/alice/", "cyrus": "dav/calendars/user/alice/", "davical": "caldav.php/alice/"}
_KIT_NEEDS = {
    "sabredav": ("php",),
    "cyrus": ("/usr/lib/cyrus/bin/master", "/usr/lib/cyrus/bin/httpd", "saslpasswd2"),
    "davical": ("php", "/usr/share/davical/htdocs/caldav.php"),
}


def kit_missing(kind: str) -> str:
    """Why the kit server ``kind`` cannot start here ("" when it can)."""
    import shutil

    if os.environ.get("BOUNDARYD_CLOCK_CHECK"):
        return "not under the clock check's libfaketime (make test runs it on the real clock)"
    start = SHARED_SERVERS / kind / "start.sh"
    if not start.exists():
        return f"{start} does not exist (the shared server kit is not here)"
    if kind != "sabredav" and os.geteuid() != 0:
        return f"{kind} needs root (it runs its daemons as their own users)"
    for need in _KIT_NEEDS[kind]:
        found = Path(need).exists() if need.startswith("/") else shutil.which(need) or Path(f"/usr/sbin/{need}").exists()
        if not found:
            return f"{kind} is not installed ({need} missing): run {SHARED_SERVERS / 'install-debian.sh'} as root"
    return ""


class KitProcess:
    """A kit server's instance, stopped with its stop.sh (Popen-like enough for DavServer.stop)."""

    def __init__(self, kind: str, data: Path, pid: int) -> None:
        self.kind, self.data, self.pid = kind, data, pid

    def terminate(self) -> None:
        keep = os.environ.get("BOUNDARYD_KEEP_SERVER_DATA")  # set it to read the logs after a failure
        subprocess.run([str(SHARED_SERVERS / self.kind / "stop.sh"), str(self.data), *([] if keep else ["--rm"])],
                       check=False, capture_output=True, timeout=60)

    def wait(self, timeout: float | None = None) -> int:
        return 0

    def kill(self) -> None:
        self.terminate()


def start_kit(kind: str, data: Path) -> DavServer:
    """Start the kit server ``kind`` with its data in ``data`` (which must be empty or absent)."""
    data.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([str(SHARED_SERVERS / kind / "start.sh"), "0", str(data)],
                         capture_output=True, text=True, timeout=180)
    if run.returncode != 0:
        raise RuntimeError(f"{kind} did not start: {run.stdout[-1500:]}{run.stderr[-1500:]}")
    env = dict(line.split("=", 1) for line in run.stdout.splitlines() if "=" in line)
    root = f"http://127.0.0.1:{env['PORT']}/"
    proc: Any = KitProcess(kind, data, int(env["PID"]))
    return DavServer(kind, env["ALICE_URL"], root, proc, "alice", "alice-secret", Path(env["LOG"]), extra=dict(env))
