"""Logging: sd-daemon prefixes under the journal, readable lines on a terminal, one line a record."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys

import pytest

from boundaryd.service.logs import fold, journal_stream, redact, register_secret, setup_logging
from test_daemon_helpers import base_env

SNIPPET = """
import logging
from boundaryd.service.logs import setup_logging
from boundaryd.errors import RuntimeFailure
setup_logging({verbosity})
log = logging.getLogger("boundaryd.test")
log.debug("debug line")
log.info("info line\\nsecond line")
log.warning("warning line")
log.error("error line password=hunter2secret")
try:
    raise ValueError("boom")
except ValueError:
    log.exception("a bug")
"""


def _run(verbosity: int, journal: bool) -> str:
    """Run a snippet with stderr on a pipe; JOURNAL_STREAM names that very pipe when `journal`."""
    r, w = os.pipe()
    st = os.fstat(w)
    env = base_env(None)
    if journal:
        env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    proc = subprocess.Popen([sys.executable, "-c", SNIPPET.format(verbosity=verbosity)], stderr=w, env=env)
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    assert proc.wait(timeout=30) == 0
    return out


def test_journal_lines_have_level_prefixes_and_no_timestamp() -> None:
    lines = _run(0, journal=True).splitlines()
    assert lines[0] == "<6>info line | second line"
    assert lines[1] == "<4>warning line"
    assert lines[2] == "<3>error line password=***"
    assert lines[3].startswith("<3>a bug | Traceback (most recent call last):") and "ValueError: boom" in lines[3]
    assert len(lines) == 4  # no debug at the default level, one line a record
    assert "hunter2secret" not in "".join(lines)


def test_verbose_and_quiet() -> None:
    verbose = _run(1, journal=True).splitlines()
    assert verbose[0] == "<7>debug line"
    quiet = _run(-1, journal=True).splitlines()
    assert [ln[:3] for ln in quiet] == ["<4>", "<3>", "<3>"]


def test_terminal_format_is_readable_without_prefixes() -> None:
    lines = _run(0, journal=False).splitlines()
    assert lines[0].endswith(" info    info line | second line")
    assert lines[0][2] == ":" and lines[0][5] == ":"  # HH:MM:SS
    assert not any(ln.startswith("<") for ln in lines)


def test_journal_stream_must_name_our_stderr() -> None:
    with open(os.devnull, "w") as buf:
        st = os.fstat(buf.fileno())
        assert journal_stream(buf, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
        assert not journal_stream(buf, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"})
        assert not journal_stream(buf, {})


@pytest.fixture
def restore_logging():  # type: ignore[no-untyped-def]
    names = ["boundaryd", "schedule", "caldav", "googleapiclient", "urllib3", "niquests"]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in map(logging.getLogger, names)]
    yield
    for lg, handlers, level, propagate in saved:
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


def test_registered_secrets_are_masked_and_fold_joins_lines(restore_logging) -> None:  # type: ignore[no-untyped-def]
    register_secret("s3cr3t-value")
    assert redact("login failed for alice with s3cr3t-value") == "login failed for alice with ***"
    assert redact('{"access_token": "ya29.abc", "x": 1}') == '{"access_token": "***", "x": 1}'
    assert redact("Authorization: Bearer abc.def") == "Authorization: ***"
    assert fold("a\n\n  b  \nc\n") == "a |   b | c"
    stream = io.StringIO()
    setup_logging(0, stream=stream, env={})
    logging.getLogger("boundaryd.x").info("token=abcdef and s3cr3t-value")
    assert stream.getvalue().endswith("info    token=*** and ***\n")
