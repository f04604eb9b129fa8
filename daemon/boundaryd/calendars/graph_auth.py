"""Signing in to Microsoft (Entra ID) with MSAL: the device-code flow, and the saved token.

The token file is MSAL's ``SerializableTokenCache`` (JSON, mode 0600). Access tokens are refreshed
silently from it (``acquire_token_silent``); a refresh Microsoft refuses (revoked, expired, consent
withdrawn) is a RuntimeFailure that says to run ``boundaryd auth microsoft`` again. msal is imported
inside the functions, so nothing here costs a user of another calendar anything.

National clouds (:data:`CLOUDS`): each has its own sign-in host and its own Graph, and there a
scope must name that Graph (``https://graph.microsoft.us/Calendars.ReadWrite``): a plain
``Calendars.ReadWrite`` means the global Graph's. The rules' ``api_endpoint`` says which Graph, so
which cloud (:func:`resolve`); the global cloud keeps the plain scope name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from boundaryd.errors import BadInput, RuntimeFailure
from boundaryd.fsutil import write_atomic

#: Calendars.ReadWrite: read the calendar, write blocks, answer invitations. MSAL always adds
#: offline_access (for the refresh token), openid and profile itself; it refuses them as arguments.
SCOPES = ["Calendars.ReadWrite"]
TOKEN_NAME = "microsoft-token.json"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_API = "https://graph.microsoft.com/v1.0/"
#: how long one sign-in request may take (the daemon's watchdog must never fire on it)
TIMEOUT = 15.0
#: TLS verification for the sign-in and Graph requests: True (the system's CAs), or a CA bundle
#: file (the tests' stand-in has its own CA)
VERIFY: bool | str = True
#: MSAL's cache of the sign-in authority's discovery answers, for the life of the process (the
#: daemon asks the authority once, not every cycle)
_HTTP_CACHE: dict[Any, Any] = {}




@dataclass(frozen=True)
class Cloud:
    """One Microsoft cloud: where to sign in, and its Graph (the resource its scopes name)."""

    name: str
    authority: str
    graph: str
    label: str

    @property
    def api_endpoint(self) -> str:
        return self.graph + "/v1.0/"

    @property
    def scopes(self) -> list[str]:
        """The scopes as this cloud's sign-in wants them: plain in the global cloud (as always),
        qualified with the cloud's Graph elsewhere."""
        return list(SCOPES) if self.name == "global" else [f"{self.graph}/{s}" for s in SCOPES]


#: Microsoft's clouds (Microsoft Graph's "national cloud deployments": sign-in and Graph hosts)
CLOUDS = {c.name: c for c in (
    Cloud("global", DEFAULT_AUTHORITY, "https://graph.microsoft.com", "the global Microsoft cloud"),
    Cloud("usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us", "US Government L4 (GCC High)"),
    Cloud("usgovdod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us", "US Government L5 (DoD)"),
    Cloud("china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn", "China (21Vianet)"),
)}


def _origin(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def cloud_of(api_endpoint: str) -> Cloud | None:
    """The cloud whose Graph ``api_endpoint`` is on; None for another host (tests, a proxy)."""
    return next((c for c in CLOUDS.values() if _origin(c.graph) == _origin(api_endpoint)), None)


def resolve(authority: str, api_endpoint: str) -> tuple[str, list[str]]:
    """The sign-in host and the scopes for the rules' ``authority`` and ``api_endpoint``.

    The scopes name the Graph the endpoint is on (plain for the global one and for hosts that are
    no Microsoft cloud's); a national Graph with the default sign-in host signs in at that cloud's;
    a national sign-in host with the global Graph is a mistake, said at once."""
    cloud = cloud_of(api_endpoint)
    if cloud is not None and cloud.name != "global" and _origin(authority) == _origin(DEFAULT_AUTHORITY):
        authority = cloud.authority
    national = [c for c in CLOUDS.values() if c.name != "global" and _origin(c.authority) == _origin(authority)]
    if national and cloud is not None and cloud.name == "global":
        endpoints = " or ".join(c.api_endpoint for c in national)
        raise BadInput(f"{authority} is the sign-in of {national[0].label}, but api_endpoint is the global Graph"
                       f" ({api_endpoint}): set api_endpoint to {endpoints} in the rules' microsoft: section")
    return authority, (cloud.scopes if cloud is not None else list(SCOPES))


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
                   echo: Callable[[str], None] = print, scopes: list[str] | None = None) -> dict[str, Any]:
    """Run the device-code flow (print the code and the URL, wait for the user) and save the cache.
    ``scopes``: the cloud's (:attr:`Cloud.scopes`); the global cloud's by default."""
    import msal
    import requests

    cache = msal.SerializableTokenCache()
    app = _app(client_id, _authority(authority, tenant), cache)
    try:
        flow = app.initiate_device_flow(scopes=list(scopes or SCOPES))
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

    def __init__(self, token_file: Path, client_id: str | None, tenant: str, authority: str,
                 scopes: list[str] | None = None) -> None:
        self.token_file = token_file
        self.client_id = client_id
        self.tenant = tenant
        self.authority = authority
        self.scopes = list(scopes or SCOPES)  # the same as at sign-in (its cloud's, see resolve)
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
            result = self._app.acquire_token_silent_with_error(self.scopes, self._account, force_refresh=force)
        except requests.RequestException as e:
            raise RuntimeFailure(f"{self.authority}: cannot reach Microsoft to refresh the token ({type(e).__name__})") from None
        if not result or "access_token" not in result:
            raise self.refused()
        if self._cache.has_state_changed:
            _save(self._cache, self.token_file)
            self._cache.has_state_changed = False
        return str(result["access_token"])
