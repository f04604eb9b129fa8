"""One CalDAV collection over HTTP (the caldav client's HTTP layer): requests, and the mapping
of failures onto boundaryd's errors; and the one question asked at connect time."""

from __future__ import annotations

import urllib.parse
from typing import Any

from boundaryd.calendars.caldav_xml import (
    ADDRESSES_BODY,
    DAV,
    PRINCIPAL_BODY,
    describe,
    parse_xml,
    raw,
    status_of,
    user_addresses,
)
from boundaryd.errors import RuntimeFailure


class Refused(Exception):
    """401/403 from the server (caldav raises instead of returning)."""


class DavHttp:
    def __init__(self, url: str, username: str | None, password: str | None, timeout: int) -> None:
        from caldav.davclient import DAVClient

        self.url = url
        self.username, self.password, self.timeout = username, password, timeout
        self.client = DAVClient(
            url=url,
            username=username,
            password=password,
            auth_type="basic" if username else None,
            timeout=timeout,
            require_tls=False,
            enable_rfc6764=False,
        )

    @property
    def bad_credentials(self) -> str:
        return f"caldav {self.url}: the server refused the credentials (check username and password_env/password_file)"

    @property
    def forbidden(self) -> str:
        return f"caldav {self.url}: the server refuses this account access to the calendar (403: check its permissions)"

    def request(
        self,
        method: str,
        href: str,
        body: str = "",
        headers: dict[str, str] | None = None,
        *,
        refused_ok: bool = False,
        not_implemented_ok: bool = False,
    ) -> Any:
        from caldav.lib import error as dav_error

        # hrefs are kept decoded (as listed by the server); they are encoded on the wire only
        url = (
            href
            if href.startswith(("http://", "https://"))
            else urllib.parse.urljoin(self.url, urllib.parse.quote(href, safe="/:@!$&'()*+,;=-._~"))
        )
        try:
            resp = self.client.request(url, method, body, headers or {})
        except dav_error.AuthorizationError as e:
            status = status_of(e)
            if refused_ok:  # a 403 to a sync token may only mean the token expired
                raise Refused(status) from None
            raise RuntimeFailure(self.forbidden if status == "403" else self.bad_credentials) from None
        except dav_error.RateLimitError:
            raise RuntimeFailure(f"caldav {self.url}: the server asks us to slow down (will retry)") from None
        except Exception as e:  # noqa: BLE001 - connection refused, timeout, reset, TLS: all one line
            raise RuntimeFailure(f"caldav {self.url}: {method} failed ({describe(e)})") from None
        if resp.status == 429:
            raise RuntimeFailure(f"caldav {self.url}: the server asks us to slow down (will retry)")
        if resp.status >= 500 and not (not_implemented_ok and resp.status == 501):
            raise RuntimeFailure(f"caldav {self.url}: the server answered {resp.status} to {method} (will retry)")
        return resp

    def scheduling(self, owner_emails: frozenset[str]) -> tuple[bool, str]:
        """Whether the server tells organizers of our declines, and which server it is (asked at
        connect time, one OPTIONS; see :func:`server_kind`).

        It does when it does CalDAV scheduling (RFC 6638: ``calendar-auto-schedule`` in the DAV
        header) and the account's calendar user addresses include one of the owner's: a server
        only replies for its own user, so for an owner it does not know, boundaryd replies."""
        resp = self.request("OPTIONS", self.url)
        headers = {str(k).lower(): str(v) for k, v in resp.headers.items()}
        dav = ",".join(str(v) for k, v in resp.headers.items() if k.lower() == "dav")
        tells = "calendar-auto-schedule" in dav
        if tells and owner_emails:
            addresses = self._user_addresses()
            if addresses is not None:  # unreadable: trust the DAV header
                tells = bool(addresses & owner_emails)
        return tells, server_kind(headers, dav)

    def _user_addresses(self) -> frozenset[str] | None:
        resp = self.request("PROPFIND", self.url, PRINCIPAL_BODY, {"Depth": "0"})
        if resp.status != 207:
            return None
        root = parse_xml(raw(resp))
        href = root.findtext(f".//{{{DAV}}}current-user-principal/{{{DAV}}}href") if root is not None else None
        if not href:
            return None
        resp = self.request("PROPFIND", urllib.parse.unquote(href.strip()), ADDRESSES_BODY, {"Depth": "0"})
        return user_addresses(parse_xml(raw(resp)) if resp.status == 207 else None)


def server_kind(headers: dict[str, str], dav: str) -> str:
    """Which scheduling server answers, from its OPTIONS answer: "sabre" (sabre/dav: Nextcloud,
    ownCloud, Baikal), "davical", "cyrus", or "" (another). What each does with an attendee's
    edit is known per server (README, CalDAV interoperability), not probed: a probe would write
    to an organizer's inbox."""
    tokens = {t.strip().lower() for t in dav.split(",")}
    if "x-sabre-version" in headers or any(t.startswith(("nc-", "oc-", "nextcloud")) for t in tokens):
        return "sabre"
    if "x-davical-version" in headers or "davical" in headers.get("server", "").lower():
        return "davical"
    if "cyrus" in headers.get("server", "").lower():
        return "cyrus"
    return ""
