"""busy_from feeds (``ics_url``): conditional GETs against a feed server on 127.0.0.1, and hostile feeds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from boundaryd.calendars.feed import FeedBackend, Limits, fetch
from boundaryd.calendars.sources import ReadOnly, WriteRefused
from boundaryd.core.model import BlockEvent, Occurrence
from boundaryd.errors import BadInput, RuntimeFailure
from clirun import calendar_of, invite
from feed_server import FeedServer, Route

TZ = ZoneInfo("America/Toronto")
START = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
END = START + timedelta(days=14)


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(date(2026, 11, 23) + timedelta(days=day), time(hh, mm), TZ)


FEED = calendar_of(invite("recital@family", "Recital", at(1, 18), 90, organizer=None))


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def backend(server: FeedServer, path: str, tmp_path: Path, limits: Limits | None = None) -> FeedBackend:
    return FeedBackend(server.url(path), tmp_path / "busy" / "family.ics", "Family", limits or Limits())


def test_an_unchanged_feed_costs_one_conditional_request_answered_304(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/family.ics"] = Route(FEED)
    feed = backend(server, "/family.ics", tmp_path)
    first = feed.snapshot(START, END, TZ)
    second = feed.snapshot(START, END, TZ)
    assert [o.summary for o in first.occurrences] == ["Recital"] == [o.summary for o in second.occurrences]
    assert server.hits["/family.ics"] == [200, 304]
    assert server.headers["/family.ics"][1]["if-none-match"] == server.routes["/family.ics"].tag
    # a changed feed is read again: a new ETag, a 200, the new event
    server.routes["/family.ics"] = Route(calendar_of(invite("game@family", "Game", at(2, 18), organizer=None)))
    assert [o.summary for o in feed.snapshot(START, END, TZ).occurrences] == ["Game"]
    assert server.hits["/family.ics"] == [200, 304, 200]


def test_a_feed_with_only_last_modified_is_revalidated_with_if_modified_since(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/lm.ics"] = Route(FEED, etag=False, last_modified="Mon, 02 Nov 2026 10:00:00 GMT")
    feed = backend(server, "/lm.ics", tmp_path)
    feed.snapshot(START, END, TZ)
    feed.snapshot(START, END, TZ)
    assert server.hits["/lm.ics"] == [200, 304]
    assert "if-none-match" not in server.headers["/lm.ics"][1]
    assert server.headers["/lm.ics"][1]["if-modified-since"] == "Mon, 02 Nov 2026 10:00:00 GMT"


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "no-length"])
def test_a_huge_feed_is_refused_not_truncated(server: FeedServer, tmp_path: Path, length: bool) -> None:
    server.routes["/huge.ics"] = Route(FEED + b"X" * 200_000, length=length)
    with pytest.raises(RuntimeFailure, match="bytes"):
        fetch(server.url("/huge.ics"), limits=Limits(max_bytes=100_000))
    assert not (tmp_path / "busy").exists()


def test_a_slow_feed_times_out(server: FeedServer) -> None:
    server.routes["/slow.ics"] = Route(FEED, delay=1.0)
    with pytest.raises(RuntimeFailure, match="unreachable"):
        fetch(server.url("/slow.ics"), limits=Limits(timeout=0.2))


def test_a_slow_trickle_is_cut_at_the_deadline() -> None:
    ticks = iter(range(0, 1000, 20))  # each look at the clock is 20 s later

    class Slow:
        headers: dict[str, str] = {}

        def read(self, n: int) -> bytes:
            return b"BEGIN:VCALENDAR\r\n"

    from boundaryd.calendars.feed import _read_bounded

    with pytest.raises(RuntimeFailure, match="more than 30 s"):
        _read_bounded(Slow(), Limits(total=30), 30.0, lambda: float(next(ticks)))  # type: ignore[arg-type]


def test_a_broken_feed_is_refused_and_the_last_good_copy_stays(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/f.ics"] = Route(FEED)
    feed = backend(server, "/f.ics", tmp_path)
    feed.snapshot(START, END, TZ)
    kept = feed.cache.read_bytes()
    server.routes["/f.ics"] = Route(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\n")
    with pytest.raises(BadInput):
        feed.snapshot(START, END, TZ)
    server.routes["/f.ics"] = Route(b"<html>Sign in</html>", content_type="text/calendar")
    with pytest.raises(BadInput, match="not iCalendar"):
        feed.snapshot(START, END, TZ)
    assert feed.cache.read_bytes() == kept


def test_a_valid_feed_with_the_wrong_content_type_is_accepted(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/odd"] = Route(FEED, content_type="application/octet-stream")
    server.routes["/html"] = Route(b"\xef\xbb\xbf\r\n" + FEED, content_type="text/html")
    for path in ("/odd", "/html"):
        snap = FeedBackend(server.url(path), tmp_path / path.strip("/") / "x.ics", "X").snapshot(START, END, TZ)
        assert [o.summary for o in snap.occurrences] == ["Recital"]


def test_redirects_are_followed_to_http_only(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/real.ics"] = Route(FEED)
    server.routes["/moved.ics"] = Route(location="/real.ics")
    assert [o.summary for o in backend(server, "/moved.ics", tmp_path).snapshot(START, END, TZ).occurrences] == ["Recital"]
    secret = tmp_path / "secret.ics"
    secret.write_bytes(FEED)
    server.routes["/evil.ics"] = Route(location=f"file://{secret}")
    with pytest.raises(RuntimeFailure, match="file: address"):
        fetch(server.url("/evil.ics"))
    server.routes["/loop1"] = Route(location="/loop2")
    server.routes["/loop2"] = Route(location="/loop1")
    with pytest.raises(RuntimeFailure):
        fetch(server.url("/loop1"), limits=Limits(redirects=3))
    assert len(server.hits["/loop1"]) + len(server.hits["/loop2"]) <= 4


def test_refused_and_missing_feeds_say_so(server: FeedServer) -> None:
    server.routes["/private.ics"] = Route(status=401)
    with pytest.raises(RuntimeFailure, match="401"):
        fetch(server.url("/private.ics"))
    with pytest.raises(RuntimeFailure, match="404"):
        fetch(server.url("/nothing.ics"))


def test_a_source_is_never_written_to(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/f.ics"] = Route(FEED)
    source = ReadOnly(backend(server, "/f.ics", tmp_path))
    occ: Occurrence = source.snapshot(START, END, TZ).occurrences[0]
    for write in (lambda: source.decline(occ, ("a@b",), "no"), lambda: source.flag(occ),
                  lambda: source.put_block(BlockEvent("u", "b", "t", "f", "")), lambda: source.delete_block("u"),
                  lambda: source.answer(occ, ("a@b",), "ACCEPTED"), lambda: source.unflag(occ)):
        with pytest.raises(WriteRefused):
            write()


def test_a_redirect_from_https_down_to_http_is_refused() -> None:
    import email.message
    import urllib.request

    from boundaryd.calendars.feed import _opener

    handler = next(h for h in _opener(Limits()).handlers if hasattr(h, "http_error_302"))
    headers = email.message.Message()
    headers["Location"] = "http://calendar.example.com/family.ics"
    req = urllib.request.Request("https://calendar.example.com/family.ics")
    with pytest.raises(RuntimeFailure, match="from https to plain http"):
        handler.http_error_302(req, None, 302, "Found", headers)


def test_webcal_links_are_https(tmp_path: Path) -> None:
    from boundaryd.core.rules_busy import BusySource

    assert BusySource(name="F", ics_url="webcal://p01-caldav.example.com/x.ics").ics_url == "https://p01-caldav.example.com/x.ics"
    with pytest.raises(ValueError, match="not an http"):
        BusySource(name="F", ics_url="ftp://example.com/x.ics")
