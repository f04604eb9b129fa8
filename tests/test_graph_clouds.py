"""National clouds: ``auth microsoft --cloud`` (or the rules' ``api_endpoint``) signs in at that
cloud's host with scopes named by its Graph, and ``sync`` asks for the same; the global cloud is
unchanged (plain ``Calendars.ReadWrite`` at login.microsoftonline.com). What MSAL is asked is
recorded by a stand-in for its application class; the real MSAL runs the qualified scopes through
the local identity stand-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msal
import pytest

from boundaryd.calendars import graph_auth
from boundaryd.calendars.graph_auth import CLOUDS, TokenSource, resolve
from boundaryd.calendars.graph_backend import GraphBackend
from boundaryd.cli import main
from boundaryd.cli.auth_microsoft import CLOUD_NAMES
from boundaryd.core.rules_calendar import MicrosoftCalendar
from boundaryd.errors import BadInput
from clirun import OWNER, invite
from contract_graph import GraphWorld
from contract_worlds import TZ, at, snap
from fake_graph import CLIENT_ID, FakeGraph, trusted

EXPECTED = {  # Microsoft Graph's national cloud deployments: sign-in host, Graph, the scope asked
    "global": ("https://login.microsoftonline.com", "https://graph.microsoft.com/v1.0/", "Calendars.ReadWrite"),
    "usgov": ("https://login.microsoftonline.us", "https://graph.microsoft.us/v1.0/",
              "https://graph.microsoft.us/Calendars.ReadWrite"),
    "usgovdod": ("https://login.microsoftonline.us", "https://dod-graph.microsoft.us/v1.0/",
                 "https://dod-graph.microsoft.us/Calendars.ReadWrite"),
    "china": ("https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/v1.0/",
              "https://microsoftgraph.chinacloudapi.cn/Calendars.ReadWrite"),
}


class Asked:
    """In place of msal.PublicClientApplication: records the authority and the scopes asked."""

    log: list[tuple[str, Any]] = []

    def __init__(self, client_id: str, authority: str, **kw: Any) -> None:
        Asked.log.append(("authority", authority))

    def initiate_device_flow(self, scopes: list[str]) -> dict[str, str]:
        Asked.log.append(("scopes", list(scopes)))
        return {"user_code": "ABCD", "message": "To sign in, open the page and enter the code ABCD"}

    def acquire_token_by_device_flow(self, flow: dict[str, str]) -> dict[str, Any]:
        return {"access_token": "t", "id_token_claims": {"preferred_username": OWNER}}


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    Asked.log = []
    monkeypatch.setattr(msal, "PublicClientApplication", Asked)
    return Asked.log


def rules(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(f"""version: 1
timezone: America/Toronto
owner: {{name: Alice Agent, emails: [{OWNER}]}}
working_hours: {{days: weekdays, start: "08:00", end: "18:00"}}
calendar:
  microsoft: {{calendar: primary, client_id: {CLIENT_ID}{extra}}}
blocks:
  - {{id: prospecting, kind: prospecting, days: weekdays, start: "08:30", end: "11:00", policy: decline}}
""")
    return path


def auth(tmp_path: Path, rules_path: Path, *args: str) -> int:
    return main(["--rules", str(rules_path), "--state", str(tmp_path / "state"), "auth", "microsoft", *args])


def test_the_clouds_are_microsofts_and_the_cli_names_them_all() -> None:
    assert tuple(CLOUDS) == CLOUD_NAMES
    got = {n: (c.authority, c.api_endpoint, " ".join(c.scopes)) for n, c in CLOUDS.items()}
    assert got == EXPECTED


@pytest.mark.parametrize("cloud", sorted(EXPECTED))
def test_auth_with_cloud_asks_msal_for_that_clouds_host_and_scopes(cloud: str, asked: list[tuple[str, Any]], tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = auth(tmp_path, tmp_path / "none.yaml", "--client-id", CLIENT_ID, "--cloud", cloud)
    out = capsys.readouterr().out
    assert code == 0, out
    host, api, scope = EXPECTED[cloud]
    assert asked == [("authority", f"{host}/common"), ("scopes", [scope])]
    assert (f"api_endpoint: {api}" in out) is (cloud != "global")  # what the rules need for sync


def test_without_cloud_the_global_sign_in_is_unchanged(asked: list[tuple[str, Any]], tmp_path: Path) -> None:
    assert auth(tmp_path, tmp_path / "none.yaml", "--client-id", CLIENT_ID, "--tenant", "consumers") == 0
    assert asked == [("authority", "https://login.microsoftonline.com/consumers"), ("scopes", ["Calendars.ReadWrite"])]
    assert auth(tmp_path, rules(tmp_path)) == 0
    assert asked[2:] == [("authority", "https://login.microsoftonline.com/common"), ("scopes", ["Calendars.ReadWrite"])]


def test_the_rules_api_endpoint_names_the_cloud_for_auth_and_for_sync(asked: list[tuple[str, Any]], tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = rules(tmp_path, ', api_endpoint: "https://dod-graph.microsoft.us/v1.0/"')
    assert auth(tmp_path, path) == 0
    assert asked == [("authority", "https://login.microsoftonline.us/common"),
                     ("scopes", ["https://dod-graph.microsoft.us/Calendars.ReadWrite"])]
    assert "Sync will read" not in capsys.readouterr().out  # the rules say it already
    context = SimpleNamespace(state_dir=tmp_path, tz=TZ, owner_emails=(OWNER,), sync_state=None)
    b = GraphBackend.open("primary", MicrosoftCalendar(api_endpoint="https://dod-graph.microsoft.us/v1.0/"), context)
    assert (b.tokens.authority, b.tokens.scopes, b.api_endpoint) == (
        "https://login.microsoftonline.us", ["https://dod-graph.microsoft.us/Calendars.ReadWrite"],
        "https://dod-graph.microsoft.us/v1.0/")
    plain = GraphBackend.open("primary", MicrosoftCalendar(), context)  # the global cloud, as before
    assert (plain.tokens.authority, plain.tokens.scopes, plain.api_endpoint) == (
        "https://login.microsoftonline.com", ["Calendars.ReadWrite"], "https://graph.microsoft.com/v1.0/")


def test_a_cloud_the_rules_contradict_is_refused(asked: list[tuple[str, Any]], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = rules(tmp_path, ', api_endpoint: "https://microsoftgraph.chinacloudapi.cn/v1.0/"')
    assert auth(tmp_path, path, "--cloud", "usgov") == 2
    assert "make them agree" in capsys.readouterr().err and asked == []
    with pytest.raises(BadInput, match="set api_endpoint to https://graph.microsoft.us/v1.0/ or https://dod-graph"):
        resolve("https://login.microsoftonline.us", "https://graph.microsoft.com/v1.0/")
    assert resolve("https://127.0.0.1:8443", "https://127.0.0.1:8443/v1.0/") == (
        "https://127.0.0.1:8443", ["Calendars.ReadWrite"])  # no Microsoft cloud's host: as before


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGraph]:
    with trusted(tmp_path / "ca.pem", OWNER) as f:
        yield f


def test_msal_signs_in_and_refreshes_with_the_qualified_scopes(fake: FakeGraph, tmp_path: Path) -> None:
    """The real MSAL against the local identity stand-in, for the US Government cloud's Graph."""
    fake.identity.resource = "https://graph.microsoft.us"
    scopes = CLOUDS["usgov"].scopes
    token = tmp_path / "microsoft-token.json"
    graph_auth.device_sign_in(CLIENT_ID, "common", fake.authority, token, echo=lambda s: None, scopes=scopes)
    (started,) = [g for g in fake.identity.grants if "scope" in g and "grant_type" not in g]
    assert set(started["scope"].split()) >= {"https://graph.microsoft.us/Calendars.ReadWrite", "offline_access"}
    assert "Calendars.ReadWrite" not in started["scope"].split()
    w = GraphWorld({"fake": fake, "token": token}, tmp_path)
    w.put(invite("single@contract", "Listing review", at(1, 9)))
    tokens = TokenSource(token, None, "common", fake.authority, scopes)
    b = GraphBackend("primary", tokens, tmp_path / "cache.json", TZ, owner_emails=(OWNER,), sync_state=w.state,
                     api_endpoint=fake.api_endpoint)
    assert [o.uid for o in snap(b).occurrences] == ["single@contract"]
    assert not [g for g in fake.identity.grants if g.get("grant_type") == "refresh_token"]  # the cached token fits
    fake.expire_access_tokens()
    tokens.token(force=True)
    (refresh,) = [g for g in fake.identity.grants if g.get("grant_type") == "refresh_token"]
    assert "https://graph.microsoft.us/Calendars.ReadWrite" in refresh["scope"].split()
    w.close()
