"""`boundaryd auth google`: the installed-app OAuth flow, end to end against local endpoints."""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from boundaryd.calendars import google_auth
from boundaryd.errors import BadInput
from fake_google import CALENDAR_SCOPE, FakeGoogle, FakeOAuth, check_no_rejections


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with FakeGoogle() as g:
        yield g
        check_no_rejections(g)


@pytest.fixture
def oauth(google: FakeGoogle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOAuth]:
    o = FakeOAuth(google).start(tmp_path / "ca.pem")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(o.ca_file))
    yield o
    o.stop()


def _run_flow(oauth: FakeOAuth, tmp_path: Path, browse: Any) -> tuple[list[str], Path, dict[str, Any]]:
    secrets_file = tmp_path / "client_secret.json"
    secrets_file.write_text(json.dumps(oauth.client_secrets()))
    token_file = tmp_path / "state" / "google-token.json"
    lines: list[str] = []
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["creds"] = google_auth.authorize(secrets_file, token_file, port=0, open_browser=False,
                                                    echo=lines.append, timeout_seconds=20)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            result["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while not any("https://" in ln for ln in lines) and time.monotonic() < deadline:
        time.sleep(0.02)
    url = next(ln.split("\n")[1] for ln in lines if "https://" in ln)
    browse(url)
    t.join(20)
    assert not t.is_alive()
    return lines, token_file, result


def _browser(oauth: FakeOAuth) -> Any:
    """A user's browser: open the consent URL, follow Google's redirect to the loopback server."""
    ctx = ssl.create_default_context(cafile=str(oauth.ca_file))

    def browse(url: str) -> str:
        with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:  # follows the 302
            return resp.read().decode()

    return browse


def test_installed_app_flow_end_to_end(google: FakeGoogle, oauth: FakeOAuth, tmp_path: Path) -> None:
    pages: list[str] = []
    browse = _browser(oauth)
    lines, token_file, result = _run_flow(oauth, tmp_path, lambda url: pages.append(browse(url)))
    assert "error" not in result, result.get("error")
    url = urllib.parse.urlsplit(next(ln.split("\n")[1] for ln in lines if "https://" in ln))
    q = urllib.parse.parse_qs(url.query)
    assert url.netloc.startswith("localhost:") and url.path == "/o/oauth2/auth"
    assert q["scope"] == [CALENDAR_SCOPE] and q["access_type"] == ["offline"] and q["code_challenge_method"] == ["S256"]
    port = urllib.parse.urlsplit(q["redirect_uri"][0]).port
    ssh = [ln for ln in lines if "ssh -L" in ln]
    assert len(ssh) == 1 and ssh[0].splitlines()[-1].startswith(f"ssh -L {port}:localhost:{port} ")
    assert "authorized" in pages[0]
    # the token file: google-auth's JSON, mode 0600, never a pickle
    assert token_file.stat().st_mode & 0o777 == 0o600
    saved = json.loads(token_file.read_text())
    assert saved["refresh_token"] in oauth.refresh_tokens and saved["token"] in google.access_tokens
    assert saved["scopes"] == [CALENDAR_SCOPE] and saved["token_uri"] == oauth.token_uri
    assert [f["grant_type"] for f in oauth.token_requests] == ["authorization_code"]
    # and it works: the saved token reads the calendar
    creds = google_auth.load_credentials(token_file)
    assert creds.valid and creds.refresh_token == saved["refresh_token"]


def test_refresh_when_expired_saves_back(google: FakeGoogle, oauth: FakeOAuth, tmp_path: Path) -> None:
    from fake_google import write_token_file

    token_file = tmp_path / "t.json"
    write_token_file(token_file, oauth, expired=True)
    old = json.loads(token_file.read_text())
    creds = google_auth.load_credentials(token_file)
    new = json.loads(token_file.read_text())
    assert creds.valid and new["token"] != old["token"] and new["refresh_token"] == old["refresh_token"]
    assert token_file.stat().st_mode & 0o777 == 0o600


def test_remote_token_uri_in_a_token_file_is_not_trusted(oauth: FakeOAuth, tmp_path: Path) -> None:
    from fake_google import write_token_file

    token_file = tmp_path / "t.json"
    write_token_file(token_file, oauth)
    data = json.loads(token_file.read_text())
    data["token_uri"] = "https://attacker.example/token"
    token_file.write_text(json.dumps(data))
    creds = google_auth.load_credentials(token_file)
    assert creds.token_uri == "https://oauth2.googleapis.com/token"


def test_bad_client_secrets_and_token_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file"):
        google_auth.authorize(tmp_path / "missing.json", tmp_path / "t.json", open_browser=False, echo=print)
    (tmp_path / "web.json").write_text(json.dumps({"something": {}}))
    with pytest.raises(BadInput, match="Desktop app"):
        google_auth.authorize(tmp_path / "web.json", tmp_path / "t.json", open_browser=False, echo=print)
    (tmp_path / "t.json").write_text("{not json")
    with pytest.raises(BadInput, match="not a Google token file"):
        google_auth.load_credentials(tmp_path / "t.json")
    with pytest.raises(BadInput, match="run boundaryd auth google"):
        google_auth.load_credentials(tmp_path / "none.json")
