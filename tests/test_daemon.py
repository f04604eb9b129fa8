"""The daemon as a real subprocess, talking to a real NOTIFY_SOCKET bound by the test."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_daemon_helpers import (
    NotifySocket,
    base_env,
    has,
    read_lines,
    start_driver,
    status_with,
    stderr_of,
    stop,
    wait_until,
)


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    s = NotifySocket()
    yield s
    s.close()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "rules.yaml").write_text("marker: A\ntimezone: America/Toronto\n")
    return tmp_path


def _syncs(work: Path) -> list[str]:
    return [ln.split()[1] for ln in read_lines(work / "syncs.log")]


def _notices(work: Path) -> list[dict[str, str]]:
    return [json.loads(ln) for ln in read_lines(work / "notices.log")]


def _finish(proc, timeout: float = 5.0) -> str:  # type: ignore[no-untyped-def]
    code, took = stop(proc, timeout)
    err = stderr_of(proc)
    assert code == 0, err
    assert took < 5.0
    return err


def test_message_order_watchdog_reload_and_stop(notify: NotifySocket, work: Path) -> None:
    env = base_env(notify, WATCHDOG_USEC="1000000")
    proc = start_driver(work / "rules.yaml", work, env, interval=60)
    try:
        ready = notify.wait_for(has("READY=1"))
        # READY comes first (before it only the "starting" STATUS), then a STATUS with the sync result
        assert all(f.startswith("STATUS=") or f == "WATCHDOG=1" for m in notify.messages[:ready] for f in m)
        notify.wait_for(status_with("last sync"), start=ready)
        notify.wait_for(status_with("1 conflicts (0 declined, 1 flagged)"), start=ready)
        assert _syncs(work) == ["A"]
        # the watchdog is fed from the main loop at half of WATCHDOG_USEC (1 s): several pings in 2 s
        n0 = notify.flat().count("WATCHDOG=1")
        time.sleep(2.0)
        notify.drain()
        assert notify.flat().count("WATCHDOG=1") - n0 >= 3
        # SIGHUP: RELOADING=1 with MONOTONIC_USEC in the same datagram, then READY=1
        before_us = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        mark = len(notify.messages)
        proc.send_signal(signal.SIGHUP)
        i = notify.wait_for(has("RELOADING=1"), start=mark)
        usec = [f for f in notify.messages[i] if f.startswith("MONOTONIC_USEC=")]
        assert len(usec) == 1
        assert before_us <= int(usec[0].split("=")[1]) <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        notify.wait_for(has("READY=1"), start=i + 1)
        wait_until(lambda: len(_syncs(work)) == 2, what="a sync with the reloaded rules")
        mark = len(notify.messages)
    finally:
        err = _finish(proc)
    notify.drain(0.2)
    assert ["STOPPING=1"] in notify.messages[mark:]
    assert "boundaryd daemon stopping" in err


def test_abstract_socket_and_foreign_watchdog_pid(work: Path) -> None:
    notify = NotifySocket(abstract=True)
    try:
        env = base_env(notify, WATCHDOG_USEC="400000", WATCHDOG_PID="1")  # the watchdog is not for us
        proc = start_driver(work / "rules.yaml", work, env, interval=60)
        try:
            notify.wait_for(has("READY=1"))
            notify.wait_for(status_with("last sync"))
            time.sleep(0.6)
            notify.drain()
        finally:
            _finish(proc)
        notify.drain(0.2)
        assert "WATCHDOG=1" not in notify.flat()
        assert notify.messages[-2:] == [["STOPPING=1"], ["STATUS=stopping"]]
    finally:
        notify.close()


def test_broken_rules_keep_the_last_good_ones_then_a_fixed_file_is_picked_up(notify: NotifySocket, work: Path) -> None:
    rules = work / "rules.yaml"
    proc = start_driver(rules, work, base_env(notify), interval=0.3, poll_seconds=0.2, settle_seconds=0.1)
    try:
        notify.wait_for(has("READY=1"))
        wait_until(lambda: len(_syncs(work)) >= 2, what="two syncs")
        rules.write_text("marker: B\n  bad: [indent\n")
        mark = len(notify.messages)
        proc.send_signal(signal.SIGHUP)
        i = notify.wait_for(has("RELOADING=1"), start=mark)
        j = notify.wait_for(status_with(f"{rules}:"), start=i)
        assert any("last good rules in force" in f for f in notify.messages[j])
        notify.wait_for(has("READY=1"), start=i)
        # the old rules keep being enforced
        n = len(_syncs(work))
        wait_until(lambda: len(_syncs(work)) >= n + 2, what="syncs with the old rules")
        assert set(_syncs(work)) == {"A"}
        # one notice for this broken file, not one per cycle nor per SIGHUP
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        notices = _notices(work)
        assert len(notices) == 1, notices
        assert notices[0]["subject"] == "boundaryd: your rules file has errors"
        assert f"{rules}:2:" in notices[0]["text"] and notices[0]["marker"] == "A"
        # a fixed file is noticed without a signal: RELOADING, READY, then syncs with the new rules
        mark = len(notify.messages)
        tmp = rules.with_suffix(".new")
        tmp.write_text("marker: C\n")
        os.replace(tmp, rules)  # how editors save
        i = notify.wait_for(has("RELOADING=1"), start=mark)
        notify.wait_for(has("READY=1"), start=i)
        wait_until(lambda: "C" in _syncs(work), what="a sync with the fixed rules")
        notify.wait_for(lambda m: any(f.startswith("STATUS=") and "invalid" not in f for f in m), start=i)
    finally:
        err = _finish(proc)
    assert "<" not in err  # not under systemd: readable lines
    assert f"{rules}:2:" in err and "error" in err


def test_first_load_fails_waits_for_a_good_file_before_ready(notify: NotifySocket, work: Path) -> None:
    rules = work / "rules.yaml"
    rules.write_text("nothing: here\n")
    proc = start_driver(rules, work, base_env(notify), interval=60, poll_seconds=0.2, settle_seconds=0.1)
    try:
        notify.wait_for(status_with("waiting for a valid rules file"))
        time.sleep(0.8)
        notify.drain()
        assert "READY=1" not in notify.flat()
        assert proc.poll() is None  # it waits, it does not exit
        assert not (work / "syncs.log").exists()
        rules.write_text("marker: A\n")
        notify.wait_for(has("READY=1"))
        assert "RELOADING=1" not in notify.flat()
        wait_until(lambda: _syncs(work) == ["A"], what="the first sync")
    finally:
        _finish(proc)


def test_faults_back_off_notify_once_and_recover(notify: NotifySocket, work: Path) -> None:
    (work / "down").touch()
    proc = start_driver(
        work / "rules.yaml",
        work,
        base_env(notify),
        interval=0.2,
        max_backoff=0.8,
        notice_after_failures=3,
        notice_after_seconds=0,
    )
    try:
        notify.wait_for(has("READY=1"))
        notify.wait_for(status_with("sync failing since"))
        notify.wait_for(status_with("(3 tries)"), timeout=15)
        wait_until(lambda: len(_notices(work)) == 1, what="the fault notice")
        time.sleep(1.5)  # more failures at the bounded backoff: still one notice
        assert len(_notices(work)) == 1
        assert _notices(work)[0]["subject"] == "boundaryd: sync is failing"
        assert "connection refused" in _notices(work)[0]["text"]
        assert proc.poll() is None
        # the fault clears: it recovers by itself and says so once
        (work / "down").unlink()
        wait_until(lambda: len(_syncs(work)) >= 1, timeout=5, what="a sync after recovery")
        mark = len(notify.messages)
        notify.wait_for(lambda m: any(f.startswith("STATUS=last sync") for f in m), start=0)
        wait_until(lambda: len(_notices(work)) == 2, what="the recovery notice")
        assert _notices(work)[1]["subject"] == "boundaryd: working again"
        assert mark >= 0
    finally:
        err = _finish(proc)
    assert "retrying in" in err


def test_disk_full_in_the_state_dir_is_a_fault_not_a_crash(notify: NotifySocket, work: Path) -> None:
    (work / "enospc").touch()
    proc = start_driver(work / "rules.yaml", work, base_env(notify), interval=0.2, max_backoff=0.4)
    try:
        notify.wait_for(status_with("No space left on device"))
        notify.wait_for(status_with("(2 tries)"))
        assert proc.poll() is None
        (work / "enospc").unlink()
        wait_until(lambda: len(_syncs(work)) >= 1, what="a sync once there is room")
    finally:
        err = _finish(proc)
    assert f"{work / 'journal.sqlite'}: No space left on device" in err


def test_sigterm_during_a_hung_sync_exits_0_within_5s(notify: NotifySocket, work: Path) -> None:
    (work / "slow").write_text("60")
    proc = start_driver(work / "rules.yaml", work, base_env(notify), interval=60, stop_grace=2)
    try:
        notify.wait_for(has("READY=1"))
        time.sleep(0.5)  # the sync is now blocked
    finally:
        err = _finish(proc)
    assert "abandoning sync" in err
    notify.drain(0.2)
    assert ["STOPPING=1"] in notify.messages


def test_sigint_stops_too(notify: NotifySocket, work: Path) -> None:
    proc = start_driver(work / "rules.yaml", work, base_env(notify), interval=60)
    notify.wait_for(has("READY=1"))
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=5) == 0
    assert time.monotonic() - t0 < 5


def test_syncs_keep_their_phase_without_drift(notify: NotifySocket, work: Path) -> None:
    (work / "slow").write_text("0.08")  # each sync takes a while; the schedule must not slip by it
    proc = start_driver(work / "rules.yaml", work, base_env(notify), interval=0.25)
    try:
        wait_until(lambda: len(read_lines(work / "syncs.log")) >= 13, timeout=15, what="13 syncs")
    finally:
        _finish(proc)
    stamps = [float(ln.split()[0]) for ln in read_lines(work / "syncs.log")]
    span = stamps[12] - stamps[0]
    assert abs(span - 12 * 0.25) < 0.2, span  # with drift it would be 12 * 0.33
