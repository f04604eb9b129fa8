"""``boundaryd doctor``: one line per part, ok or what to do; exit 0 / 1 unreachable / 2 misconfigured."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from clirun import Env, make_env

PARTS = ["rules", "calendar", "credentials", "scheduling", "smtp", "unit"]


def doctor(env: Env, check: int) -> tuple[list[list[str]], str]:
    p = env.run("doctor", check=check, env={"XDG_CONFIG_HOME": str(env.root / "config")})
    rows = [ln.split(None, 2) for ln in p.stdout.splitlines()]
    assert [r[0] for r in rows][: len(PARTS)] == PARTS or [r[0] for r in rows][0] == "rules"
    return rows, p.stderr


def test_all_ok_on_a_local_calendar(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    env.calendar.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nEND:VCALENDAR\r\n")
    rows, err = doctor(env, 0)
    assert [(r[0], r[1]) for r in rows] == [(p, "note" if p in ("scheduling", "unit") else "ok") for p in PARTS]
    assert rows[1][2] == f"ics:{env.calendar} is reachable, readable and writable" and "not installed" in rows[5][2] and err == ""
    assert rows[3][2].startswith("nobody tells organizers yet: replies wait in the outbox")


def test_bad_rules_exit_2_naming_the_place(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    env.write_rules(text=env.rules.read_text().replace("timezone: America/Toronto", "timezone: EST"))
    rows, err = doctor(env, 2)
    assert rows[0][:2] == ["rules", "FIX"] and f"{env.rules}:2:11:" in rows[0][2] and "America/New_York" in rows[0][2]
    assert err.strip() == "boundaryd: error: doctor: 5 parts to fix (see above)"


def test_missing_calendar_folder_is_misconfigured(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    env.write_rules(text=env.rules.read_text().replace(f"path: {env.calendar}", f"path: {tmp_path / 'typo' / 'c.ics'}"))
    rows, _ = doctor(env, 2)
    assert rows[1][:2] == ["calendar", "FIX"] and "does not exist" in rows[1][2]


def test_smtp_server_not_answering_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = make_env(tmp_path, smtp=f", smtp: {{host: 127.0.0.1, port: {port}, security: none, timeout: 5}}")
    rows, err = doctor(env, 1)
    smtp = next(r for r in rows if r[0] == "smtp")
    assert smtp[1] == "FAIL" and "127.0.0.1" in smtp[2]
    assert "1 unreachable" in err


def test_smtp_login_checked_without_sending(tmp_path: Path) -> None:
    from smtp_server import SmtpServer

    with SmtpServer(mode="none", users={"alice": "pw-for-tests"}) as srv:
        smtp = f", smtp: {{host: 127.0.0.1, port: {srv.port}, security: none, username: alice, password_env: DOC_PW}}"
        env = make_env(tmp_path, smtp=smtp)
        p = env.run("doctor", check=0, env={"XDG_CONFIG_HOME": str(tmp_path / "config"), "DOC_PW": "pw-for-tests"})
        assert f"smtp         ok    logged in to 127.0.0.1:{srv.port} (no mail sent)" in p.stdout.splitlines()
        assert srv.auth_attempts == [("PLAIN:alice", True)] or all(ok for _, ok in srv.auth_attempts)
        p = env.run("doctor", check=1, env={"XDG_CONFIG_HOME": str(tmp_path / "config"), "DOC_PW": "wrong"})
        assert any(ln.startswith("smtp         FAIL") and "alice" in ln for ln in p.stdout.splitlines())
        p = env.run("doctor", check=2, env={"XDG_CONFIG_HOME": str(tmp_path / "config")})  # no password at all
        assert any(ln.startswith("smtp         FIX") for ln in p.stdout.splitlines())
        assert srv.received == []
