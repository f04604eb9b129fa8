"""systemd's notify protocol (sd_notify(3)), spoken directly on ``$NOTIFY_SOCKET``.

One datagram per message on an ``AF_UNIX``/``SOCK_DGRAM`` socket; the address is a path, or an
abstract name written ``@name``. Without ``$NOTIFY_SOCKET`` every call is a cheap no-op, so the
daemon can call these unconditionally. A failing send is logged at debug level and never raised:
telling systemd how we are must never be what stops us.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)

_STATUS_MAX = 400
SEND_TIMEOUT = 1.0  # seconds a datagram may wait for room in the manager's queue before it is dropped  # systemctl shows one line; keep it readable and the datagram small


def _address(raw: str) -> str | bytes | None:
    if not raw:
        return None
    if raw.startswith("@"):
        return b"\0" + raw[1:].encode()  # abstract socket namespace
    if raw.startswith("/"):
        return raw
    return None  # vsock and other forms: not for a per-user daemon


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, as systemd wants in ``MONOTONIC_USEC=``."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """The watchdog timeout in seconds from ``$WATCHDOG_USEC``, or None when there is none for us.

    ``$WATCHDOG_PID``, when set, must be our pid (sd_watchdog_enabled(3)).
    """
    env = os.environ if env is None else env
    raw = env.get("WATCHDOG_USEC", "")
    try:
        usec = int(raw)
    except ValueError:
        return None
    if usec <= 0:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if pid:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    return usec / 1_000_000


class Notifier:
    """Sends sd_notify messages; ``Notifier(None)`` (no socket) does nothing."""

    def __init__(self, address: str | None) -> None:
        self._addr = _address(address or "")
        self._sock: socket.socket | None = None
        self._congested = False
        if address and self._addr is None:
            log.warning("NOTIFY_SOCKET=%s is not a path or @abstract name; not notifying systemd", address)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if env is None else env
        return cls(env.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        return self._addr is not None

    def send(self, *fields: str) -> bool:
        """Send ``fields`` (``KEY=value``) in one datagram; True when it was delivered."""
        if self._addr is None:
            return False
        payload = "\n".join(fields).encode("utf-8", "replace")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)
            # a manager that does not read (its queue is full) must not stall the main loop: wait
            # up to SEND_TIMEOUT for room, then drop; after a drop, do not wait until one gets through
            deadline = time.monotonic() + (0.0 if self._congested else SEND_TIMEOUT)
            while True:
                try:
                    self._sock.sendto(payload, self._addr)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        log.debug("sd_notify %s dropped: the manager is not reading", fields[0] if fields else "")
                        self._congested = True
                        return False
                    time.sleep(0.01)
            self._congested = False
        except OSError as exc:
            log.debug("sd_notify %s failed: %s", fields[0] if fields else "", exc)
            self.close()
            return False
        return True

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def ready(self) -> bool:
        return self.send("READY=1")

    def status(self, text: str) -> bool:
        line = " ".join(text.split())  # one line: systemd shows STATUS= as is
        if len(line) > _STATUS_MAX:
            line = line[: _STATUS_MAX - 1] + "…"
        return self.send(f"STATUS={line}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def reloading(self) -> bool:
        return self.send("RELOADING=1", f"MONOTONIC_USEC={monotonic_usec()}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")


class Watchdog:
    """``WATCHDOG=1`` from the main loop, at least every half ``interval`` (sd_watchdog_enabled(3)).

    While a task has been running longer than the interval, it stops vouching for the daemon:
    systemd then restarts it, which is what a hung network call should come to.
    """

    def __init__(self, notifier: Notifier, interval: float | None) -> None:
        self.notifier = notifier
        self.interval = interval
        self._last = float("-inf")

    def wait(self, now: float) -> float | None:
        """The longest the loop may sleep before the next ping (None: no watchdog)."""
        if not self.interval:
            return None
        return max(min(self._last + self.interval / 2 - now, self.interval / 2), 0.0)

    def feed(self, now: float, busy: float, task: str) -> None:
        """Ping if due; ``busy`` is how long ``task`` has been running (0 when idle)."""
        if not self.interval:
            return
        if busy > self.interval:
            if now - self._last >= self.interval / 2:
                log.error("%s has been running for %.0fs; letting the watchdog restart boundaryd", task, busy)
                self._last = now  # log once per half interval, but send nothing
            return
        if now - self._last >= self.interval / 4:
            self.notifier.watchdog()
            self._last = now
