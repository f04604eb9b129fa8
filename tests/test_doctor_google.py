"""``doctor`` on Google (the local stand-in for the Calendar API and Google's OAuth endpoints): the
token read locally and refreshed once, a Testing-mode app's 7-day token told with the fix, the
calendar's access role, and Google as the one who tells organizers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from boundaryd.cli.doctor import exit_code, findings
from boundaryd.presentation.doctor import line
from fake_google import FakeGoogle, FakeOAuth, check_no_rejections, write_token_file

NOW = datetime.fromisoformat("2026-11-23T07:00:00-05:00")
RULES = """\
version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [alice@example.com]}}
calendar:
  google: {{calendar_id: primary, token_file: {token}, api_endpoint: "{endpoint}"}}
blocks:
  - {{id: prospecting, days: weekdays, start: "08:30", end: "11:00", policy: decline}}
"""


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with FakeGoogle() as google:
        oauth = FakeOAuth(google).start(tmp_path / "ca.pem")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(oauth.ca_file))
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no unit installed here
        state = tmp_path / "state"
        state.mkdir()
        token = state / "google-token.json"
        rules = tmp_path / "rules.yaml"
        rules.write_text(RULES.format(token=token, endpoint=google.api_endpoint))
        rt = write_token_file(token, oauth)
        yield {"google": google, "oauth": oauth, "rules": rules, "state": state, "token": token, "rt": rt}
        oauth.stop()
        check_no_rejections(google)


def doctor(world: dict[str, Any]) -> tuple[dict[str, str], int]:
    found = list(findings(world["rules"], world["state"], None, NOW))
    return {f.part: line(f).split(None, 1)[1] for f in found}, exit_code(found)


def test_a_good_token_and_an_owned_calendar(world: dict[str, Any]) -> None:
    before = world["token"].read_bytes()
    rows, code = doctor(world)
    assert code == 0, rows
    assert rows["credentials"] == f"ok    Google accepted the token in {world['token']} (access renewed until Mon 2026-11-23 08:00)"
    assert rows["calendar"] == "ok    google:primary (your access: owner) is reachable, readable and writable"
    assert rows["scheduling"] == "ok    Google tells organizers when boundaryd declines"
    assert world["token"].read_bytes() == before  # doctor saved nothing
    assert [r.query.get("maxResults") for r in world["google"].requests] == [["1"]]  # one small read


def test_a_testing_mode_token_says_when_it_ends_and_how_to_fix_it(world: dict[str, Any]) -> None:
    world["oauth"].refresh_token_lifetime = 5 * 86400 + 3600  # consented two days ago, in Testing mode
    rows, code = doctor(world)
    assert code == 2
    assert rows["credentials"].startswith("FIX   Google accepted the token but ends it on Sat 2026-11-28 08:00 (in 5 days):")
    assert "Testing mode" in rows["credentials"] and "Publish app" in rows["credentials"]
    assert "boundaryd auth google" in rows["credentials"]
    world["oauth"].refresh_token_lifetime = 180 * 86400  # a published app's token: no alarm
    rows, code = doctor(world)
    assert code == 0 and rows["credentials"].startswith("ok    Google accepted the token in ")


def test_a_refused_token_fails_naming_the_7_day_limit(world: dict[str, Any]) -> None:
    world["oauth"].revoke(write_token_file(world["token"], world["oauth"], expired=True))
    rows, code = doctor(world)
    assert code == 1
    assert rows["credentials"].startswith(f"FAIL  Google refused the token in {world['token']}: it expired or was revoked.")
    assert "7 days after consent" in rows["credentials"] and "Publish app" in rows["credentials"]
    assert rows["calendar"].startswith("FAIL  ")


def test_token_file_problems_are_fixes(world: dict[str, Any]) -> None:
    token: Path = world["token"]
    os.chmod(token, 0o644)
    rows, code = doctor(world)
    assert code == 2 and rows["credentials"] == f"FIX   {token} is readable by others (run `chmod 600 {token}`)"
    info = json.loads(token.read_text())
    token.write_text(json.dumps({**info, "refresh_token": None}))
    token.chmod(0o600)
    rows, _ = doctor(world)
    assert rows["credentials"].startswith(f"FIX   {token} has no refresh token")
    token.unlink()
    rows, code = doctor(world)
    assert code == 2
    assert rows["credentials"] == f"FIX   {token}: no Google token yet (run `boundaryd auth google --client-secrets FILE`)"


def test_a_read_only_calendar_is_a_fix(world: dict[str, Any]) -> None:
    world["google"].access_role = "reader"
    rows, code = doctor(world)
    assert code == 2 and rows["calendar"].startswith("FIX   google:primary (reader): your access is read-only")


def test_a_web_client_json_is_refused_at_once(tmp_path: Path) -> None:
    from boundaryd.calendars.google_auth import authorize
    from boundaryd.errors import BadInput

    web = tmp_path / "client_secret_web.json"
    web.write_text(json.dumps({"web": {"client_id": "x.apps.example", "client_secret": "s", "redirect_uris": []}}))
    with pytest.raises(BadInput, match="a Web application OAuth client.*Desktop app"):
        authorize(web, tmp_path / "token.json", port=0, open_browser=False, echo=lambda s: None)
    assert not (tmp_path / "token.json").exists()


def test_auth_google_remembers_the_consent_and_doctor_reads_it(world: dict[str, Any], tmp_path: Path) -> None:
    """Through the real installed-app flow: Google's answer to the consent says the token lives 7
    days (Testing mode); the refreshes after it say nothing; doctor still knows when it ends."""
    from test_google_auth import _browser, _run_flow

    oauth: FakeOAuth = world["oauth"]
    oauth.refresh_token_lifetime = 7 * 86400 - 1
    (tmp_path / "flow").mkdir()
    _, token_file, result = _run_flow(oauth, tmp_path / "flow", _browser(oauth))
    assert "error" not in result, result.get("error")
    consent = json.loads((token_file.parent / "google-token.json.consent").read_text())
    assert consent["refresh_token_expires_in"] == 7 * 86400 - 1
    assert oct(os.stat(token_file.parent / "google-token.json.consent").st_mode & 0o777) == "0o600"
    world["token"].write_bytes(token_file.read_bytes())
    world["token"].chmod(0o600)
    (world["state"] / "google-token.json.consent").write_text(
        json.dumps({**consent, "authorized_at": "2026-11-20T12:00:00+00:00"}))
    oauth.refresh_token_lifetime = None  # Google tells it only at consent
    rows, code = doctor(world)
    assert code == 2, rows
    assert rows["credentials"].startswith("FIX   Google accepted the token but ends it on Fri 2026-11-27 06:59 (in 4 days):")
    oauth.revoke(write_token_file(world["token"], oauth, expired=True))
    rows, code = doctor(world)
    assert code == 1
    assert rows["credentials"].startswith(f"FAIL  Google refused the token in {world['token']} (authorized 3 days ago): ")
