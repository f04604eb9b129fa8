"""Calendar API requests: the client built lazily, bounded retries, failures mapped to errors.

The Google client libraries are imported only here (and in google_auth), and only when the first
request is made.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boundaryd.errors import BadInput, RuntimeFailure

log = logging.getLogger("boundaryd.google")

_RETRY_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "backendError", "internalError"}


class FullSyncRequired(Exception):
    """Google refused the sync token (410): read the window again."""


class HttpFailure(RuntimeFailure):
    """A request Google refused for good (not retried)."""

    def __init__(self, status: int, reason: str, message: str, line: str) -> None:
        super().__init__(line)
        self.status = status
        self.reason = reason
        self.message = message
        self.line = line


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded in total so a cycle stays well inside the watchdog."""

    base: float = 0.5
    cap: float = 8.0
    budget: float = 20.0  # seconds of retrying per cycle (sleeps plus failed attempts)
    quota_backoff: float = 900.0  # what the daemon should wait after 403 quotaExceeded

    def delay(self, attempt: int) -> float:
        return float(min(self.cap, self.base * (2**attempt)) * (0.5 + random.random() / 2))


def error_reason(e: Any) -> tuple[str, str]:
    try:
        err = json.loads(e.content.decode("utf-8", "replace")).get("error", {})
        errors = err.get("errors") or [{}]
        return str(errors[0].get("reason", "")), str(err.get("message", ""))[:300]
    except (ValueError, AttributeError):
        return "", str(getattr(e, "reason", ""))[:300]


class GoogleApi:
    """The request plumbing of :class:`GoogleBackend` (a base class: its attributes are set there)."""

    name: str
    token_file: Path
    api_endpoint: str | None
    timeout: float
    retry: RetryPolicy
    _sleep: Callable[[float], None]
    _monotonic: Callable[[], float]
    _service: Any
    _creds: Any
    _cycle_deadline: float

    def _events(self) -> Any:
        if self._service is None:
            import google_auth_httplib2
            import httplib2
            from googleapiclient.discovery import build

            from boundaryd.calendars.google_auth import load_credentials

            self._creds = load_credentials(self.token_file, timeout=self.timeout)
            http = google_auth_httplib2.AuthorizedHttp(self._creds, http=httplib2.Http(timeout=self.timeout))
            options = {"api_endpoint": self.api_endpoint} if self.api_endpoint else None
            self._service = build(
                "calendar", "v3", http=http, client_options=options, static_discovery=True, cache_discovery=False
            )
        elif self._creds is not None and not self._creds.valid:
            from boundaryd.calendars.google_auth import refresh

            refresh(self._creds, self.token_file, self.timeout)
        return self._service.events()

    def _refused_token(self) -> RuntimeFailure:
        return RuntimeFailure(f"{self.token_file}: Google refused the saved token (run boundaryd auth google)")

    def _failure(self, what: str, status: int, reason: str, message: str) -> BaseException | None:
        """What a non-2xx answer means: an error to raise, or None when it is worth a retry."""
        if status in (404, 410) and what.startswith("delete"):
            return _Done()
        if status == 410 and reason in ("fullSyncRequired", "updatedMinTooLongAgo", "") and what == "list-sync":
            return FullSyncRequired()
        if status == 404 and what.startswith("list"):
            return BadInput(f"{self.name}: Google has no such calendar (check calendar_id in the rules file)")
        if status == 401:
            return self._refused_token()
        if status == 403 and reason in ("quotaExceeded", "dailyLimitExceeded"):
            err = RuntimeFailure(
                f"{self.name}: Google Calendar quota exceeded ({message}); waiting"
                f" {int(self.retry.quota_backoff // 60)} minutes before trying again"
            )
            err.retry_after = self.retry.quota_backoff  # type: ignore[attr-defined]
            return err
        if status == 429 or status >= 500 or (status == 403 and reason in _RETRY_REASONS):
            return None
        line = f"{self.name}: {what}: Google answered {status} {reason or ''}: {message}".replace("  ", " ")
        return HttpFailure(status, reason, message, line)

    def _execute(self, what: str, make: Callable[[Any], Any]) -> Any:
        """Run one API request with bounded retries; map failures to BoundarydError."""
        from google.auth.exceptions import RefreshError, TransportError
        from googleapiclient.errors import HttpError

        attempt = 0
        while True:
            transient: str
            try:
                return make(self._events()).execute(num_retries=0)
            except HttpError as e:
                status = int(e.resp.status)
                reason, message = error_reason(e)
                failure = self._failure(what, status, reason, message)
                if isinstance(failure, _Done):
                    return None
                if failure is not None:
                    raise failure from None
                transient = f"Google answered {status} {reason}".strip()
            except RefreshError:
                raise self._refused_token() from None
            except (TransportError, OSError, TimeoutError) as e:
                transient = f"cannot reach Google ({type(e).__name__}: {e})" if str(e) else f"cannot reach Google ({type(e).__name__})"
            except Exception as e:
                import httplib2

                if not isinstance(e, httplib2.HttpLib2Error):
                    raise
                transient = f"cannot reach Google ({e})"
            delay = self.retry.delay(attempt)
            if self._monotonic() + delay >= self._cycle_deadline:
                raise RuntimeFailure(f"{self.name}: {transient} (gave up after {attempt + 1} tries; retrying next cycle)")
            log.warning("%s: %s; retrying in %.1fs", self.name, transient, delay)
            self._sleep(delay)
            attempt += 1


class _Done(Exception):
    """A delete of what is already gone: success."""
