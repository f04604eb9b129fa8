"""``doctor``'s unit line: the installed unit's command exists, lives outside any source checkout
(its code too), and runs these rules."""

from __future__ import annotations

from pathlib import Path

from boundaryd.cli.doctor import unit
from boundaryd.presentation.doctor import line
from boundaryd.service import unit as svc


def _venv(root: Path) -> Path:
    """A venv-shaped install: bin/boundaryd and its own copy of the package."""
    exe = root / "venv" / "bin" / "boundaryd"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    (root / "venv" / "lib" / "python3.11" / "site-packages" / "boundaryd").mkdir(parents=True)
    return exe


def _unit(tmp_path: Path, exe: Path, rules: Path) -> Path:
    path = tmp_path / "boundaryd.service"
    path.write_text(svc.unit_text(svc.exec_start(exe, rules, tmp_path / "state")))
    return path


def test_a_unit_running_an_installed_copy_is_ok(tmp_path: Path) -> None:
    exe = _venv(tmp_path / "home" / ".local" / "share" / "boundaryd")
    rules = tmp_path / "rules.yaml"
    f = unit(rules, tmp_path / "state", _unit(tmp_path, exe, rules))
    assert line(f) == f"unit         ok    installed: {tmp_path / 'boundaryd.service'} (runs {exe})"
    other = unit(tmp_path / "other.yaml", tmp_path / "state", _unit(tmp_path, exe, rules))
    assert other.status == "note" and f"runs {rules}, not this rules file" in line(other)


def test_a_unit_running_the_clone_is_a_fix(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    (clone / ".git").mkdir(parents=True)
    (clone / "pyproject.toml").write_text("[project]\n")
    exe = _venv(clone / ".venv-parent")  # clone/.venv-parent/venv/bin/boundaryd: inside the clone
    rules = tmp_path / "rules.yaml"
    f = unit(rules, tmp_path / "state", _unit(tmp_path, exe, rules))
    assert f.status == "misconfigured" and f"source checkout {clone}" in line(f) and "make install" in line(f)


def test_an_editable_install_elsewhere_still_runs_the_clone(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    (clone / ".git").mkdir(parents=True)
    (clone / "pyproject.toml").write_text("[project]\n")
    exe = tmp_path / "venv" / "bin" / "boundaryd"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (site / "__editable__.boundaryd-0.1.0.pth").write_text(f"{clone / 'daemon'}\n")
    f = unit(tmp_path / "r.yaml", tmp_path / "state", _unit(tmp_path, exe, tmp_path / "r.yaml"))
    assert f.status == "misconfigured" and "imports its code from the source checkout" in line(f)


def test_a_unit_whose_command_is_gone_is_a_fix(tmp_path: Path) -> None:
    gone = tmp_path / "deleted-clone" / ".venv" / "bin" / "boundaryd"
    f = unit(tmp_path / "r.yaml", tmp_path / "state", _unit(tmp_path, gone, tmp_path / "r.yaml"))
    assert f.status == "misconfigured" and f"ExecStart runs {gone}, which is not there" in line(f)
    none = unit(tmp_path / "r.yaml", tmp_path / "state", tmp_path / "nothing.service")
    assert none.status == "note" and "not installed" in line(none)
