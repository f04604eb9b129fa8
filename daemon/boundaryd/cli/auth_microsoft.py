"""``boundaryd auth microsoft``: the device-code sign-in for Microsoft 365 / Outlook.com.

Prints the code and the URL (open it on any device, enter the code, sign in, allow
Calendars.ReadWrite), waits for the sign-in and saves MSAL's token cache (mode 0600) where the
rules' ``calendar: microsoft: token_file`` says, else in the state directory. The client id, the
tenant and the sign-in authority come from the options, else from that section.
"""

from __future__ import annotations

from pathlib import Path

import click

from boundaryd.cli.context import Obj, load_rules
from boundaryd.errors import BadInput


@click.command("microsoft")
@click.option("--client-id", help="the Application (client) ID of the app registered in Entra ID")
@click.option("--tenant", help="common (work and personal accounts; default), consumers, organizations or a tenant ID")
@click.pass_obj
def auth_microsoft(obj: Obj, client_id: str | None, tenant: str | None) -> None:
    """Device-code sign-in for Microsoft 365 / Outlook.com; saves the token in the state dir (mode 0600)."""
    from boundaryd.calendars.graph_auth import DEFAULT_AUTHORITY, default_token_file, device_sign_in

    try:
        rules = load_rules(obj.rules_path)
        section = rules.calendar.microsoft if rules.calendar else None
    except BadInput:
        section = None
    client_id = client_id or (section.client_id if section else None)
    if not client_id:
        raise BadInput("auth microsoft: give --client-id (the Application (client) ID of your app in Entra ID)")
    token_file = default_token_file(obj.state_dir)
    if section is not None and section.token_file:
        token_file = Path(section.token_file).expanduser()
    token_file.parent.mkdir(parents=True, exist_ok=True)
    authority = section.authority if section is not None else DEFAULT_AUTHORITY
    device_sign_in(client_id, tenant or (section.tenant if section else "common"), authority, token_file, echo=click.echo)
