"""``make install`` puts boundaryd in a place of its own (a venv under PREFIX/share/boundaryd, the
command in PREFIX/bin), so ``boundaryd service install`` writes a unit that outlives the clone; a
unit written from the clone's .venv is warned about, with the fix.

Offline: pip installs boundaryd from this checkout with --no-deps, and the installed command finds
its dependencies in the test venv's site-packages (PYTHONPATH, which never processes the editable
install's .pth, so the installed copy of boundaryd is the one imported)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from boundaryd.service import unit as svc

ROOT = Path(__file__).resolve().parent.parent
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "home" / ".config"), **extra)
    env.pop("NOTIFY_SOCKET", None)
    for leaked in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"):  # a test CA set by another test: not pip's
        env.pop(leaked, None)
    return env


@needs_make
def test_make_install_then_service_install_points_outside_the_clone(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    made = subprocess.run(
        ["make", "-C", str(ROOT), "install", f"PREFIX={prefix}", f"PYTHON={sys.executable}", "INSTALL_PIP_FLAGS=--no-deps"],
        capture_output=True, text=True, timeout=300, check=False, env=_env(tmp_path),
    )
    assert made.returncode == 0, made.stdout + made.stderr
    launcher = prefix / "bin" / "boundaryd"
    venv = prefix / "share" / "boundaryd" / "venv"
    assert launcher.is_symlink() and launcher.resolve() == (venv / "bin" / "boundaryd").resolve()
    assert svc.source_checkout(launcher.resolve()) is None

    rules = tmp_path / "rules.yaml"
    rules.write_text((ROOT / "rules" / "minimal.yaml").read_text())
    deps = sysconfig.get_paths()["purelib"]  # the test venv's packages, for the installed command's imports
    out = subprocess.run(
        [str(launcher), "--rules", str(rules), "--state", str(tmp_path / "state"), "service", "install", "--dry-run"],
        capture_output=True, text=True, timeout=120, check=False, env=_env(tmp_path, PYTHONPATH=deps),
    )
    assert out.returncode == 0, out.stderr
    (exec_line,) = [ln for ln in out.stdout.splitlines() if ln.startswith("ExecStart=")]
    words = svc.unit_exec(exec_line)
    assert words[0] == str(launcher) and words[1:] == ["--rules", str(rules), "--state", str(tmp_path / "state"), "run"]
    assert str(ROOT) not in exec_line
    assert "warning" not in out.stderr  # its code is the installed copy, not the clone's


def test_a_unit_from_the_clone_is_warned_about_with_the_fix(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    (clone / ".git").mkdir(parents=True)
    (clone / "pyproject.toml").write_text("[project]\nname = 'boundaryd'\n")
    exe = clone / ".venv" / "bin" / "boundaryd"
    problem = svc.checkout_problem(exe, package=tmp_path / "site" / "boundaryd")
    assert problem is not None and f"source checkout {clone}" in problem and "make install" in problem
    own = tmp_path / "home" / ".local" / "bin" / "boundaryd"
    assert svc.checkout_problem(own, package=tmp_path / "site" / "boundaryd") is None
    # an editable install: the command is elsewhere but its code is the clone's
    editable = svc.checkout_problem(own, package=clone / "daemon" / "boundaryd")
    assert editable is not None and "imports its code" in editable


def test_service_install_from_the_checkout_warns_on_stderr(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text((ROOT / "rules" / "minimal.yaml").read_text())
    out = subprocess.run(
        [sys.executable, "-m", "boundaryd", "--rules", str(rules), "--state", str(tmp_path / "s"), "service", "install", "--dry-run"],
        capture_output=True, text=True, timeout=120, check=False, env=_env(tmp_path),
    )
    assert out.returncode == 0
    if svc.source_checkout(Path(svc.__file__)) is not None:  # this test run imports the clone's code
        assert out.stderr.startswith("boundaryd: warning: ") and "make install" in out.stderr
