"""``boundaryd service install | uninstall``: the systemd user unit.

The unit text lives here (``systemd/boundaryd.service`` in the repository is this text rendered
with ``ExecStart=%h/.local/bin/boundaryd run``; a test keeps the two equal).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from boundaryd import fsutil
from boundaryd.errors import BadInput, RuntimeFailure

UNIT_NAME = "boundaryd.service"
DEFAULT_EXEC_START = "%h/.local/bin/boundaryd run"
WATCHDOG_SEC = "10min"

_UNIT = """\
# boundaryd as a systemd user service: `boundaryd service install` writes this file with the
# right ExecStart; `systemctl --user status boundaryd` shows what it is doing (STATUS=).
[Unit]
Description=boundaryd: keeps your protected blocks on your calendar
StartLimitIntervalSec=10min
StartLimitBurst=5

[Service]
Type=notify
NotifyAccess=main
ExecStart={exec_start}
ExecReload=/bin/kill -HUP $MAINPID
# READY=1 comes after the first good load of the rules; a broken file is waited for, not fatal
TimeoutStartSec=infinity
TimeoutStopSec=15s
WatchdogSec={watchdog}
Restart=on-failure
RestartSec=30s
Environment=PYTHONUNBUFFERED=1
UMask=0077
# hardening that needs no privileges, so it works in a user unit
NoNewPrivileges=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK

[Install]
WantedBy=default.target
"""


def unit_text(exec_start: str = DEFAULT_EXEC_START) -> str:
    return _UNIT.format(exec_start=exec_start, watchdog=WATCHDOG_SEC)


def quote_arg(arg: str) -> str:
    """One ExecStart= word: systemd specifiers (%) and variables ($) escaped, quoted when needed."""
    if any(c in arg for c in "\n\r\0"):
        raise BadInput(f"{arg!r}: a path with a line break cannot go in a unit file")
    text = arg.replace("%", "%%").replace("$", "$$")
    if any(c in text for c in " \t\"'\\;"):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def find_executable(argv0: str | None = None) -> Path:
    """The installed ``boundaryd`` to run: the one running now, the one beside this Python (a
    virtualenv's or pipx's ``bin/``), else the one on PATH. Symlinks are kept (pipx upgrades them)."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    candidates: list[str] = []
    if argv0 and Path(argv0).name.startswith("boundaryd"):
        candidates.append(argv0 if os.sep in argv0 else (shutil.which(argv0) or ""))
    candidates.append(os.path.join(os.path.dirname(sys.executable), "boundaryd"))
    candidates.append(shutil.which("boundaryd") or "")
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return Path(os.path.abspath(c))
    raise RuntimeFailure(
        "boundaryd: the installed `boundaryd` command was not found on PATH (install it, e.g. with pipx, and retry)"
    )


def source_checkout(path: Path) -> Path | None:
    """The source checkout (a folder with ``pyproject.toml`` and ``.git``) that ``path`` lives in, if any."""
    for folder in Path(os.path.abspath(path)).parents:
        if (folder / "pyproject.toml").is_file() and (folder / ".git").exists():
            return folder
    return None


def checkout_problem(executable: Path, package: Path | None = None) -> str | None:
    """Why a unit running ``executable`` would die with the clone it comes from, and the fix; None
    when boundaryd (the command and the code it imports) is installed in a place of its own."""
    import boundaryd

    package = Path(boundaryd.__file__).parent if package is None else package
    for what, path in (("runs", executable), ("imports its code", package)):
        clone = source_checkout(path)
        if clone is not None:
            return (
                f"{executable} {what} from the source checkout {clone} (its .venv or an editable install):"
                " the service stops when the clone is moved or deleted. Install boundaryd in its own place"
                f" with `make install` in {clone}, then run `~/.local/bin/boundaryd service install`"
            )
    return None


def unit_exec(text: str) -> list[str]:
    """The words of a unit's ExecStart= (systemd's quoting and %%/$$ escapes undone)."""
    import shlex

    line = next((ln for ln in text.splitlines() if ln.startswith("ExecStart=")), "")
    try:
        words = shlex.split(line.removeprefix("ExecStart="))
    except ValueError:
        return []
    return [w.replace("%%", "%").replace("$$", "$") for w in words]


def exec_start(executable: Path, rules: Path, state: Path, interval: float | None = None) -> str:
    words = [str(executable), "--rules", str(rules.absolute()), "--state", str(state.absolute()), "run"]
    if interval is not None:
        words += ["--interval", f"{interval:g}"]
    return " ".join(quote_arg(w) for w in words)


def user_unit_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base and os.path.isabs(base) else Path(env.get("HOME") or Path.home()) / ".config"
    return root / "systemd" / "user" / UNIT_NAME


Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def run_systemctl(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemctl", "--user", *args], capture_output=True, text=True, timeout=60, check=False
    )


def systemctl_works(runner: Runner = run_systemctl) -> bool:
    """True when a systemd user manager answers (not in a container or a bare ssh session)."""
    if shutil.which("systemctl") is None:
        return False
    try:
        return runner(["show-environment"]).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _write_atomic(path: Path, text: str) -> None:
    try:
        fsutil.write_atomic(path, text.encode("utf-8"), mode=0o644)
    except OSError as exc:
        raise RuntimeFailure(f"{path}: cannot write the unit: {exc.strerror or exc}") from exc


def _check(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        detail = " ".join((result.stderr or result.stdout or "").split()) or f"exit status {result.returncode}"
        raise RuntimeFailure(f"systemctl --user {what}: {detail}")


def linger_hint() -> str:
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or "$USER"
    return (
        "To keep boundaryd running while you are logged out (a headless machine), run once:\n"
        f"  sudo loginctl enable-linger {user}"
    )


def install(
    unit: str,
    *,
    path: Path | None = None,
    echo: Callable[[str], None] = print,
    runner: Runner = run_systemctl,
    use_systemctl: bool | None = None,
) -> Path:
    """Write the user unit, reload systemd and start it where a user manager runs."""
    path = user_unit_path() if path is None else path
    _write_atomic(path, unit)
    echo(f"wrote {path}")
    works = systemctl_works(runner) if use_systemctl is None else use_systemctl
    if works:
        _check(runner(["daemon-reload"]), "daemon-reload")
        _check(runner(["enable", "--now", UNIT_NAME]), f"enable --now {UNIT_NAME}")
        echo(f"enabled and started {UNIT_NAME}; see it with: systemctl --user status boundaryd")
    else:
        echo("no systemd user manager here: start it later with")
        echo(f"  systemctl --user daemon-reload && systemctl --user enable --now {UNIT_NAME}")
    echo(linger_hint())
    return path


def uninstall(
    *,
    path: Path | None = None,
    echo: Callable[[str], None] = print,
    runner: Runner = run_systemctl,
    use_systemctl: bool | None = None,
) -> bool:
    """Stop, disable and remove the user unit; False when there was nothing installed."""
    path = user_unit_path() if path is None else path
    works = systemctl_works(runner) if use_systemctl is None else use_systemctl
    existed = path.exists()
    if works and existed:
        result = runner(["disable", "--now", UNIT_NAME])
        if result.returncode != 0:
            echo(f"systemctl --user disable --now {UNIT_NAME}: {' '.join((result.stderr or '').split())}")
    if existed:
        try:
            path.unlink()
        except OSError as exc:
            raise RuntimeFailure(f"{path}: cannot remove the unit: {exc.strerror or exc}") from exc
        echo(f"removed {path}")
        if works:
            _check(runner(["daemon-reload"]), "daemon-reload")
    else:
        echo(f"{path}: not installed; nothing to do")
    return existed
