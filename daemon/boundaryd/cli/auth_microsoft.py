"""``boundaryd auth microsoft``: the device-code sign-in for Microsoft 365 / Outlook.com.

Prints the code and the URL (open it on any device, enter the code, sign in, allow
Calendars.ReadWrite), waits for the sign-in and saves MSAL's token cache (mode 0600) where the
rules' ``calendar: microsoft: token_file`` says, else in the state directory. The client id, the
tenant and the sign-in authority come from the options, else from that section.

``--cloud`` picks a national cloud (its sign-in host, and scopes named by its Graph); without it,
the cloud is the one the rules' ``api_endpoint`` is on (the global one by default). ``sync`` finds
the cloud the same way, so after signing in to a national cloud the rules must name its Graph: the
command says what to write there when they do not yet.
"""

from __future__ import annotations

from pathlib import Path

import click

from boundaryd.cli.context import Obj, load_rules
from boundaryd.errors import BadInput

#: graph_auth.CLOUDS' names (written out here: ``--help`` imports no backend module)
CLOUD_NAMES = ("global", "usgov", "usgovdod", "china")


@click.command("microsoft")
@click.option("--client-id", help="the Application (client) ID of the app registered in Entra ID")
@click.option("--tenant", help="common (work and personal accounts; default), consumers, organizations or a tenant ID")
@click.option("--cloud", type=click.Choice(CLOUD_NAMES),
              help="a national cloud: usgov (GCC High), usgovdod (DoD), china (21Vianet); default: the one the"
                   " rules' api_endpoint is on, else global")
@click.pass_obj
def auth_microsoft(obj: Obj, client_id: str | None, tenant: str | None, cloud: str | None) -> None:
    """Device-code sign-in for Microsoft 365 / Outlook.com; saves the token in the state dir (mode 0600)."""
    from boundaryd.calendars.graph_auth import (
        CLOUDS,
        DEFAULT_API,
        DEFAULT_AUTHORITY,
        cloud_of,
        default_token_file,
        device_sign_in,
        resolve,
    )

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
    given = section.model_fields_set if section is not None else set()
    authority = section.authority if section is not None else DEFAULT_AUTHORITY
    api = section.api_endpoint if section is not None else DEFAULT_API
    hint = ""
    if cloud is not None:
        chosen, said = CLOUDS[cloud], cloud_of(api)
        if "api_endpoint" in given and said is not chosen:
            raise BadInput(f"auth microsoft: --cloud {cloud}, but the rules' api_endpoint is {api}, not the Graph of"
                           f" {chosen.label} ({chosen.api_endpoint}): make them agree")
        api = chosen.api_endpoint
        if chosen.name != "global" and "api_endpoint" not in given:
            hint = (f"Sync will read {chosen.label} once the rules' calendar: microsoft: section says"
                    f" api_endpoint: {chosen.api_endpoint}")
        if "authority" not in given:
            authority = chosen.authority
    authority, scopes = resolve(authority, api)
    token_file.parent.mkdir(parents=True, exist_ok=True)
    device_sign_in(client_id, tenant or (section.tenant if section else "common"), authority, token_file,
                   echo=click.echo, scopes=scopes)
    if hint:
        click.echo(hint)
