"""``boundaryd report``: the weekly boundary ledger (terminal, ``--json``, ``--html FILE``, ``--email``).

A past week is read from the journal alone (what the syncs of that week recorded); this week and
later ones also read the calendar now, as ``plan`` does, changing nothing.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from boundaryd.cli.context import Obj, _cal_opt, _json_opt, _now_opt, _parse_now, now_in
from boundaryd.errors import BadInput


def _parse_week(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"--week {value}: not a date (write YYYY-MM-DD, any day of the week)") from None


@click.command()
@click.option("--week", "week", metavar="DATE", help="any date of the week to report (default: this week)")
@_now_opt
@_json_opt
@click.option("--html", "html", type=click.Path(path_type=Path), help="write the ledger as an HTML page")
@click.option("--email", "send", is_flag=True, help="send the ledger by email now")
@_cal_opt
@click.pass_obj
def report(obj: Obj, week: str | None, now: str | None, as_json: bool, html: Path | None, send: bool,
           calendar: str | None) -> None:
    """The boundary ledger of a week: hours protected, lost, made up, by whom."""
    from boundaryd.core.ledger import monday_of
    from boundaryd.engine.journal_ledger import LedgerStore, ledger_of
    from boundaryd.presentation.report import ledger_json, report_html, report_text

    app = obj.app(calendar)
    rules = app.load_rules()
    t = now_in(rules, _parse_now(now))
    monday = monday_of(_parse_week(week) or t, rules.tz)
    seen = app.plan(rules, t) if monday >= monday_of(t, rules.tz) else None
    ledger = ledger_of(app.journal, rules, monday, t, seen)
    recorded = seen is not None or bool(LedgerStore(app.journal).lines(monday))
    if as_json:
        click.echo(json.dumps(ledger_json(ledger), indent=2, ensure_ascii=False))
    elif obj.verbosity >= 0:
        click.echo(report_text(rules, ledger, recorded), nl=False)
    if html:
        html.write_text(report_html(rules, ledger, recorded), encoding="utf-8")
        if not as_json:
            click.echo(f"Wrote {html}")
    if send:
        from boundaryd.engine.weekly_report import send as send_mail

        subject = send_mail(app, rules, ledger, t, f"asked-{monday.isoformat()}-{t.isoformat()}", recorded)
        if not as_json:
            click.echo(f"Queued: {subject}  (see 'boundaryd notices')")
