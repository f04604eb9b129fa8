"""sd_notify on a real datagram socket: path and abstract addresses, the watchdog environment."""

from __future__ import annotations

import os
import tempfile
import time

import pytest

from boundaryd.service.sdnotify import Notifier, watchdog_interval
from test_daemon_helpers import NotifySocket


@pytest.mark.parametrize("abstract", [False, True])
def test_messages_arrive_one_datagram_each(abstract: bool) -> None:
    sock = NotifySocket(abstract=abstract)
    try:
        n = Notifier.from_env({"NOTIFY_SOCKET": sock.env_value})
        assert n.enabled
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        assert n.ready() and n.status("last sync 10:00;\n2 conflicts") and n.watchdog()
        assert n.reloading() and n.stopping()
        sock.drain(0.5)
        assert sock.messages[0] == ["READY=1"]
        assert sock.messages[1] == ["STATUS=last sync 10:00; 2 conflicts"]  # one line
        assert sock.messages[2] == ["WATCHDOG=1"]
        assert sock.messages[3][0] == "RELOADING=1"
        usec = int(sock.messages[3][1].removeprefix("MONOTONIC_USEC="))
        assert before <= usec <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        assert sock.messages[4] == ["STOPPING=1"]
        n.close()
    finally:
        sock.close()


def test_no_socket_is_a_no_op_and_a_vanished_socket_is_not_an_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert not Notifier.from_env({}).ready()
    assert not Notifier.from_env({"NOTIFY_SOCKET": ""}).enabled
    gone = Notifier(str(tmp_path / "nobody-listens"))
    assert gone.enabled and gone.ready() is False  # ENOENT: logged at debug, never raised
    assert not Notifier("vsock:2:1234").enabled


def test_status_is_bounded() -> None:
    sock = NotifySocket()
    try:
        Notifier(sock.env_value).status("x" * 5000)
        sock.drain(0.5)
        (field,) = sock.messages[0]
        assert field.startswith("STATUS=xxx") and len(field) <= 420
    finally:
        sock.close()


def test_watchdog_interval() -> None:
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}) == 2.0
    assert watchdog_interval({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid() + 1)}) is None


def test_a_manager_that_does_not_read_never_stalls_the_sender() -> None:
    import socket

    d = tempfile.mkdtemp(prefix="bdn", dir="/tmp")
    path = os.path.join(d, "notify")
    deaf = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    deaf.bind(path)
    try:
        n = Notifier(path)
        t0 = time.monotonic()
        results = [n.watchdog() for _ in range(200)]
        assert time.monotonic() - t0 < 3.0  # one send timeout at most, then no more waiting
        assert results[0] is True and results[-1] is False
        deaf.recv(100)  # room again: messages flow
        assert n.status("back") is True
    finally:
        deaf.close()
        os.unlink(path)
        os.rmdir(d)
