"""What a Google reader keeps between cycles (calendars/jsoncache.py): the cache file kept in
memory only while the file and the journal's token say it is current, a quiet delta that rewrites
nothing (the token refreshed once it is an hour old), occurrences built once per event version —
and, on random edits, a snapshot equal to a fresh process's."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from boundaryd.calendars import jsoncache, snapcache
from boundaryd.calendars.google_backend import GoogleBackend
from boundaryd.core.model import Snapshot
from boundaryd.fsutil import write_atomic
from fake_google import FakeGoogle, FakeOAuth, check_no_rejections, write_token_file
from test_google_backend import NOW, TZ, MemState, invitation, make_backend

START, END = NOW, NOW + timedelta(days=14)
KEY = "google:primary:synctoken"
T0 = 1_800_000_000.0  # the token clock's "now" in these tests (seconds since the epoch)


@pytest.fixture
def google(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogle]:
    with FakeGoogle(account="alice@example.com") as g:
        yield g
        check_no_rejections(g)


@pytest.fixture
def env(google: FakeGoogle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    o = FakeOAuth(google).start(tmp_path / "ca.pem")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(o.ca_file))
    token = tmp_path / "state" / "google-token.json"
    token.parent.mkdir()
    write_token_file(token, o)
    yield {"token": token, "state": MemState(), "dir": tmp_path / "state"}
    o.stop()


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    jsoncache.forget()
    now = [T0]
    monkeypatch.setattr(jsoncache, "clock", lambda: now[0])
    yield now
    jsoncache.forget()


def cycle(google: FakeGoogle, env: dict[str, Any], hours: float = 0) -> Snapshot:
    """One daemon cycle: a new backend object, as the daemon makes each cycle."""
    b = make_backend(google, env)
    return b.snapshot(START + timedelta(hours=hours), END + timedelta(hours=hours), TZ)


def cache_file(env: dict[str, Any]) -> Path:
    (path,) = env["dir"].glob("google-cache-*.json")
    return path


def summaries(snap: Snapshot) -> set[str]:
    return {o.summary for o in snap.occurrences}


def test_a_quiet_cycle_reads_nothing_from_disk_and_writes_nothing(google: FakeGoogle, env: dict[str, Any]) -> None:
    google.add_event(invitation("Lunch", NOW + timedelta(days=1, hours=5)))
    first = cycle(google, env)
    st = cache_file(env).stat()
    before = (jsoncache.stats.hits, jsoncache.stats.loads, jsoncache.stats.saves)
    google.reset_counts()
    again = cycle(google, env)
    assert again == first and summaries(again) == {"Lunch"}
    assert google.count() == 1  # the delta alone
    assert (jsoncache.stats.hits, jsoncache.stats.loads, jsoncache.stats.saves) == (before[0] + 1, before[1], before[2])
    now = cache_file(env).stat()
    assert (now.st_ino, now.st_mtime_ns, now.st_size) == (st.st_ino, st.st_mtime_ns, st.st_size)


def test_a_quiet_delta_keeps_the_token_until_it_is_an_hour_old(google: FakeGoogle, env: dict[str, Any],
                                                                fresh_memory: list[float]) -> None:
    cycle(google, env)
    saved = env["state"].get(KEY)
    google.add_event(invitation("Elsewhere", NOW + timedelta(days=1)), calendar_id="other@example.com")  # a new token, no change here
    fresh_memory[0] = T0 + jsoncache.TOKEN_MAX_AGE - 1
    ino = cache_file(env).stat().st_ino
    cycle(google, env)
    assert env["state"].get(KEY) == saved and json.loads(cache_file(env).read_text())["token"] == saved
    assert cache_file(env).stat().st_ino == ino
    fresh_memory[0] = T0 + jsoncache.TOKEN_MAX_AGE + 1
    cycle(google, env)
    newer = env["state"].get(KEY)
    on_disk = json.loads(cache_file(env).read_text())
    assert newer != saved and on_disk["token"] == newer and on_disk["saved"] == fresh_memory[0]
    jsoncache.forget()  # a new process agrees: the file and the journal hold the same token
    google.reset_counts()
    cycle(google, env)
    assert [r.query.get("syncToken") for r in google.requests] == [[newer]]


def test_a_change_outside_the_window_rewrites_nothing(google: FakeGoogle, env: dict[str, Any]) -> None:
    far = google.add_event(invitation("Next year", NOW + timedelta(days=300)))
    google.add_event(invitation("Lunch", NOW + timedelta(days=1, hours=5)))
    first = cycle(google, env)
    saves, token = jsoncache.stats.saves, env["state"].get(KEY)
    google.patch_event(far["id"], {"summary": "Next year, moved"})
    google.reset_counts()
    assert cycle(google, env) == first
    assert len(google.requests[0].query["syncToken"]) == 1 and jsoncache.stats.saves == saves
    assert env["state"].get(KEY) == token


def test_a_file_another_process_replaced_is_read_again(google: FakeGoogle, env: dict[str, Any],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    google.add_event(invitation("Lunch", NOW + timedelta(days=1, hours=5)))
    cycle(google, env)
    monkeypatch.setattr(jsoncache.Entry, "in_doubt", lambda self: False)  # long after: the stat alone tells
    data = json.loads(cache_file(env).read_text())
    for e in data["events"].values():
        e["summary"] = "Changed elsewhere"
    write_atomic(cache_file(env), json.dumps(data).encode())  # the same token: the journal agrees
    assert summaries(cycle(google, env)) == {"Changed elsewhere"}
    loads = jsoncache.stats.loads
    cycle(google, env)
    assert jsoncache.stats.loads == loads  # and kept from then on


def test_a_file_rewritten_in_place_in_the_same_tick_is_read_again(google: FakeGoogle, env: dict[str, Any],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    google.add_event(invitation("Lunch", NOW + timedelta(days=1, hours=5)))
    cycle(google, env)
    path = cache_file(env)
    text = path.read_bytes()
    assert b'"Lunch"' in text
    kept = jsoncache._entries[os.path.abspath(path)].ident
    path.write_bytes(text.replace(b'"Lunch"', b'"Lunck"'))  # same size, same inode
    monkeypatch.setattr(jsoncache, "file_id", lambda _st: kept)  # as if the stat could not tell
    monkeypatch.setattr(snapcache, "file_id", lambda _st: kept)
    assert summaries(cycle(google, env)) == {"Lunck"}


def test_a_journal_token_the_cache_does_not_carry_means_a_full_read(google: FakeGoogle, env: dict[str, Any]) -> None:
    google.add_event(invitation("Lunch", NOW + timedelta(days=1, hours=5)))
    cycle(google, env)
    env["state"].set(KEY, "another process's token")
    google.reset_counts()
    assert summaries(cycle(google, env)) == {"Lunch"}
    assert [sorted(r.query) for r in google.requests][0].count("timeMin") == 1  # a full read, not the kept copy


def test_410_means_a_full_read_and_a_new_copy(google: FakeGoogle, env: dict[str, Any]) -> None:
    cycle(google, env)
    google.invalidate_sync_tokens()
    google.add_event(invitation("After the reset", NOW + timedelta(days=2, hours=5)))
    assert summaries(cycle(google, env)) == {"After the reset"}
    token = env["state"].get(KEY)
    assert json.loads(cache_file(env).read_text())["token"] == token
    google.reset_counts()
    assert summaries(cycle(google, env)) == {"After the reset"}
    assert google.count() == 1


@pytest.mark.parametrize("new_process", [False, True])
def test_a_crash_between_the_file_and_the_journal_is_a_full_read(google: FakeGoogle, env: dict[str, Any],
                                                                  new_process: bool) -> None:
    google.add_event(invitation("Lunch", NOW + timedelta(days=1, hours=5)))
    cycle(google, env)
    state = env["state"]

    class Crash(Exception):
        pass

    def crash(key: str, value: str | None) -> None:
        raise Crash(key)

    google.add_event(invitation("Tea", NOW + timedelta(days=1, hours=8)))
    state.set, real_set = crash, state.set
    with pytest.raises(Crash):
        cycle(google, env)  # the file has the new token, the journal the old one
    state.set = real_set
    assert json.loads(cache_file(env).read_text())["token"] != state.get(KEY)
    if new_process:
        jsoncache.forget()
    google.reset_counts()
    assert summaries(cycle(google, env)) == {"Lunch", "Tea"}
    assert "timeMin" in google.requests[0].query  # started over: a full read


# --- random edits: the kept snapshot is a fresh process's ----------------------------------------


def fresh(google: FakeGoogle, env: dict[str, Any], tmp: Path, hours: float) -> Snapshot:
    """What a new process with no cache reads (its own state dir, journal and memory)."""
    other = {**env, "dir": tmp, "state": MemState()}
    snap = make_backend(google, other).snapshot(START + timedelta(hours=hours), END + timedelta(hours=hours), TZ)
    for f in tmp.glob("google-cache-*.json"):
        jsoncache.forget(f)
        f.unlink()
    return snap


def edit(google: FakeGoogle, rng: random.Random, ids: list[str]) -> None:
    kind = rng.choice(["add", "add-series", "retitle", "move", "delete", "decline", "other-calendar"])
    day, hour = rng.randrange(0, 16), rng.randrange(7, 19)
    at = NOW.replace(hour=hour) + timedelta(days=day)
    if kind.startswith("add") or not ids:
        extra = {"recurrence": ["RRULE:FREQ=DAILY;COUNT=5"]} if kind == "add-series" else {}
        ids.append(google.add_event(invitation(f"Meeting {len(ids)}", at, **extra))["id"])
        return
    eid = rng.choice(ids)
    if kind == "retitle":
        google.patch_event(eid, {"summary": f"Retitled {rng.randrange(1000)}"})
    elif kind == "move":
        google.patch_event(eid, {"start": {"dateTime": at.isoformat(), "timeZone": TZ.key},
                                 "end": {"dateTime": (at + timedelta(minutes=30)).isoformat(), "timeZone": TZ.key}})
    elif kind == "delete":
        google.delete_event(eid)
        ids.remove(eid)
    elif kind == "decline":
        google.patch_event(eid, {"attendees": [{"email": "bob@partner.example", "responseStatus": "accepted"},
                                               {"email": "alice@example.com", "responseStatus": "declined"}]})
    else:
        google.add_event(invitation("Elsewhere", at), calendar_id="other@example.com")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_changes_read_as_a_fresh_process_reads_them(google: FakeGoogle, env: dict[str, Any], tmp_path: Path,
                                                           fresh_memory: list[float], seed: int) -> None:
    rng = random.Random(seed)
    ids: list[str] = []
    for _ in range(3):
        edit(google, rng, ids)
    hours = 0.0
    assert cycle(google, env, hours) == fresh(google, env, tmp_path / "fresh", hours)
    for _ in range(10):
        for _ in range(rng.randrange(0, 3)):
            edit(google, rng, ids)
        hours += rng.choice([0.0, 1 / 60, 5.0, 30.0])
        fresh_memory[0] += rng.choice([60.0, 4000.0])
        kept = cycle(google, env, hours)
        assert kept == fresh(google, env, tmp_path / "fresh", hours)
        assert isinstance(kept, Snapshot)


def test_a_backend_with_its_own_cache_dir_shares_nothing(google: FakeGoogle, env: dict[str, Any], tmp_path: Path) -> None:
    google.add_event(invitation("Lunch", NOW + timedelta(days=1, hours=5)))
    assert summaries(cycle(google, env)) == {"Lunch"}
    b = make_backend(google, {**env, "dir": tmp_path / "elsewhere", "state": MemState()})
    assert isinstance(b, GoogleBackend) and b.cache_file != cache_file(env)
    assert summaries(b.snapshot(START, END, TZ)) == {"Lunch"}
    assert len(list((tmp_path / "elsewhere").glob("google-cache-*.json"))) == 1
    assert datetime.fromisoformat(json.loads(cache_file(env).read_text())["window"][0]) <= START
