"""The daemon's log says a wall-clock job sent something only when it did (the weekly report sends
nothing for a week with no record; a digest with nothing collected sends nothing)."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

from boundaryd.service.jobs import DaemonState
from boundaryd.service.walljobs import WallJob, WallJobs
from boundaryd.service.worker import Task


def _finish(caplog: pytest.LogCaptureFixture, result: object, error: BaseException | None = None) -> tuple[list[str], DaemonState]:
    state = DaemonState()
    jobs = WallJobs(clock=None, state=state, submit=lambda *a: None, retry_seconds=60, retries=0)  # type: ignore[arg-type]
    job = WallJob("weekly report", "sunday", "18:00", lambda now: result)
    task = Task("weekly report", lambda: job.run(datetime(2026, 12, 6, 18)), lambda t: None, result=result, error=error)
    with caplog.at_level(logging.INFO, logger="boundaryd"):
        jobs._done(task, job, 0)
    return [r.getMessage() for r in caplog.records], state


def test_a_report_sent_is_logged_as_sent(caplog: pytest.LogCaptureFixture) -> None:
    assert _finish(caplog, "boundaryd: your week, Nov 30 - Dec 6")[0] == ["weekly report sent"]


def test_a_report_with_nothing_to_send_is_not_logged_as_sent(caplog: pytest.LogCaptureFixture) -> None:
    assert _finish(caplog, None)[0] == ["weekly report: nothing to send"]


def test_a_failed_report_is_an_error(caplog: pytest.LogCaptureFixture) -> None:
    lines, state = _finish(caplog, None, OSError("mail server down"))
    assert lines[0].startswith("weekly report failed: ") and "weekly report" in state.job_errors
