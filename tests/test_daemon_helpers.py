"""Shared helpers for the daemon tests: a real NOTIFY_SOCKET and a daemon subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class NotifySocket:
    """A datagram socket bound like systemd's: a short path, or an abstract name."""

    def __init__(self, abstract: bool = False) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"boundaryd-test-{uuid.uuid4().hex}"
            self.sock.bind("\0" + name)
            self.env_value = "@" + name
            self._dir: str | None = None
        else:
            self._dir = tempfile.mkdtemp(prefix="bdn", dir="/tmp")  # AF_UNIX paths are short
            path = os.path.join(self._dir, "notify")
            self.sock.bind(path)
            self.env_value = path
        self.messages: list[list[str]] = []  # one list of KEY=value per datagram

        self.sock.settimeout(0.2)
        self._closed = threading.Event()
        # read all the time, like systemd: a full queue would block (or drop) the sender's datagrams
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append(data.decode().split("\n"))

    def close(self) -> None:
        self._closed.set()
        self._reader.join(2)
        self.sock.close()
        if self._dir:
            for f in os.listdir(self._dir):
                os.unlink(os.path.join(self._dir, f))
            os.rmdir(self._dir)

    def drain(self, timeout: float = 0.0) -> None:
        """Let datagrams already sent arrive (the reader thread collects them)."""
        time.sleep(max(timeout, 0.05))

    def flat(self) -> list[str]:
        return [f for m in self.messages for f in m]

    def wait_for(self, pred: Callable[[list[str]], bool], timeout: float = 10.0, start: int = 0) -> int:
        """Wait until a datagram (index >= start) satisfies pred; returns its index."""
        deadline = time.monotonic() + timeout
        checked = start
        while True:
            for i in range(checked, len(self.messages)):
                if pred(self.messages[i]):
                    return i
            checked = max(checked, len(self.messages))
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching sd_notify message in {timeout}s; got {self.messages[start:]}")
            time.sleep(min(left, 0.05))


def has(field: str) -> Callable[[list[str]], bool]:
    return lambda m: field in m


def status_with(text: str) -> Callable[[list[str]], bool]:
    return lambda m: any(f.startswith("STATUS=") and text in f for f in m)


def wait_until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def stop(proc: subprocess.Popen[str], timeout: float = 5.0) -> tuple[int, float]:
    """SIGTERM; returns (exit code, seconds it took)."""
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"daemon did not exit within {timeout}s of SIGTERM") from None
    return code, time.monotonic() - t0


def base_env(notify: NotifySocket | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM")}
    env["PYTHONPATH"] = str(ROOT / "daemon") + os.pathsep + env.get("PYTHONPATH", "")
    if notify is not None:
        env["NOTIFY_SOCKET"] = notify.env_value
    env.update(extra)
    return env


PYTHON = sys.executable


# --- a small application with real file I/O, driven by the real Daemon in a subprocess -------

DRIVER = (
    "import sys; sys.path.insert(0, {tests!r}); "
    "from test_daemon_helpers import driver_main; sys.exit(driver_main(sys.argv[1:]))"
)


def driver_cmd(rules: Path, work: Path, **daemon_kwargs: float) -> list[str]:
    import json

    return [PYTHON, "-c", DRIVER.format(tests=str(Path(__file__).parent)), str(rules), str(work), json.dumps(daemon_kwargs)]


def spawn(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    """Start a daemon with stderr in a file (a pipe nobody reads would fill up and block it)."""
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err, text=True)
    proc.errlog = log  # type: ignore[attr-defined]
    return proc


def stderr_of(proc: subprocess.Popen[str]) -> str:
    return Path(proc.errlog).read_text()  # type: ignore[attr-defined]


def start_driver(rules: Path, work: Path, env: dict[str, str], **daemon_kwargs: float) -> subprocess.Popen[str]:
    return spawn(driver_cmd(rules, work, **daemon_kwargs), env, work / "daemon.stderr")


class _Summary:
    def __init__(self, conflicts: int, declined: int, flagged: int, text: str) -> None:
        self.conflicts, self.declined, self.flagged, self.text = conflicts, declined, flagged, text


class FileApp:
    """Rules: a YAML mapping with a `marker`; each sync appends `<monotonic> <marker>` to syncs.log.

    Files in `work` switch faults on: `down` (RuntimeFailure), `enospc` (OSError), `slow` (sleep N s).
    """

    def __init__(self, rules_path: Path, work: Path) -> None:
        self.rules_path = rules_path
        self.work = work

    def load_rules(self) -> Any:
        from types import SimpleNamespace
        from zoneinfo import ZoneInfo

        import yaml

        from boundaryd.errors import BadInput

        text = self.rules_path.read_text()
        try:
            data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            assert mark is not None
            raise BadInput(f"{self.rules_path}:{mark.line + 1}:{mark.column + 1}: {exc.problem}") from None
        if not isinstance(data, dict) or "marker" not in data:
            raise BadInput(f"{self.rules_path}:1:1: marker: required", f"{self.rules_path}:1:1: second problem")
        tz = str(data.get("timezone", "UTC"))
        return SimpleNamespace(
            marker=str(data["marker"]),
            timezone=tz,
            tz=ZoneInfo(tz),
            notify=SimpleNamespace(
                digest=str(data.get("digest", "immediate")), weekly_preview=str(data.get("weekly_preview", "off"))
            ),
        )

    def _append(self, name: str, line: str) -> None:
        with open(self.work / name, "a") as f:
            f.write(line + "\n")

    def sync(self, rules, now=None):  # type: ignore[no-untyped-def]
        import errno

        from boundaryd.errors import RuntimeFailure

        if (self.work / "down").exists():
            raise RuntimeFailure("caldav:http://127.0.0.1:9/cal/: connection refused (is the server up?)")
        if (self.work / "enospc").exists():
            raise OSError(errno.ENOSPC, "No space left on device", str(self.work / "journal.sqlite"))
        slow = self.work / "slow"
        if slow.exists():
            time.sleep(float(slow.read_text() or "1"))
        self._append("syncs.log", f"{time.monotonic():.4f} {rules.marker}")
        return _Summary(1, 0, 1, "flagged: Standup\n(on block evening)")

    def send_weekly_preview(self, rules, now=None) -> None:  # type: ignore[no-untyped-def]
        self._append("jobs.log", f"preview {rules.marker}" + (f" {now:%a %H:%M}" if now else ""))

    def flush_digest(self, rules, now=None) -> None:  # type: ignore[no-untyped-def]
        if (self.work / "digest-fails").exists():
            raise OSError(28, "No space left on device", str(self.work / "outbox"))
        self._append("jobs.log", f"digest {rules.marker}" + (f" {now:%a %H:%M}" if now else ""))

    def notify_owner(self, rules, subject: str, text: str, key: str) -> None:  # type: ignore[no-untyped-def]
        import json

        self._append("notices.log", json.dumps({"subject": subject, "key": key, "text": text, "marker": rules.marker}))


def driver_main(argv: list[str]) -> int:
    import json

    from boundaryd.service.daemon import Daemon, leave
    from boundaryd.service.logs import setup_logging

    rules, work, kwargs = Path(argv[0]), Path(argv[1]), json.loads(argv[2])
    setup_logging(int(kwargs.pop("verbosity", 0)))
    daemon = Daemon(FileApp(rules, work), **kwargs)
    code = daemon.run()
    leave(daemon, code)  # as `boundaryd run` does
    return code


def read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []
