"""``boundaryd run`` and ``boundaryd service install|uninstall`` (attached by ``cli.main``).

``ctx.obj`` is the CLI's context object: ``.app()`` builds the application, ``.rules_path`` and
``.state_dir`` are the resolved ``--rules``/``--state`` paths, ``.verbosity`` (-v/-q) when present.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from boundaryd.service import unit as svc


def _verbosity(obj: Any) -> int:
    v = getattr(obj, "verbosity", 0)
    return int(v) if isinstance(v, int) else 0


@click.command("run")
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between syncs.",
)
@click.pass_context
def run(ctx: click.Context, interval: float) -> None:
    """The daemon: sync now, then every interval, until SIGTERM (systemd notify aware)."""
    from boundaryd import heap
    from boundaryd.service.daemon import Daemon, leave
    from boundaryd.service.logs import setup_logging

    heap.one_arena()  # before the worker thread starts
    setup_logging(_verbosity(ctx.obj))
    app = ctx.obj.app()
    daemon = Daemon(app, interval=interval)
    code = daemon.run()
    leave(daemon, code)
    ctx.exit(code)


@click.group("service")
def service() -> None:
    """Install or remove the systemd user unit."""


@service.command("install")
@click.option("--dry-run", is_flag=True, help="Print the unit instead of installing it.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Seconds between syncs (default: run's default, 60).",
)
@click.pass_context
def install(ctx: click.Context, dry_run: bool, interval: float | None) -> None:
    """Write ~/.config/systemd/user/boundaryd.service and start it."""
    obj = ctx.obj
    rules = Path(obj.rules_path)
    state = Path(obj.state_dir)
    exe = svc.find_executable()
    unit = svc.unit_text(svc.exec_start(exe, rules, state, interval))
    problem = svc.checkout_problem(exe)
    if problem:
        click.echo(f"boundaryd: warning: {problem}", err=True)
    if dry_run:
        click.echo(unit, nl=False)
        return
    # a unit that starts on a broken rules file would only wait for a fix: say so now instead
    obj.app().load_rules()
    svc.install(unit, echo=click.echo)


@service.command("uninstall")
def uninstall() -> None:
    """Stop, disable and remove the user unit."""
    svc.uninstall(echo=click.echo)
