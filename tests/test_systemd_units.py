"""The unit files verify with no output at all, the template's exposure is at most 2.0, and
`boundaryd service install` writes the same unit with a real ExecStart."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from boundaryd.service import unit as service
from test_daemon_helpers import ROOT

UNITS = ROOT / "systemd"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze missing (make test installs the systemd package)")


def _copy(tmp_path: Path, name: str, exe: str, placeholder: str) -> Path:
    """A temp copy of the unit whose ExecStart points at a binary that exists here."""
    text = (UNITS / name).read_text()
    assert placeholder in text
    out = tmp_path / name
    out.write_text(text.replace(placeholder, exe))
    return out


def _analyze(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), SYSTEMD_PAGER="", SYSTEMD_COLORS="0")
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)


@needs_analyze
@pytest.mark.parametrize("mode", ["--user", "--system"])
def test_user_unit_verifies_without_any_output(tmp_path: Path, mode: str) -> None:
    unit = _copy(tmp_path, "boundaryd.service", "/bin/true", "%h/.local/bin/boundaryd")
    result = _analyze(tmp_path, "verify", mode, str(unit))
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@needs_analyze
def test_template_verifies_without_any_output(tmp_path: Path) -> None:
    _copy(tmp_path, "boundaryd@.service", "/bin/true", "/usr/local/bin/boundaryd")
    for name in ("boundaryd@.service", "boundaryd@alice.service"):
        result = _analyze(tmp_path, "verify", f"./{name}")
        assert (result.returncode, result.stdout + result.stderr) == (0, ""), name


@needs_analyze
def test_verify_does_catch_a_broken_unit(tmp_path: Path) -> None:
    """The check above would see a problem: a missing binary and a typo both make output."""
    unit = _copy(tmp_path, "boundaryd.service", "/nonexistent/boundaryd", "%h/.local/bin/boundaryd")
    unit.write_text(unit.read_text().replace("Type=notify", "Type=notify\nWatchdogSecs=1"))
    result = _analyze(tmp_path, "verify", str(unit))
    out = result.stdout + result.stderr
    assert "WatchdogSecs" in out and "/nonexistent/boundaryd" in out


@needs_analyze
def test_template_exposure_is_at_most_2(tmp_path: Path) -> None:
    _copy(tmp_path, "boundaryd@.service", "/bin/true", "/usr/local/bin/boundaryd")
    result = _analyze(tmp_path, "security", "--offline=true", "--no-pager", "./boundaryd@alice.service")
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    assert m, result.stdout + result.stderr
    assert float(m.group(1)) <= 2.0, result.stdout


def test_template_has_what_the_issue_asks() -> None:
    text = (UNITS / "boundaryd@.service").read_text()
    for line in ("Type=notify", "User=%i", "StateDirectory=boundaryd/%i", "ExecReload=/bin/kill -HUP $MAINPID",
                 "LoadCredential=smtp-password:", "WatchdogSec=", "Restart=on-failure", "NotifyAccess=main"):
        assert line in text, line


def test_repository_unit_is_the_rendered_one() -> None:
    assert (UNITS / "boundaryd.service").read_text() == service.unit_text()
    text = service.unit_text("/x/boundaryd run")
    for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure", "NotifyAccess=main",
                 "ExecStart=/x/boundaryd run", "WantedBy=default.target"):
        assert line in text.splitlines(), line
    assert re.search(r"^WatchdogSec=\S+$", text, re.MULTILINE)


def test_exec_start_quotes_paths_and_escapes_specifiers(tmp_path: Path) -> None:
    line = service.exec_start(Path("/opt/bd/bin/boundaryd"), Path("/home/al ice/r%.yaml"), Path("/s/$x"), 30)
    assert line == '/opt/bd/bin/boundaryd --rules "/home/al ice/r%%.yaml" --state /s/$$x run --interval 30'


@needs_analyze
def test_an_installed_unit_with_awkward_paths_verifies(tmp_path: Path) -> None:
    rules = tmp_path / "my rules%.yaml"
    rules.write_text("x")
    unit = tmp_path / "boundaryd.service"
    unit.write_text(service.unit_text(service.exec_start(Path("/bin/true"), rules, tmp_path / "st$te")))
    result = _analyze(tmp_path, "verify", "--user", str(unit))
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_install_and_uninstall_write_and_remove_the_unit(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def runner(args):  # type: ignore[no-untyped-def]
        calls.append(list(args))
        return subprocess.CompletedProcess(args, 0, "", "")

    path = service.user_unit_path({"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "HOME": str(tmp_path)})
    assert path == tmp_path / "cfg" / "systemd" / "user" / "boundaryd.service"
    said: list[str] = []
    service.install(service.unit_text("/bin/true run"), path=path, echo=said.append, runner=runner, use_systemctl=True)
    assert path.read_text() == service.unit_text("/bin/true run")
    assert calls == [["daemon-reload"], ["enable", "--now", "boundaryd.service"]]
    assert any("loginctl enable-linger" in s for s in said)
    calls.clear()
    assert service.uninstall(path=path, echo=said.append, runner=runner, use_systemctl=True)
    assert not path.exists()
    assert calls == [["disable", "--now", "boundaryd.service"], ["daemon-reload"]]
    assert not service.uninstall(path=path, echo=said.append, runner=runner, use_systemctl=False)


def test_install_without_a_user_manager_says_how_to_start_it(tmp_path: Path) -> None:
    said: list[str] = []
    path = tmp_path / "u" / "boundaryd.service"
    service.install("[Unit]\n", path=path, echo=said.append, use_systemctl=False)
    assert path.exists()
    assert any("systemctl --user daemon-reload && systemctl --user enable --now boundaryd.service" in s for s in said)


def test_a_failing_systemctl_is_one_clear_error(tmp_path: Path) -> None:
    from boundaryd.errors import RuntimeFailure

    def runner(args):  # type: ignore[no-untyped-def]
        return subprocess.CompletedProcess(args, 1, "", "Failed to connect to bus: No medium found\n")

    with pytest.raises(RuntimeFailure, match="daemon-reload: Failed to connect to bus: No medium found"):
        service.install("[Unit]\n", path=tmp_path / "b.service", echo=lambda s: None, runner=runner, use_systemctl=True)


def test_find_executable_prefers_the_running_one(tmp_path: Path) -> None:
    exe = tmp_path / "bin" / "boundaryd"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert service.find_executable(str(exe)) == exe
    beside = Path(sys.executable).parent / "boundaryd"  # the venv's console script
    if beside.exists():
        assert service.find_executable("/usr/bin/python3") == Path(os.path.abspath(beside))


BOUNDARYD = Path(sys.executable).parent / "boundaryd"
needs_cli = pytest.mark.skipif(not BOUNDARYD.exists(), reason="the boundaryd console script is not installed")


def _cli(tmp_path: Path, *args: str, path_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"), HOME=str(tmp_path), USER="alice")
    if path_dir is not None:
        env["PATH"] = f"{path_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [str(BOUNDARYD), "--rules", str(tmp_path / "rules.yaml"), "--state", str(tmp_path / "state"), *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )


@needs_cli
def test_cli_service_install_dry_run_prints_a_unit_that_verifies(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text((ROOT / "rules" / "minimal.yaml").read_text())
    out = _cli(tmp_path, "service", "install", "--dry-run")
    assert out.returncode == 0, out.stderr
    exec_line = f"ExecStart={BOUNDARYD} --rules {tmp_path / 'rules.yaml'} --state {tmp_path / 'state'} run"
    assert exec_line in out.stdout.splitlines()
    assert out.stdout == service.unit_text(exec_line.removeprefix("ExecStart="))
    assert not (tmp_path / "config").exists()  # a dry run writes nothing
    if ANALYZE is not None:
        (tmp_path / "boundaryd.service").write_text(out.stdout)
        result = _analyze(tmp_path, "verify", "--user", str(tmp_path / "boundaryd.service"))
        assert (result.returncode, result.stdout + result.stderr) == (0, "")


@needs_cli
def test_cli_service_install_and_uninstall(tmp_path: Path) -> None:
    """Through the real CLI; `systemctl` is a recorder on PATH so the test never touches this machine's
    user manager (a real `enable --now` here would install a service on the host)."""
    rec = tmp_path / "bin"
    rec.mkdir()
    log = tmp_path / "systemctl.log"
    (rec / "systemctl").write_text(f'#!/bin/sh\necho "$@" >> {log}\nexit 0\n')
    (rec / "systemctl").chmod(0o755)
    (tmp_path / "rules.yaml").write_text("version: 1\ntimezone: Nowhere/City\n")
    bad = _cli(tmp_path, "service", "install", path_dir=rec)
    assert bad.returncode == 2 and f"{tmp_path / 'rules.yaml'}:" in bad.stderr  # never installs a broken setup
    assert not log.exists()
    (tmp_path / "rules.yaml").write_text((ROOT / "rules" / "minimal.yaml").read_text())
    out = _cli(tmp_path, "service", "install", "--interval", "120", path_dir=rec)
    assert out.returncode == 0, out.stderr
    unit = tmp_path / "config" / "systemd" / "user" / "boundaryd.service"
    assert f"--state {tmp_path / 'state'} run --interval 120" in unit.read_text()
    assert log.read_text().splitlines() == [
        "--user show-environment", "--user daemon-reload", "--user enable --now boundaryd.service"
    ]
    assert "loginctl enable-linger alice" in out.stdout
    out = _cli(tmp_path, "service", "uninstall", path_dir=rec)
    assert out.returncode == 0, out.stderr
    assert not unit.exists()
    assert log.read_text().splitlines()[3:] == [
        "--user show-environment", "--user disable --now boundaryd.service", "--user daemon-reload"
    ]


@needs_cli
def test_cli_run_rejects_a_bad_interval(tmp_path: Path) -> None:
    out = _cli(tmp_path, "run", "--interval", "0")
    assert out.returncode == 2 and "--interval" in out.stderr
