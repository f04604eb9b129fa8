"""A local stand-in for Microsoft Graph v1.0 (the calendar under /me) and for the Microsoft identity
platform endpoints MSAL uses, over HTTPS on 127.0.0.1 with a test CA (MSAL takes only https).

Every Graph request is checked against Microsoft's OpenAPI description (:mod:`fake_graph_openapi`):
a request it does not describe is answered 400 (or 405) and recorded in :attr:`FakeGraph.rejections`;
the worlds fail a test that caused one. Bearer tokens must be ones the token endpoint issued.

Identity: ``/{tenant}/v2.0/.well-known/openid-configuration``, ``/{tenant}/oauth2/v2.0/devicecode`` and
``/{tenant}/oauth2/v2.0/token`` (device-code and refresh-token grants), so the real MSAL code runs.

Graph: events (single and series with ``patternedRecurrence``, expanded with dateutil), occurrences
and exceptions, calendarView and calendarView/delta (pages, ``@odata.deltaLink``, ``@removed``,
410 once :meth:`FakeGraph.invalidate_delta`), instances, create (``transactionId`` makes a retried
create return the event it made), patch, delete, accept/tentativelyAccept/decline (what the
organizer would be told goes to :attr:`FakeGraph.notifications`). Events carry ``changeKey`` and
``@odata.etag`` (``W/"<changeKey>"``; an exception's changes with its series and with itself); a
PATCH or DELETE with ``If-Match`` is answered 412 when the etag is not the event's now, as Exchange
does. Stricter than Graph, on purpose: a PATCH without ``If-Match`` is refused (428, recorded as a
rejection) while :attr:`FakeGraph.require_if_match` is on, so every test proves boundaryd never
writes a list of categories over one it did not read. :attr:`FakeGraph.before_patch` runs a change
(the owner's, the organizer's) just before the next PATCH is handled: a race, on demand. Times are read back in UTC when
the request says ``Prefer: outlook.timezone="UTC"``; zones written must be Windows names or UTC.
Declined events stay on the calendar, declined (Exchange may move them to Deleted Items; the
planner then simply sees no conflict there).
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fake_graph_openapi import Invalid, OpenApi
from fake_graph_store import Store
from tls_serve import serve_https, stop_server

UTC = timezone.utc
CLIENT_ID = "11111111-2222-3333-4444-555555555555"


@dataclass
class Recorded:
    verb: str
    path: str
    query: dict[str, list[str]]
    body: Any
    template: str = ""
    status: int = 0
    if_match: str | None = None


@dataclass
class Fault:
    status: int
    retry_after: str | None = None


@dataclass
class Identity:
    """The identity platform's state: issued tokens, revoked refresh tokens, device codes."""

    client_id: str = CLIENT_ID
    access: set[str] = field(default_factory=set)
    refresh: dict[str, str] = field(default_factory=dict)  # refresh token -> scope
    revoked: set[str] = field(default_factory=set)
    devices: dict[str, int] = field(default_factory=dict)  # device code -> polls still pending
    device_scopes: dict[str, str] = field(default_factory=dict)  # device code -> the scopes it was started with
    pending_polls: int = 0
    lifetime: int = 3600
    grants: list[dict[str, str]] = field(default_factory=list)
    #: the Graph this sign-in stands for: scopes may be named by it (a national cloud's, say)
    resource: str = "https://graph.microsoft.com"


def _b64(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


class FakeGraph:
    def __init__(self, account: str = "alice@example.com") -> None:
        self.api = OpenApi()
        self.account = account
        self.store = Store(account)
        self.identity = Identity()
        self.lock = threading.RLock()
        self.requests: list[Recorded] = []
        self.rejections: list[Recorded] = []
        self.faults: list[Fault] = []
        self.server: ThreadingHTTPServer | None = None
        #: refuse a PATCH that sends no If-Match (428): boundaryd's rule, stricter than Graph's
        self.require_if_match = True
        #: each PATCH first runs (and drops) the first of these, with the store: someone else's change
        self.before_patch: list[Callable[[Store], None]] = []

    # -- life cycle
    def start(self, ca_file: Path) -> FakeGraph:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        fake = self

        class Handler(_Handler):
            owner = fake

        self.server = serve_https(Handler, ca, cert, ca_file)
        self.ca_file = ca_file
        return self

    def stop(self) -> None:
        stop_server(self.server)

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"https://localhost:{self.server.server_address[1]}"

    @property
    def api_endpoint(self) -> str:
        return self.base + "/v1.0/"

    @property
    def authority(self) -> str:
        return self.base

    # -- test controls
    def reset(self) -> None:
        with self.lock:
            self.store = Store(self.account)
            self.requests.clear()
            self.rejections.clear()
            self.faults.clear()
            self.before_patch.clear()

    def fail_next(self, n: int, status: int, retry_after: str | None = None) -> None:
        with self.lock:
            self.faults.extend(Fault(status, retry_after) for _ in range(n))

    def heal(self) -> None:
        with self.lock:
            self.faults.clear()

    def revoke_all(self) -> None:
        """The user withdrew consent (or an admin revoked the sessions): every token is refused."""
        with self.lock:
            self.identity.revoked |= set(self.identity.refresh)
            self.identity.access.clear()

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.identity.access.clear()

    def graph_requests(self, verb: str | None = None, suffix: str = "") -> list[Recorded]:
        return [r for r in self.requests if (verb is None or r.verb == verb) and r.template.endswith(suffix)]

    # -- identity
    def _issue(self, scope: str) -> dict[str, Any]:
        at, rt = "eyJ0eXAi.fake-" + secrets.token_urlsafe(16), "0.fake-refresh-" + secrets.token_urlsafe(16)
        self.identity.access.add(at)
        self.identity.refresh[rt] = scope
        now = int(time.time())
        claims = {"iss": f"{self.base}/t1/v2.0", "sub": "s1", "aud": self.identity.client_id, "iat": now,
                  "exp": now + 3600, "oid": "u1", "tid": "t1", "preferred_username": self.account, "name": "Alice"}
        granted = " ".join(x for x in scope.split() if x not in ("openid", "profile", "offline_access"))
        return {"token_type": "Bearer", "scope": granted or "Calendars.ReadWrite", "expires_in": self.identity.lifetime,
                "ext_expires_in": self.identity.lifetime, "access_token": at, "refresh_token": rt,
                "id_token": _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + ".",
                "client_info": _b64({"uid": "u1", "utid": "t1"})}

    def identity_get(self, path: str) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            t = f"{self.base}/{parts[0]}"
            return 200, {"issuer": f"{t}/v2.0", "authorization_endpoint": f"{t}/oauth2/v2.0/authorize",
                         "token_endpoint": f"{t}/oauth2/v2.0/token",
                         "device_authorization_endpoint": f"{t}/oauth2/v2.0/devicecode",
                         "response_types_supported": ["code"], "tenant_region_scope": None}
        return 404, {"error": "not_found"}

    def identity_post(self, path: str, form: dict[str, str]) -> tuple[int, Any]:
        ident = self.identity
        ident.grants.append(form)
        if form.get("client_id") != ident.client_id:
            return 400, {"error": "unauthorized_client", "error_description": "AADSTS700016: Application not found."}
        if path.endswith("/oauth2/v2.0/devicecode"):
            scopes = set(form.get("scope", "").split())
            calendars = {x for x in scopes if x == "Calendars.ReadWrite" or x == f"{ident.resource}/Calendars.ReadWrite"}
            if not calendars or "offline_access" not in scopes:
                return 400, {"error": "invalid_scope", "error_description": f"scopes {sorted(scopes)}"}
            code = secrets.token_urlsafe(12)
            ident.devices[code] = ident.pending_polls
            ident.device_scopes[code] = form.get("scope", "")
            user_code = secrets.token_hex(4).upper()
            return 200, {"device_code": code, "user_code": user_code, "verification_uri": f"{self.base}/devicelogin",
                         "expires_in": 900, "interval": 1,
                         "message": f"To sign in, use a web browser to open the page {self.base}/devicelogin"
                                    f" and enter the code {user_code} to authenticate."}
        if not path.endswith("/oauth2/v2.0/token"):
            return 404, {"error": "not_found"}
        grant = form.get("grant_type", "")
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            left = ident.devices.get(form.get("device_code", ""))
            if left is None:
                return 400, {"error": "expired_token", "error_description": "AADSTS70020: expired"}
            if left > 0:
                ident.devices[form["device_code"]] = left - 1
                return 400, {"error": "authorization_pending", "error_description": "AADSTS70016: pending"}
            ident.devices.pop(form["device_code"])
            return 200, self._issue(form.get("scope") or ident.device_scopes.pop(form["device_code"], ""))
        if grant == "refresh_token":
            rt = form.get("refresh_token", "")
            if rt not in ident.refresh or rt in ident.revoked:
                return 400, {"error": "invalid_grant", "error_description": "AADSTS70000: The refresh token was revoked."}
            return 200, self._issue(ident.refresh[rt])
        return 400, {"error": "unsupported_grant_type"}

    # -- Graph
    def graph(self, verb: str, path: str, query: dict[str, list[str]], body: Any, utc: bool, page: int | None,
              rec: Recorded) -> tuple[int, Any]:
        template, params, op = self.api.route(verb, path)
        rec.template = template
        self.api.check_query(template, op, query)
        self.api.check_body(template, op, body)
        if verb == "PATCH":
            if rec.if_match is None and self.require_if_match:
                raise Invalid("boundaryd's rule: a PATCH must carry If-Match (the etag it read).", "PreconditionRequired", 428)
            if self.before_patch:
                self.before_patch.pop(0)(self.store)
        q1 = {k: v[0] for k, v in query.items()}
        link = self.api_endpoint.rstrip("/") + path
        return self.store.handle(verb, template, params, q1, copy.deepcopy(body), utc, page, link, rec.if_match)


class _Handler(BaseHTTPRequestHandler):
    owner: FakeGraph
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        try:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if body is not None:
                self.send_header("Content-Type", "application/json; odata.metadata=minimal")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _any(self) -> None:
        fake = self.owner
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not url.path.startswith("/v1.0/"):
            with fake.lock:
                if self.command == "GET":
                    status, out = fake.identity_get(url.path)
                else:
                    form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
                    status, out = fake.identity_post(url.path, form)
            return self._send(status, out)
        rec = Recorded(self.command, url.path, query, None, if_match=self.headers.get("If-Match"))
        with fake.lock:
            fake.requests.append(rec)
            fault = fake.faults.pop(0) if fake.faults else None
        if fault is not None:
            rec.status = fault.status
            return self._send(fault.status, {"error": {"code": "ErrorInjected", "message": f"fault {fault.status}"}},
                              {"Retry-After": fault.retry_after} if fault.retry_after else None)
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in fake.identity.access:
            rec.status = 401
            return self._send(401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired or is not yet valid."}})
        prefer = self.headers.get("Prefer", "")
        utc = 'outlook.timezone="UTC"' in prefer
        page = next((int(p.split("=")[1]) for p in prefer.split(",") if p.strip().startswith("odata.maxpagesize=")), None)
        try:
            body = json.loads(raw) if raw else None
            rec.body = body
            with fake.lock:
                status, out = fake.graph(self.command, url.path[len("/v1.0"):], query, body, utc, page, rec)
        except ValueError:
            status, out = 400, {"error": {"code": "BadRequest", "message": "Invalid JSON."}}
            fake.rejections.append(rec)
        except Invalid as e:
            status, out = e.status, {"error": {"code": e.code, "message": e.message}}
            if e.status in (400, 405, 428):
                fake.rejections.append(rec)
        rec.status = status
        self._send(status, out)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _any


# --- helpers for tests and the bench -----------------------------------------------------------------


@contextmanager
def trusted(ca_file: Path, account: str) -> Iterator[FakeGraph]:
    """A stand-in running, its certificate trusted by boundaryd's Graph client while it runs."""
    from boundaryd.calendars import graph_auth

    fake = FakeGraph(account=account).start(ca_file)
    before = graph_auth.VERIFY
    graph_auth.VERIFY = str(fake.ca_file)
    try:
        yield fake
    finally:
        graph_auth.VERIFY = before
        fake.stop()


def sign_in(fake: FakeGraph, token_file: Path) -> None:
    """A token file as ``boundaryd auth microsoft`` makes it: the real device-code flow via MSAL."""
    from boundaryd.calendars import graph_auth

    graph_auth.device_sign_in(fake.identity.client_id, "common", fake.authority, token_file, echo=lambda s: None)


def check_no_rejections(fake: FakeGraph, expected: int = 0) -> None:
    import pytest

    if len(fake.rejections) != expected:
        lines = [f"{r.verb} {r.path} {r.query} {json.dumps(r.body)[:400]}" for r in fake.rejections]
        pytest.fail("the Graph OpenAPI description rejected requests:\n" + "\n".join(lines))

