"""OAuth for Google Calendar: the installed-app flow, and the saved token (JSON, mode 0600).

The token file is google-auth's authorized-user JSON (``Credentials.to_json()``), never a pickle.
google-auth and google-auth-oauthlib are imported inside the functions, so nothing here costs an
ICS user anything.
"""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from boundaryd.errors import BadInput, RuntimeFailure
from boundaryd.fsutil import write_atomic

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

#: The only scope boundaryd asks for: read events (to see conflicts and its own blocks), write the
#: blocks, and answer invitations (decline, colour). It needs no calendar metadata, settings or ACLs.
SCOPES = ["https://www.googleapis.com/auth/calendar.events"]
DEFAULT_PORT = 8765  # the CLI default of `auth google --port`
TOKEN_NAME = "google-token.json"
#: how long a token refresh may take (the daemon's watchdog must never fire on it)
REFRESH_TIMEOUT = 15.0


def default_token_file(state_dir: str | Path) -> Path:
    return Path(state_dir) / TOKEN_NAME


def save_credentials(creds: Credentials, token_file: Path) -> None:
    write_atomic(token_file, creds.to_json().encode(), mode=0o600)  # type: ignore[no-untyped-call]  # never readable by others


def _read_client_secrets(client_secrets: Path) -> dict[str, Any]:
    try:
        data = json.loads(client_secrets.read_text())
    except FileNotFoundError:
        raise BadInput(f"{client_secrets}: no such file (download the OAuth client JSON from Google Cloud)") from None
    except (OSError, ValueError) as e:
        raise BadInput(f"{client_secrets}: not a client-secrets JSON file ({e})") from None
    if isinstance(data, dict) and "web" in data and "installed" not in data:
        raise BadInput(
            f"{client_secrets}: a Web application OAuth client, whose redirects cannot reach boundaryd"
            " (create a Desktop app client: Google Auth Platform > Clients > Create client > Desktop app)"
        )
    if not isinstance(data, dict) or "installed" not in data:
        raise BadInput(
            f"{client_secrets}: not an OAuth client of type Desktop app"
            " (create one under APIs & Services > Credentials > Create OAuth client ID > Desktop app)"
        )
    return data


def authorize(
    client_secrets: Path,
    token_file: Path,
    port: int = DEFAULT_PORT,
    open_browser: bool = True,
    echo: Callable[[str], None] = print,
    timeout_seconds: float | None = 600,
) -> Credentials:
    """Run the installed-app flow and save the token. Returns the credentials.

    With ``open_browser=False`` the URL is printed with the one ``ssh -L`` line that makes the
    redirect reach this machine from a laptop's browser (for a headless server).
    """
    from google_auth_oauthlib.flow import InstalledAppFlow

    config = _read_client_secrets(client_secrets)
    flow = InstalledAppFlow.from_client_config(config, scopes=SCOPES)
    real_authorization_url = flow.authorization_url

    def announce(**kwargs: Any) -> tuple[str, str]:
        url, state = real_authorization_url(**kwargs)
        actual_port = flow.redirect_uri.rstrip("/").rsplit(":", 1)[-1]
        if open_browser:
            echo(f"Opening your browser to authorize boundaryd; if it does not open, visit:\n{url}")
        else:
            echo(f"Open this URL in a browser and allow access:\n{url}")
            echo(
                "If the browser runs on another machine, first forward the redirect port from it:\n"
                f"ssh -L {actual_port}:localhost:{actual_port} {getpass.getuser()}@{socket.gethostname()}"
            )
        echo(f"Waiting for Google to redirect to http://localhost:{actual_port}/ ...")
        return url, state

    flow.authorization_url = announce
    try:
        creds = flow.run_local_server(
            host="localhost",
            port=port,
            open_browser=open_browser,
            authorization_prompt_message=None,
            success_message="boundaryd is authorized. You may close this window.",
            timeout_seconds=timeout_seconds,
            access_type="offline",
            prompt="consent",
        )
    except OSError as e:
        raise RuntimeFailure(f"localhost:{port}: cannot listen for the OAuth redirect ({e}; try --port)") from None
    except Exception as e:  # oauthlib and WSGI timeouts: one line for the user
        name = type(e).__name__
        if name in ("WSGITimeoutError", "AttributeError") or "oauthlib" in type(e).__module__:
            raise RuntimeFailure(f"{client_secrets}: Google authorization did not complete ({e})") from None
        raise
    if not creds.refresh_token:
        raise RuntimeFailure(
            f"{client_secrets}: Google returned no refresh token (remove boundaryd's access at"
            " myaccount.google.com/permissions and run boundaryd auth google again)"
        )
    save_credentials(creds, token_file)
    save_consent(token_file, getattr(flow.oauth2session, "token", None) or {})
    echo(f"Saved the Google token to {token_file} (mode 0600).")
    return creds  # type: ignore[no-any-return]


def consent_file(token_file: Path) -> Path:
    """Beside the token: when consent was given, and how long Google said the token lives."""
    return token_file.with_name(token_file.name + ".consent")


def save_consent(token_file: Path, granted: Any) -> None:
    """What only the consent answer tells (``doctor`` reads it): the time, and Google's
    ``refresh_token_expires_in`` (an app in Testing mode: 7 days) where Google gave one."""
    from datetime import datetime, timezone

    lifetime = granted.get("refresh_token_expires_in") if isinstance(granted, dict) else None
    record = {"authorized_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "refresh_token_expires_in": int(lifetime) if lifetime else None}
    try:
        write_atomic(consent_file(token_file), json.dumps(record).encode(), mode=0o600)
    except OSError:  # a convenience for doctor: the token itself is saved
        pass


def load_credentials(token_file: Path, timeout: float = REFRESH_TIMEOUT) -> Credentials:
    """The saved credentials, refreshed (and saved back) when expired or about to expire.

    Raises BadInput when there is no usable token file, RuntimeFailure when Google refuses it.
    """
    from google.oauth2.credentials import Credentials

    try:
        info = json.loads(token_file.read_text())
        creds: Credentials = Credentials.from_authorized_user_info(  # type: ignore[no-untyped-call]
            info, scopes=info.get("scopes") or SCOPES
        )
        # google-auth always puts Google's token endpoint back; a token file may name another one
        # only on this machine (the tests' server, a local proxy), never a remote host.
        uri = str(info.get("token_uri") or "")
        if uri and uri != creds.token_uri and _is_loopback(uri):
            expiry = creds.expiry
            creds = creds.with_token_uri(uri)
            creds.expiry = expiry  # the copy forgets it
    except FileNotFoundError:
        raise BadInput(f"{token_file}: no Google token yet (run boundaryd auth google --client-secrets FILE)") from None
    except (OSError, ValueError) as e:
        raise BadInput(f"{token_file}: not a Google token file ({e}; run boundaryd auth google)") from None
    if not creds.valid:
        refresh(creds, token_file, timeout)
    return creds


def _is_loopback(url: str) -> bool:
    import ipaddress
    import urllib.parse

    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refresh(creds: Credentials, token_file: Path, timeout: float = REFRESH_TIMEOUT) -> None:
    """Refresh the access token now and save it back; map Google's refusal to one clear line."""
    from google.auth.exceptions import RefreshError, TransportError
    from google.auth.transport.requests import Request

    base = Request()

    def request(*args: Any, **kwargs: Any) -> Any:
        kwargs["timeout"] = min(float(kwargs.get("timeout") or timeout), timeout)
        return base(*args, **kwargs)

    if not creds.refresh_token:
        raise RuntimeFailure(f"{token_file}: the saved Google token cannot be refreshed (run boundaryd auth google)")
    try:
        creds.refresh(request)  # type: ignore[no-untyped-call]
    except RefreshError:
        raise RuntimeFailure(f"{token_file}: Google refused the saved token (run boundaryd auth google)") from None
    except TransportError as e:
        raise RuntimeFailure(f"{token_file}: cannot reach Google to refresh the token ({e})") from None
    try:
        save_credentials(creds, token_file)
    except OSError as e:
        raise RuntimeFailure(f"{token_file}: cannot save the refreshed token ({e.strerror})") from None
