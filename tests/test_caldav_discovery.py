"""The URL a person has: a principal or a calendar home leads to the calendar (RFC 4791 6.2.1,
RFC 5397); with several calendars they are listed with their URLs (exit 2); a malformed URL is
exit 2 naming it. On sabre/dav, Cyrus and DAViCal, each a fresh instance (a home with one calendar).
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from boundaryd.calendars.caldav_backend import CaldavBackend
from boundaryd.errors import BadInput
from clirun import OWNER
from contract_worlds import MemState, snap
from dav_servers import DavServer, kit_missing, start_kit

# the principal and the calendar home, as each server's settings show them
PLACES = {
    "sabredav": ("principals/alice/", "calendars/alice/"),
    "cyrus": ("dav/principals/user/alice/", "dav/calendars/user/alice/"),
    "davical": ("caldav.php/alice/", "caldav.php/alice/"),
}


@pytest.fixture(scope="module", params=sorted(PLACES))
def kit(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DavServer]:
    why = kit_missing(request.param)
    if why:
        pytest.skip(why)
    server = start_kit(request.param, tmp_path_factory.mktemp(f"disc-{request.param}"))
    try:
        yield server
    finally:
        server.stop()


def _mkcalendar(server: DavServer, url: str) -> int:
    req = urllib.request.Request(url, method="MKCALENDAR")
    req.add_header("Authorization", "Basic " + base64.b64encode(b"alice:alice-secret").decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def _backend(url: str) -> CaldavBackend:
    return CaldavBackend(url, "alice", "alice-secret", MemState(), timeout=10, owner_emails=(OWNER,))


def test_a_principal_or_home_url_finds_the_one_calendar_then_several_are_listed(kit: DavServer) -> None:
    for place in PLACES[kit.name]:
        b = _backend(kit.root + place)
        snap(b)
        assert b.url == kit.url, place
    second = kit.root + PLACES[kit.name][1] + "second/"
    assert _mkcalendar(kit, second) == 201
    for place in PLACES[kit.name]:
        with pytest.raises(BadInput) as info:
            snap(_backend(kit.root + place))
        text = str(info.value)
        assert kit.url in text and second in text and "is not a calendar" in text, text
    b = _backend(second)  # the calendar's own URL: read as it is
    snap(b)
    assert b.url == second


@pytest.mark.parametrize("url", ["caldav.example.com/dav/", "http//example.com/dav/", "http://[::1/dav/",
                                 "http://example.com:port/dav/", "ftp://example.com/dav/", "https:///dav/"])
def test_a_malformed_url_is_bad_input_naming_it(url: str, tmp_path: Path) -> None:
    with pytest.raises(BadInput) as info:
        _backend(url)
    assert url in str(info.value)
