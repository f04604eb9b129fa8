"""Signing in to Microsoft (Entra ID) with MSAL: the device-code flow, and the saved token.

The token file is MSAL's ``SerializableTokenCache`` (JSON, mode 0600). Access tokens are refreshed
silently from it (``acquire_token_silent``); a refresh Microsoft refuses (revoked, expired, consent
withdrawn) is a RuntimeFailure that says to run ``boundaryd auth microsoft`` again. msal is imported
inside the functions, so nothing here costs a user of another calendar anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from boundaryd.errors import BadInput, RuntimeFailure
from boundaryd.fsutil import write_atomic

#: Calendars.ReadWrite: read the calendar, write blocks, answer invitations. MSAL always adds
#: offline_access (for the refresh token), openid and profile itself; it refuses them as arguments.
SCOPES = ["Calendars.ReadWrite"]
TOKEN_NAME = "microsoft-token.json"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
#: how long one sign-in request may take (the daemon's watchdog must never fire on it)
TIMEOUT = 15.0
#: TLS verification for the sign-in and Graph requests: True (the system's CAs), or a CA bundle
#: file (the tests' stand-in has its own CA)
VERIFY: bool | str = True
#: MSAL's cache of the sign-in authority's discovery answers, for the life of the process (the
#: daemon asks the authority once, not every cycle)
_HTTP_CACHE: dict[Any, Any] = {}


def default_token_file(state_dir: str | Path) -> Path:
    return Path(state_dir) / TOKEN_NAME


def http_session() -> Any:
    import requests

    s = requests.Session()
    s.verify = VERIFY
    if isinstance(VERIFY, str):  # requests lets $REQUESTS_CA_BUNDLE override a session's own bundle
        s.trust_env = False
    return s


def _authority(authority: str, tenant: str) -> str:
    return authority.rstrip("/") + "/" + (tenant or "common")


def _app(client_id: str, authority: str, cache: Any) -> Any:
    import msal
    import requests

    try:
        return msal.PublicClientApplication(
            client_id, authority=authority, token_cache=cache, http_client=http_session(), timeout=TIMEOUT,
            http_cache=_HTTP_CACHE,
            instance_discovery=False,  # the authority is the rules' own (national clouds, tests)
        )
    except ValueError as e:
        raise BadInput(f"{authority}: not a Microsoft sign-in authority ({e})") from None
    except requests.RequestException as e:
        raise RuntimeFailure(f"{authority}: cannot reach Microsoft sign-in ({type(e).__name__})") from None


def _save(cache: Any, token_file: Path) -> None:
    try:
        write_atomic(token_file, cache.serialize().encode(), mode=0o600)  # never readable by others
    except OSError as e:
        raise RuntimeFailure(f"{token_file}: cannot save the Microsoft token ({e.strerror})") from None


def device_sign_in(client_id: str, tenant: str, authority: str, token_file: Path,
                   echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the device-code flow (print the code and the URL, wait for the user) and save the cache."""
    import msal
    import requests

    cache = msal.SerializableTokenCache()
    app = _app(client_id, _authority(authority, tenant), cache)
    try:
        flow = app.initiate_device_flow(scopes=SCOPES)
        if "user_code" not in flow:
            raise RuntimeFailure(f"{client_id}: Microsoft refused to start the sign-in ({flow.get('error_description') or flow.get('error')})"
                                 " (check the app's client id and that it allows public client flows)")
        echo(flow.get("message") or f"To sign in, open {flow['verification_uri']} and enter the code {flow['user_code']}")
        result = app.acquire_token_by_device_flow(flow)
    except requests.RequestException as e:
        raise RuntimeFailure(f"{authority}: cannot reach Microsoft sign-in ({type(e).__name__})") from None
    if "access_token" not in result:
        raise RuntimeFailure(f"{client_id}: the sign-in did not complete ({result.get('error_description') or result.get('error')})")
    _save(cache, token_file)
    who = (result.get("id_token_claims") or {}).get("preferred_username", "")
    echo(f"Signed in{' as ' + who if who else ''}; saved the Microsoft token to {token_file} (mode 0600).")
    return dict(result)


class TokenSource:
    """Access tokens from the saved cache, refreshed silently (and saved back when they change)."""

    def __init__(self, token_file: Path, client_id: str | None, tenant: str, authority: str) -> None:
        self.token_file = token_file
        self.client_id = client_id
        self.tenant = tenant
        self.authority = authority
        self._app: Any = None
        self._account: Any = None
        self._cache: Any = None

    def refused(self) -> RuntimeFailure:
        return RuntimeFailure(f"{self.token_file}: Microsoft refused the saved token (revoked or expired; run"
                              " boundaryd auth microsoft --client-id ID to sign in again)")

    def _load(self) -> None:
        import msal

        try:
            text = self.token_file.read_text()
            data = json.loads(text)
        except FileNotFoundError:
            raise BadInput(f"{self.token_file}: no Microsoft token yet (run boundaryd auth microsoft --client-id ID)") from None
        except (OSError, ValueError) as e:
            raise BadInput(f"{self.token_file}: not a Microsoft token file ({e}; run boundaryd auth microsoft)") from None
        client_id = self.client_id or next(
            (v.get("client_id") for v in (data.get("RefreshToken") or {}).values() if v.get("client_id")), None)
        if not client_id:
            raise BadInput(f"{self.token_file}: no client id (set client_id in the rules' calendar: microsoft: section)")
        cache = msal.SerializableTokenCache()
        cache.deserialize(text)
        self._cache = cache
        self._app = _app(client_id, _authority(self.authority, self.tenant), cache)
        accounts = self._app.get_accounts()
        if not accounts:
            raise BadInput(f"{self.token_file}: the token file holds no account (run boundaryd auth microsoft)")
        self._account = accounts[0]

    def token(self, force: bool = False) -> str:
        """A valid access token; ``force`` refreshes even one that looks valid (after a 401)."""
        import requests

        if self._app is None:
            self._load()
        try:
            result = self._app.acquire_token_silent_with_error(SCOPES, self._account, force_refresh=force)
        except requests.RequestException as e:
            raise RuntimeFailure(f"{self.authority}: cannot reach Microsoft to refresh the token ({type(e).__name__})") from None
        if not result or "access_token" not in result:
            raise self.refused()
        if self._cache.has_state_changed:
            _save(self._cache, self.token_file)
            self._cache.has_state_changed = False
        return str(result["access_token"])
