"""Microsoft Graph requests: the bearer token, bounded retries, and what each refusal means.

- 429, 500, 502, 503, 504: retried, waiting what ``Retry-After`` says (capped), within the cycle's
  retry budget; then a RuntimeFailure (the next cycle tries again).
- 401: the access token is refreshed once and the request repeated; a second 401 is a refused token.
- 403: a refused permission (consent for Calendars.ReadWrite missing, or not the owner's calendar).
- 404: on a read, no such calendar (BadInput); on a delete, already gone; on an event, :class:`Gone`.
- 409/412: someone else's change (Conflict412): a conditional request (``If-Match``) whose etag is
  no longer the event's. 410 on a delta link: :class:`FullSyncRequired`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from boundaryd.calendars.graph_auth import TIMEOUT, TokenSource, http_session
from boundaryd.errors import BadInput, Conflict412, RuntimeFailure

log = logging.getLogger("boundaryd.microsoft")

_TRANSIENT = {429, 500, 502, 503, 504}
#: reads ask Graph for UTC times, and for pages of this many events
PAGE_SIZE = 200


class FullSyncRequired(Exception):
    """Graph no longer knows the delta link (410): read the window again."""


class Gone(RuntimeFailure):
    """The event is not there (404) when answering or flagging it."""


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff with jitter (or Graph's Retry-After), bounded in total per cycle."""

    base: float = 0.5
    cap: float = 8.0
    budget: float = 20.0  # seconds of retrying per cycle

    def delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(self.cap, max(0.0, float(retry_after)))
            except ValueError:
                pass
        return float(min(self.cap, self.base * (2**attempt)) * (0.5 + random.random() / 2))


def _error(resp: Any) -> tuple[str, str]:
    try:
        err = resp.json().get("error") or {}
        return str(err.get("code", "")), str(err.get("message", ""))[:300]
    except (ValueError, AttributeError):
        return "", str(getattr(resp, "text", ""))[:300]


class GraphApi:
    """The request plumbing of :class:`GraphBackend` (a base class: its attributes are set there)."""

    name: str
    api_endpoint: str
    tokens: TokenSource
    retry: RetryPolicy
    _sleep: Callable[[float], None]
    _monotonic: Callable[[], float]
    _cycle_deadline: float
    _session: Any = None
    #: how many requests this backend sent to Graph (the bench reads it)
    request_count: int = 0

    def _url(self, path: str) -> str:
        return path if path.startswith(("https://", "http://")) else urljoin(self.api_endpoint, path.lstrip("/"))

    def _failure(self, what: str, status: int, code: str, message: str) -> BaseException | None:
        """What a non-2xx answer means: an error to raise, or None when it is worth a retry."""
        if status in (404, 410) and what.startswith("delete"):
            return _Done()
        if status == 410 and what == "delta":
            return FullSyncRequired()
        if status == 404 and what.startswith(("read", "delta", "calendars")):
            return BadInput(f"{self.name}: Microsoft Graph has no such calendar (check calendar in the rules' microsoft: section; {message})")
        if status == 404:
            return Gone(f"{self.name}: {what}: the event is no longer on the calendar")
        if status == 403:
            return RuntimeFailure(f"{self.name}: {what}: Microsoft refused permission ({code}: {message}); grant boundaryd"
                                  " Calendars.ReadWrite (run boundaryd auth microsoft again) and check the calendar is yours")
        if status in (409, 412):
            return Conflict412(f"{self.name}: {what}: the event changed meanwhile ({code})")
        if status in _TRANSIENT:
            return None
        return RuntimeFailure(f"{self.name}: {what}: Microsoft Graph answered {status} {code}: {message}")

    def _call(self, what: str, method: str, path: str, params: dict[str, str] | None = None,
              body: Any = None, page_size: int | None = None, if_match: str | None = None) -> Any:
        """One request with bounded retries; the JSON answer (None for 204 or a delete already done).
        ``if_match``: the event's etag as read; Graph answers 412 (Conflict412) when it changed since."""
        import requests

        if self._session is None:
            self._session = http_session()
        refreshed = False
        attempt = 0
        while True:
            prefer = ['outlook.timezone="UTC"'] + ([f"odata.maxpagesize={page_size}"] if page_size else [])
            headers = {"Authorization": "Bearer " + self.tokens.token(), "Prefer": ", ".join(prefer),
                       "Accept": "application/json"}
            if if_match is not None:
                headers["If-Match"] = if_match
            retry_after: str | None = None
            try:
                self.request_count += 1
                resp = self._session.request(method, self._url(path), params=params, json=body, headers=headers,
                                             timeout=TIMEOUT)
            except requests.RequestException as e:
                transient = f"cannot reach Microsoft Graph ({type(e).__name__})"
            else:
                if resp.status_code < 300:
                    return resp.json() if resp.content else None
                code, message = _error(resp)
                if resp.status_code == 401:
                    if refreshed:
                        raise self.tokens.refused()
                    self.tokens.token(force=True)
                    refreshed = True
                    continue
                failure = self._failure(what, resp.status_code, code, message)
                if isinstance(failure, _Done):
                    return None
                if failure is not None:
                    raise failure
                transient = f"Microsoft Graph answered {resp.status_code} {code}".strip()
                retry_after = resp.headers.get("Retry-After")
            delay = self.retry.delay(attempt, retry_after)
            if self._monotonic() + delay >= self._cycle_deadline:
                raise RuntimeFailure(f"{self.name}: {transient} (gave up after {attempt + 1} tries; retrying next cycle)")
            log.warning("%s: %s; retrying in %.1fs", self.name, transient, delay)
            self._sleep(delay)
            attempt += 1

    def _pages(self, what: str, path: str, params: dict[str, str] | None) -> tuple[list[dict[str, Any]], str]:
        """Every item of a delta query, following ``@odata.nextLink``; and the ``@odata.deltaLink``."""
        items: list[dict[str, Any]] = []
        url, query = path, params
        while True:
            resp = self._call(what, "GET", url, query, page_size=PAGE_SIZE) or {}
            items.extend(resp.get("value") or [])
            if resp.get("@odata.nextLink"):
                url, query = resp["@odata.nextLink"], None
                continue
            link = resp.get("@odata.deltaLink")
            if not link:
                raise RuntimeFailure(f"{self.name}: Microsoft Graph gave no delta link on the last page")
            return items, str(link)


class _Done(Exception):
    """A delete of what is already gone: success."""
