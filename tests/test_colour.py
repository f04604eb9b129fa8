"""Colour in the terminal: declines red, flags yellow, only on a terminal (a real pty here), never
with NO_COLOR set to a non-empty value (https://no-color.org), never in a pipe or in JSON."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from boundaryd.presentation import colour
from clirun import NOW, calendar_of, invite, make_env
from test_sync import at

RED, YELLOW, RESET = "\x1b[31m", "\x1b[33m", "\x1b[0m"


def run_in_pty(e, *args: str, env: dict[str, str] | None = None) -> str:  # type: ignore[no-untyped-def]
    """The command's standard output as a terminal shows it (stdout is a pty, stderr a pipe)."""
    master, slave = pty.openpty()
    full = {**os.environ, "PYTHONIOENCODING": "utf-8", "TERM": "xterm", **(env or {})}
    full.pop("NOTIFY_SOCKET", None)
    if env is None or "NO_COLOR" not in env:
        full.pop("NO_COLOR", None)
    cmd = [sys.executable, "-m", "boundaryd", "--rules", str(e.rules), "--state", str(e.state), *args]
    p = subprocess.Popen(cmd, stdout=slave, stderr=subprocess.PIPE, env=full)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the pty
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert p.wait(60) == 0, p.stderr.read() if p.stderr else ""
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def env_with_conflicts(tmp_path: Path):  # type: ignore[no-untyped-def]
    e = make_env(tmp_path)
    e.calendar.write_bytes(calendar_of(
        invite("pipe@t", "Pipeline review", at(1, 9)),  # on prospecting (decline)
        invite("call@t", "Quick call", at(1, 11, 30), 30),  # on call-return (flag)
    ))
    return e


def test_plan_colours_declines_and_flags_on_a_terminal(tmp_path: Path) -> None:
    e = env_with_conflicts(tmp_path)
    out = run_in_pty(e, "plan", "--now", NOW)
    assert f"{RED}Would decline (1):{RESET}" in out and f"{YELLOW}Would flag (1):{RESET}" in out
    piped = e.run("plan", "--now", NOW).stdout  # a pipe: the same text, no colour
    assert "\x1b[" not in piped and "Would decline (1):" in piped
    strip = out.replace(RED, "").replace(YELLOW, "").replace(RESET, "")
    assert "\x1b[" not in strip.replace("\x1b[32m", "").replace("\x1b[1m", "").replace("\x1b[2m", "")


def test_no_color_turns_it_off_and_an_empty_no_color_does_not(tmp_path: Path) -> None:
    e = env_with_conflicts(tmp_path)
    assert "\x1b[" not in run_in_pty(e, "plan", "--now", NOW, env={"NO_COLOR": "1"})
    assert f"{RED}Would decline (1):{RESET}" in run_in_pty(e, "plan", "--now", NOW, env={"NO_COLOR": ""})
    assert "\x1b[" not in run_in_pty(e, "week", "--now", NOW, env={"NO_COLOR": "yes"})


def test_json_is_never_coloured(tmp_path: Path) -> None:
    e = env_with_conflicts(tmp_path)
    out = run_in_pty(e, "plan", "--now", NOW, "--json")
    assert "\x1b[" not in out and json.loads(out)["conflicts"]


def test_notices_and_doctor_colour_what_needs_action(tmp_path: Path) -> None:
    e = env_with_conflicts(tmp_path)
    e.run("sync", "--now", NOW)
    out = run_in_pty(e, "notices")
    rows = [ln for ln in out.splitlines() if "pipe@t" in ln or "call@t" in ln]
    assert any(f"{RED}declined{RESET}" in r for r in rows) and any(f"{YELLOW}flagged{RESET}" in r for r in rows)
    doc = run_in_pty(e, "doctor", "--now", NOW, env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert "rules        \x1b[32mok\x1b[0m" in doc and "unit         \x1b[33mnote\x1b[0m" in doc


def test_the_rules_of_when() -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    assert colour.enabled(Tty(), {}) and colour.enabled(Tty(), {"NO_COLOR": ""})  # type: ignore[arg-type]
    assert not colour.enabled(Tty(), {"NO_COLOR": "0"}) and not colour.enabled(Tty(), {"TERM": "dumb"})  # type: ignore[arg-type]
    assert colour.for_terminal("Would flag (2):", on=False) == "Would flag (2):"
    assert colour.for_terminal("  Would flag (2):", on=True) == "  Would flag (2):"  # an invitation's text is not a heading
