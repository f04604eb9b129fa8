"""The command line. Every known failure becomes one line on stderr and an exit code, here."""

from __future__ import annotations

import json
import sys
import traceback
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from boundaryd.cli.context import Obj, _cal_opt, _json_opt, _now_opt, _parse_now, load_rules, now_in
from boundaryd.errors import BadInput, BoundarydError, RuntimeFailure
from boundaryd.presentation.colour import for_terminal

if TYPE_CHECKING:
    from boundaryd.core.model import Plan, Snapshot
    from boundaryd.core.rules import Rules
    from boundaryd.engine.app import App
    from boundaryd.engine.executor import Executor

# The rules model, the planner, the engine and every calendar client are imported by the
# command that needs them, not here: `boundaryd --help` loads click and this module only.


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--rules", type=click.Path(path_type=Path), help="rules file [$BOUNDARYD_RULES]")
@click.option("--state", type=click.Path(path_type=Path), help="state dir [$BOUNDARYD_STATE]")
@click.option("-v", "--verbose", count=True, help="more detail (tracebacks on errors)")
@click.option("-q", "--quiet", count=True, help="less output")
@click.version_option(package_name="boundaryd")
@click.pass_context
def cli(ctx: click.Context, rules: Path | None, state: Path | None, verbose: int, quiet: int) -> None:
    """Keep your boundaries on your calendar."""
    ctx.obj = Obj(rules, state, verbose - quiet)


@cli.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
@_now_opt
@click.pass_obj
def check(obj: Obj, file: Path | None, now: str | None) -> None:
    """Validate a rules file and print the protected week."""
    from boundaryd.core.ical_blocks import block_instances  # not the planner: check writes nothing
    from boundaryd.presentation.render import week_table

    rules = load_rules(file or obj.rules_path)
    t = now_in(rules, _parse_now(now))
    monday = t.date() - timedelta(days=t.weekday())
    start = datetime.combine(monday, datetime.min.time(), rules.tz)
    blocks = block_instances(rules, start, start + timedelta(days=7))
    click.echo(f"{file or obj.rules_path}: OK, {len(rules.blocks)} blocks, times in {rules.timezone}")
    click.echo("")
    click.echo(for_terminal(week_table(blocks, monday)))


@cli.command()
@_cal_opt
@_now_opt
@click.pass_obj
def doctor(obj: Obj, calendar: str | None, now: str | None) -> None:
    """Check every configured part; one line each, ok or what to do (exit 0, 1 unreachable, 2 misconfigured)."""
    from boundaryd.cli.doctor import exit_code, findings
    from boundaryd.presentation.doctor import line, summary

    found = []
    for f in findings(obj.rules_path, obj.state_dir, calendar, _parse_now(now)):
        found.append(f)
        click.echo(for_terminal(line(f)))
    code = exit_code(found)
    if code:
        raise (BadInput if code == 2 else RuntimeFailure)(summary(found))


def _plan_or_sync(obj: Obj, calendar: str | None, now: str | None, as_json: bool, execute: bool) -> None:
    from boundaryd.presentation.jsonout import plan_to_json
    from boundaryd.presentation.render import plan_summary

    app = obj.app(calendar)
    rules = app.load_rules()
    t = now_in(rules, _parse_now(now))
    ex = app.executor(rules)
    if execute:
        result = app.sync(rules, t, ex)
        plan = result.plan
    else:
        plan, _ = app.plan(rules, t, ex)
        result = None
    for s in plan.skipped:
        click.echo(f"boundaryd: warning: {ex.backend.name}: event {s.uid}: {s.reason} (skipped)", err=True)
    for text in result.refused if result is not None else ():
        click.echo(f"boundaryd: warning: {text}", err=True)
    if as_json:
        click.echo(json.dumps(plan_to_json(plan, rules.tz), indent=2, ensure_ascii=False))
        return
    if obj.verbosity >= 0:
        click.echo(f"Calendar: {ex.backend.name}")
        click.echo(for_terminal(plan_summary(plan, executed=execute)))
        if result is not None:
            for subject in result.queued:
                click.echo(f"Queued: {subject}  (see 'boundaryd notices')")
            if result.mail_error:
                click.echo(f"Mail: {result.waiting} waiting in the outbox ({result.mail_error})")
            elif result.sent:
                click.echo(f"Mail: {result.sent} sent")
        elif plan.notices:
            for n in plan.notices:
                click.echo(f"Would notify {n.to}: {n.subject}")


@cli.command()
@_cal_opt
@_now_opt
@_json_opt
@click.pass_obj
def plan(obj: Obj, calendar: str | None, now: str | None, as_json: bool) -> None:
    """Show what sync would do, changing nothing."""
    _plan_or_sync(obj, calendar, now, as_json, execute=False)


@cli.command()
@_cal_opt
@_now_opt
@_json_opt
@click.pass_obj
def sync(obj: Obj, calendar: str | None, now: str | None, as_json: bool) -> None:
    """One full cycle: write blocks, decline or flag, notify."""
    _plan_or_sync(obj, calendar, now, as_json, execute=True)


def _resolve(app: App, plan: Plan, snap: Snapshot, event: str) -> tuple[str, str | None]:
    """EVENT (a ref or a UID) as (uid, recurrence id: "" for a whole series, None for every occurrence).

    An EVENT that matches nothing on the calendar is bad input (exit 2)."""
    from boundaryd.core.refs import looks_like_ref

    for c in plan.conflicts:
        if c.ref == event:
            return c.occurrence.uid, ("" if c.series else c.occurrence.key[1])
    found = app.journal.find_ref(event) if looks_like_ref(event) else None
    uid, rid = found if found is not None else (event, None)
    if not any(o.uid == uid for o in snap.occurrences) and not any(s.uid == uid for s in snap.skipped):
        raise BadInput(
            f"{event}: no event on the calendar has this ref or UID in the next {app.load_rules().horizon_days} days"
            " (refs are in the notices and in 'boundaryd plan')"
        )
    return uid, rid


def _read(obj: Obj, calendar: str | None, now: str | None) -> tuple[App, Rules, Executor, Plan, Snapshot]:
    app = obj.app(calendar)
    rules = app.load_rules()
    t = now_in(rules, _parse_now(now))
    ex = app.executor(rules)
    plan, snap = app.plan(rules, t, ex)
    return app, rules, ex, plan, snap


@cli.command()
@click.argument("event")
@_cal_opt
@_now_opt
@click.pass_obj
def why(obj: Obj, event: str, calendar: str | None, now: str | None) -> None:
    """Explain, rule by rule, what boundaryd decides for an event (its ref or UID)."""
    from boundaryd.core.explain import explain

    app, rules, ex, plan, snap = _read(obj, calendar, now)
    uid, _ = _resolve(app, plan, snap, event)
    j = app.journal
    click.echo(
        explain(rules, snap, plan, ex.memory(), uid, j.actions_in_state("decline", "done"), j.actions_in_state("undo", "done"))
    )


@cli.command()
@click.argument("event")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="last date the exception covers")
@click.option("--series", is_flag=True, help="every occurrence of the series, not only this one")
@_cal_opt
@_now_opt
@click.pass_obj
def allow(obj: Obj, event: str, until: datetime | None, series: bool, calendar: str | None, now: str | None) -> None:
    """Let an event through its blocks; undoes boundaryd's own decline of it (at the next sync)."""
    app, rules, ex, plan, snap = _read(obj, calendar, now)
    uid, rid = _resolve(app, plan, snap, event)
    rid = None if series or not rid else rid
    app.journal.add_allow(uid, until.date() if until else None, rid)
    limit = f" until {until.date().isoformat()}" if until else ""
    what = "every occurrence of it" if rid is None else "that occurrence"
    click.echo(f"Allowed {event} ({what}){limit}: the next sync lets it through.")
    declined = app.journal.declined()
    if any(k[0] == uid and (rid is None or k[1] in (rid, "")) for k in declined):
        click.echo("boundaryd declined it: the next sync sets your answer back and tells the organizer.")


@cli.command()
@click.argument("event")
@click.option("--series", is_flag=True, help="decline the whole series with one reply")
@_cal_opt
@_now_opt
@click.pass_obj
def decline(obj: Obj, event: str, series: bool, calendar: str | None, now: str | None) -> None:
    """Decline what boundaryd only flagged (an existing meeting, a standing conflict), with alternatives."""
    from boundaryd.core.existing import invited

    app, rules, ex, plan, snap = _read(obj, calendar, now)
    uid, rid = _resolve(app, plan, snap, event)
    whole = series or rid == "" and any(c.series and c.occurrence.uid == uid for c in plan.conflicts)
    flagged = [
        c for c in plan.flags if c.occurrence.uid == uid and (whole or rid is None or c.occurrence.key[1] == rid)
    ]
    if not flagged:
        raise BadInput(f"{event}: not flagged now, so there is nothing to decline (see 'boundaryd why {event}')")
    if not any(invited(c.occurrence, rules) for c in flagged):
        raise BadInput(f"{event}: not an invitation to you (your own event, or you are not invited): nothing to decline")
    keys = {(uid, "")} if whole else {c.occurrence.key for c in flagged}
    for key in sorted(keys):
        app.journal.add_decline_request(*key)
    what = "the whole series, with one reply" if whole else f"{len(keys)} occurrence(s)"
    click.echo(f"Declining {event} ({what}): the next sync declines it and offers other times.")


@cli.command()
@_now_opt
@click.option("--html", "html", type=click.Path(path_type=Path), help="write the week as an HTML picture")
@click.option("--email", "send", is_flag=True, help="send the weekly preview now")
@_cal_opt
@click.pass_obj
def week(obj: Obj, now: str | None, html: Path | None, send: bool, calendar: str | None) -> None:
    """Render the protected week ahead, with the conflicts already known."""
    from boundaryd.presentation.render import conflict_line, week_table

    app = obj.app(calendar)
    rules = app.load_rules()
    t = now_in(rules, _parse_now(now))
    ex = app.executor(rules)
    plan, _ = app.plan(rules, t, ex)
    blocks, conflicts = plan.week()
    click.echo(for_terminal(week_table(blocks, t.date())))
    if conflicts:
        click.echo("")
        click.echo(for_terminal(f"Known conflicts ({len(conflicts)}):"))
        for c in conflicts:
            click.echo(for_terminal("\n".join(conflict_line(c))))
    if html:
        from boundaryd.delivery.notice import build_weekly_preview

        msg = build_weekly_preview(rules=rules, conflicts=conflicts, blocks=blocks, now=t, key="week", start=t.date())
        page = msg.get_body(("html",))
        assert page is not None
        html.write_text(page.get_content(), encoding="utf-8")
        click.echo(f"Wrote {html}")
    if send:
        subject = ex.weekly_preview(plan)
        click.echo(f"Queued: {subject}  (see 'boundaryd notices')")


@cli.command()
@click.pass_obj
def notices(obj: Obj) -> None:
    """List the notices and replies sent, and those waiting in the outbox."""
    from boundaryd.delivery.mail import Outbox
    from boundaryd.presentation.safe import clean_header

    path = obj.state_dir / "outbox"
    entries = Outbox(path).entries() if path.exists() else []
    if not entries:
        click.echo(f"No notices yet ({path} is empty).")
        return
    click.echo(f"Outbox (a Maildir any mail client opens): {path}")
    for e in entries:
        when = f"{e.date:%Y-%m-%d %H:%M}" if e.date else "?"
        click.echo(for_terminal(f"  {e.state:<8} {when}  to {clean_header(e.to, 120)}  {clean_header(e.subject)}"))
    click.echo("sent: accepted by the SMTP server; waiting: to be sent on a later sync; outbox: for you to read")
    _notified(obj)


def _notified(obj: Obj) -> None:
    """The conflicts notified, each with its ref and the command that changes its fate."""
    from boundaryd.engine.journal import Journal
    from boundaryd.presentation.safe import clean_header

    path = obj.state_dir / "journal.sqlite3"
    rows = Journal(path).notified_rows() if path.exists() else []
    if not rows:
        return
    click.echo("")
    click.echo("Conflicts notified (newest first):")
    for ref, decision, start, uid, _rid, state in rows:
        if state == "undone":
            status, command = "declined, undone by 'allow'", ""
        elif decision == "decline":
            status, command = "declined", f"boundaryd allow {ref}" if ref else ""
        elif decision == "flag":
            status, command = "flagged", f"boundaryd decline {ref}" if ref else ""
        else:
            status, command = decision, ""
        row = f"  {ref or '------'}  {start[:16].replace('T', ' ')}  {status:<10} {clean_header(uid, 60)}"
        click.echo(for_terminal(row + (f"  ({command})" if command else "")))


@cli.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=Path("demo"), show_default=True)
@_now_opt
@click.pass_obj
def demo(obj: Obj, directory: Path, now: str | None) -> None:
    """Make a demo rules file and calendar, run one sync, show the result."""
    from boundaryd.cli.demo import run_demo

    run_demo(directory, _parse_now(now))


@cli.group()
def auth() -> None:
    """Authorize access to a calendar account."""


@auth.command("google")
@click.option("--client-secrets", required=True, type=click.Path(path_type=Path), help="OAuth client JSON from Google Cloud")
@click.option("--port", type=int, default=8765, show_default=True, help="local port for the OAuth redirect")
@click.option("--no-browser", is_flag=True, help="print the URL instead of opening a browser")
@click.pass_obj
def auth_google(obj: Obj, client_secrets: Path, port: int, no_browser: bool) -> None:
    """OAuth for Google Calendar; saves the token in the state dir (mode 0600)."""
    from boundaryd.calendars.google_auth import authorize, default_token_file

    token_file = default_token_file(obj.state_dir)
    try:
        rules: Rules | None = load_rules(obj.rules_path)
    except BadInput:
        rules = None
    if rules and rules.calendar and rules.calendar.google and rules.calendar.google.token_file:
        token_file = Path(rules.calendar.google.token_file).expanduser()
    authorize(client_secrets, token_file, port=port, open_browser=not no_browser, echo=click.echo)


from boundaryd.cli.auth_microsoft import auth_microsoft  # noqa: E402 - its own module, under `auth`

auth.add_command(auth_microsoft)


def _attach_daemon_commands() -> None:
    try:
        from boundaryd.cli.daemon import run, service
        from boundaryd.cli.report import report
    except ImportError:  # pragma: no cover - the daemon module is part of the package
        return
    cli.add_command(run)
    cli.add_command(service)
    cli.add_command(report)  # the weekly boundary ledger (cli/report.py)


_attach_daemon_commands()


def main(argv: list[str] | None = None) -> int:
    verbose = any(a in ("-v", "--verbose") or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in (argv or sys.argv[1:]))
    try:
        cli.main(args=argv, prog_name="boundaryd", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("boundaryd: aborted", err=True)
        return 1
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.ClickException as e:
        e.show()
        return 2
    except BoundarydError as e:
        if verbose:
            traceback.print_exc()
        for p in e.problems or (str(e),):
            click.echo(f"boundaryd: error: {p}", err=True)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - a bug: one line, traceback with -v
        if verbose:
            traceback.print_exc()
        click.echo(f"boundaryd: error: internal error: {type(e).__name__}: {e} (run with -v for details)", err=True)
        return 1
    return 0

