"""``doctor`` on real CalDAV servers: the right collection (a calendar of events), write access,
and who tells organizers (Radicale: nobody but boundaryd's replies; Xandikos: the server)."""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from clirun import make_env
from dav_servers import BIN, DavServer, _wait, free_port, start_radicale, start_xandikos
from smtp_server import SmtpServer

OWNER = "alice@example.com"


def caldav_env(tmp_path: Path, url: str, smtp: str = ""):  # type: ignore[no-untyped-def]
    env = make_env(tmp_path / "env", smtp=smtp)
    text = env.rules.read_text().replace(f"ics: {{path: {env.calendar}}}", f"caldav: {{url: \"{url}\"}}")
    env.write_rules(text=text)
    return env


def doctor(env, check: int) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    p = env.run("doctor", "--now", "2026-11-23T07:00:00-05:00", check=check,
                env={"XDG_CONFIG_HOME": str(env.root / "config")})
    return {r[0]: (r[1], r[2]) for r in (ln.split(None, 2) for ln in p.stdout.splitlines())}


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DavServer]:
    server = start_radicale(tmp_path_factory.mktemp("radicale"))
    yield server
    server.stop()


def test_radicale_calendar_is_writable_and_replies_are_boundaryds(tmp_path: Path, radicale: DavServer) -> None:
    server = radicale
    rows = doctor(caldav_env(tmp_path, server.url), 0)
    assert rows["calendar"] == ("ok", f"caldav:{server.url}: a calendar of events, reachable, readable and writable")
    assert rows["scheduling"][0] == "note" and rows["scheduling"][1].startswith("nobody tells organizers yet")
    with SmtpServer(mode="none") as smtp:
        env = caldav_env(tmp_path / "2", server.url, smtp=f", smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none}}")
        rows = doctor(env, 0)
    assert rows["scheduling"] == ("ok", f"boundaryd tells organizers itself: a reply to each decline, sent over SMTP (127.0.0.1:{smtp.port})")


def test_a_task_list_is_not_the_right_collection(tmp_path: Path, radicale: DavServer) -> None:
    server = radicale
    tasks = server.root + "alice/tasks/"
    body = (b'<?xml version="1.0" encoding="utf-8"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
            b"<d:set><d:prop><c:supported-calendar-component-set><c:comp name=\"VTODO\"/>"
            b"</c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>")
    assert urllib.request.urlopen(urllib.request.Request(tasks, data=body, method="MKCALENDAR")).status == 201
    rows = doctor(caldav_env(tmp_path, tasks), 2)
    assert rows["calendar"] == ("FIX", f"{tasks} (VTODO) holds no events, only other items (use the URL of a calendar of events)")


def _read_only_radicale(tmp: Path) -> DavServer:
    """Radicale on a calendar made beforehand, now with rights that let everyone only read it."""
    start_radicale(tmp).stop()  # makes alice/work/
    rights = tmp / "rights"
    rights.write_text("[root]\nuser: .*\ncollection:\npermissions: R\n\n"
                      "[principal]\nuser: .*\ncollection: alice\npermissions: R\n\n"
                      "[calendars]\nuser: .*\ncollection: alice/[^/]+\npermissions: r\n")
    port = free_port()
    args = [str(BIN / "python"), "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}",
            "--storage-filesystem-folder", str(tmp / "radicale-storage"), "--logging-level", "warning",
            "--auth-type", "none", "--rights-type", "from_file", "--rights-file", str(rights)]
    log = tmp / "radicale-ro.log"
    proc = subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    root = f"http://127.0.0.1:{port}/"
    _wait(root, proc, log)
    return DavServer("radicale", f"{root}alice/work/", root, proc, log=log)


def test_a_read_only_calendar_is_misconfigured(tmp_path: Path) -> None:
    server = _read_only_radicale(tmp_path / "radicale")
    try:
        rows = doctor(caldav_env(tmp_path, server.url), 2)
        status, text = rows["calendar"]
        assert status == "FIX" and text.startswith(f"{server.url} (you may: ") and "may not write to this calendar" in text
        assert "write" not in text.split("(you may: ")[1].split(")")[0].split(", ")
    finally:
        server.stop()


def test_a_scheduling_server_tells_organizers(tmp_path: Path) -> None:
    with SmtpServer(mode="none") as smtp:
        server = start_xandikos(tmp_path / "xandikos", email=OWNER, smtp_port=smtp.port)
        try:
            rows = doctor(caldav_env(tmp_path, server.url), 0)
            assert rows["calendar"][0] == "ok"
            assert rows["scheduling"] == ("ok", "the calendar server tells organizers when boundaryd declines (CalDAV scheduling)")
        finally:
            server.stop()


def test_an_unreachable_server_is_a_failure_not_a_fix(tmp_path: Path) -> None:
    rows = doctor(caldav_env(tmp_path, f"http://127.0.0.1:{free_port()}/alice/work/"), 1)
    assert rows["calendar"][0] == "FAIL" and rows["scheduling"] == ("note", "not known: the calendar could not be reached")
