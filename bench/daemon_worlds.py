"""The calendars bench/daemon_cycle_bench.py runs the daemon on, each with its way for someone else
to change one event and its count of the requests the daemon made.

The calendar is plan_bench's generated busy professional's calendar, made around the wall clock (the
daemon reads it with its own clock). ``ics:`` is a file; Google and Microsoft are the tests' local
API stand-ins (tests/fake_google.py, tests/fake_graph.py), loaded with the same events; Radicale a
real server started here, one resource per UID. Only the stand-ins' own speed is helped here (no
delayed-ACK wait, expansions remembered), never what the daemon does.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT / "bench", ROOT / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

TZ = ZoneInfo("America/Toronto")
OWNER = "alice@example.com"
SIZES = {50: (5, 45), 5500: (500, 5000), 22000: (2000, 20000)}  # (recurring series, single events)


def calendar_now() -> datetime:
    return datetime.now(TZ).replace(second=0, microsecond=0)


def generate_around(now: datetime, size: int) -> bytes:
    """plan_bench's busy professional's calendar, around ``now`` (the daemon's wall clock)."""
    import plan_bench

    series, singles = SIZES.get(size, (size // 11, size - size // 11))
    plan_bench.NOW = now
    return plan_bench.generate(series, singles)


def vevents(data: bytes) -> list[Any]:
    import icalendar

    return list(icalendar.Calendar.from_ical(data).walk("VEVENT"))


def window_singles(events: list[Any], now: datetime) -> list[Any]:
    """The single, timed, confirmed events of the window's days 1-13: the ones someone else edits."""
    out = []
    for ev in events:
        start = ev.decoded("DTSTART")
        if ev.get("RRULE") or not isinstance(start, datetime) or str(ev.get("STATUS", "")) == "CANCELLED":
            continue
        aware = start if start.tzinfo else start.replace(tzinfo=TZ)
        if now + timedelta(days=1) <= aware <= now + timedelta(days=13) and str(ev["UID"]).startswith("d"):
            out.append(ev)
    return out


def by_uid(events: list[Any]) -> dict[str, list[Any]]:
    """The calendar's VEVENTs by UID, the master (no RECURRENCE-ID) first."""
    groups: dict[str, list[Any]] = {}
    for ev in events:
        groups.setdefault(str(ev["UID"]), []).append(ev)
    return {u: sorted(evs, key=lambda e: e.get("RECURRENCE-ID") is not None) for u, evs in groups.items()}


class IcsWorld:
    name, network = "ics", False

    def __init__(self, root: Path, data: bytes, targets: list[Any]) -> None:
        self.path = root / "calendar.ics"
        self.path.write_bytes(data)
        self.uids = [str(ev["UID"]).split("@")[0] for ev in targets]
        self.env: dict[str, str] = {}

    def calendar_yaml(self) -> str:
        return f"  ics: {{path: {self.path}}}"

    def requests(self) -> int:
        return 0

    def edit(self, i: int) -> None:
        """Someone else changes one event's title (another event each time), as cycle_bench does."""
        data = self.path.read_bytes()
        for uid in self.uids[i:] + self.uids[:i]:
            plain, marked = f"SUMMARY:Meeting {uid}\r\n".encode(), f"SUMMARY:Meeting {uid}x\r\n".encode()
            for old, new in ((plain, marked), (marked, plain)):
                if old in data:
                    self.path.write_bytes(data.replace(old, new, 1))
                    return
        raise RuntimeError("no event left to edit in the window")

    def close(self) -> None:
        pass


def _local(body: dict[str, Any]) -> dict[str, Any]:
    """Floating times as the owner's local time (the Calendar API wants an offset on every dateTime)."""
    for key in ("start", "end"):
        edt = body[key]
        if "dateTime" in edt and datetime.fromisoformat(edt["dateTime"]).tzinfo is None:
            body[key] = {"dateTime": datetime.fromisoformat(edt["dateTime"]).replace(tzinfo=TZ).isoformat(), "timeZone": TZ.key}
    return body


def _memo_expansion(fake: Any) -> None:
    """The stand-in expands every series on every incremental read (seconds at 500 series, more than
    the interval): remember each expansion by the series' version. The stand-in never changes an
    instance it is handed (it copies before patching, and deep-copies what it answers)."""
    expand, memo = fake._series_instances, {}

    def cached(master: dict[str, Any], mid: str, lo: datetime | None, hi: datetime | None) -> list[dict[str, Any]]:
        key = (mid, master.get("_seq"), json.dumps([master.get("start"), master.get("end"), master.get("recurrence")]), lo, hi)
        if key not in memo:
            memo[key] = expand(master, mid, lo, hi)
        return list(memo[key])

    fake._series_instances = cached


class GoogleWorld:
    """The local Calendar API (plain HTTP on 127.0.0.1) and its OAuth endpoints (HTTPS, a test CA)."""

    name, network = "google", True

    def __init__(self, root: Path, events: list[Any], targets: list[Any], now: datetime) -> None:
        import fake_google
        from contract_servers import google_body
        from fake_google import FakeGoogle, FakeOAuth, Invalid, write_token_file

        # headers and body go out in two writes: without TCP_NODELAY each answer waits ~40 ms for a delayed ACK
        fake_google._Handler.disable_nagle_algorithm = fake_google._OAuthHandler.disable_nagle_algorithm = True
        # the stand-in expands series up to expand_until on every incremental read: keep it near the window
        self.fake = FakeGoogle(account=OWNER, expand_until=now + timedelta(days=45)).start()
        _memo_expansion(self.fake)
        self.oauth = FakeOAuth(self.fake).start(root / "ca.pem")
        (root / "state").mkdir()
        self.token = root / "state" / "google-token.json"
        write_token_file(self.token, self.oauth)
        self.env = {"REQUESTS_CA_BUNDLE": str(self.oauth.ca_file)}
        ids: dict[str, str] = {}
        for uid, (master, *overrides) in by_uid(events).items():
            ids[uid] = self.fake.add_event(_local(google_body(master)))["id"]
            for ov in overrides:
                rid = ov.decoded("RECURRENCE-ID")
                rid = rid.replace(tzinfo=TZ) if isinstance(rid, datetime) and rid.tzinfo is None else rid
                suffix = f"{rid:%Y%m%d}" if not isinstance(rid, datetime) else f"{rid.astimezone(ZoneInfo('UTC')):%Y%m%dT%H%M%SZ}"
                try:
                    self.fake.patch_event(f"{ids[uid]}_{suffix}", {k: v for k, v in _local(google_body(ov)).items()
                                                                    if k not in ("iCalUID", "recurrence")})
                except (Invalid, KeyError):
                    pass  # an override of an instance the stand-in does not expand (past its horizon)
        self.targets = [ids[str(ev["UID"])] for ev in targets]

    def calendar_yaml(self) -> str:
        return f'  google: {{calendar_id: primary, token_file: {self.token}, api_endpoint: "{self.fake.api_endpoint}"}}'

    def requests(self) -> int:
        return len(self.fake.requests) + len(self.oauth.token_requests)

    def edit(self, i: int) -> None:
        eid = self.targets[i % len(self.targets)]
        title = str(self.fake.get_event(eid).get("summary", ""))
        self.fake.patch_event(eid, {"summary": title[:-1] if title.endswith("x") else title + "x"})

    def close(self) -> None:
        self.oauth.stop()
        self.fake.stop()


def _memo_instances(store: Any) -> None:
    """The Graph stand-in expands a series (a deep copy of the master per occurrence) on every request
    that names an occurrence, several times: seconds per cycle at 500 series. Remember each expansion
    by everything it is made of (the master's version, its exceptions and deletions, the range); the
    stand-in never changes what ``instances`` hands out (it copies what it answers)."""
    expand, memo = store.instances, {}

    def cached(master: dict[str, Any], lo: datetime | None, hi: datetime | None) -> list[dict[str, Any]]:
        mid = master["id"]
        mine = sorted((k, v) for k, v in store.overrides.items() if k.startswith(mid + "_"))
        key = (mid, master.get("changeKey"), lo, hi, json.dumps(mine, sort_keys=True, default=str),
               tuple(sorted(store.cancelled.get(mid, ()))))
        if key not in memo:
            memo[key] = expand(master, lo, hi)
        return list(memo[key])

    store.instances = cached


class GraphWorld:
    """The local Microsoft Graph and identity endpoints (HTTPS, a test CA), signed in by MSAL's device code."""

    name, network = "microsoft", True

    def __init__(self, root: Path, events: list[Any], targets: list[Any], now: datetime) -> None:
        import fake_graph
        import fake_graph_store
        from contract_graph import graph_body
        from fake_graph import CLIENT_ID, FakeGraph, sign_in
        from fake_graph_store import stamp

        fake_graph._Handler.disable_nagle_algorithm = True  # as for Google: no 40 ms wait per answer
        fake_graph_store.EXPAND_UNTIL = now + timedelta(days=45)  # it expands every series to there on every read
        self.fake = FakeGraph(account=OWNER).start(root / "ca.pem")
        _memo_instances(self.fake.store)
        self.client_id = CLIENT_ID
        (root / "state").mkdir()
        self.token = root / "state" / "microsoft-token.json"
        from boundaryd.calendars import graph_auth

        graph_auth.VERIFY = str(self.fake.ca_file)
        sign_in(self.fake, self.token)
        self.env = {"REQUESTS_CA_BUNDLE": str(self.fake.ca_file)}
        ids: dict[str, str] = {}
        store = self.fake.store
        with self.fake.lock:
            for uid, (master, *overrides) in by_uid(events).items():
                body = graph_body(master)
                body.pop("iCalUId")
                org = str(master.get("ORGANIZER", "mailto:" + OWNER)).removeprefix("mailto:")
                try:
                    ev = store.create(body, {"emailAddress": {"address": org}})
                except Exception:  # noqa: BLE001 - a shape the stand-in refuses (e.g. a floating series): left out
                    continue
                ev["iCalUId"] = uid
                ids[uid] = ev["id"]
                ex = master.get("EXDATE")
                for group in ex if isinstance(ex, list) else [ex] if ex is not None else []:
                    for d in (d for d in group.dts if isinstance(d.dt, datetime)):
                        store.cancelled.setdefault(ev["id"], set()).add(f"{ev['id']}_{stamp(d.dt)}")
                for ov in overrides:
                    rid = ov.decoded("RECURRENCE-ID")
                    if isinstance(rid, datetime):  # an all-day series' moved day: left out
                        fields = {k: v for k, v in graph_body(ov).items() if k not in ("iCalUId", "recurrence")}
                        store.overrides[f"{ev['id']}_{stamp(rid)}"] = fields
        self.targets = [ids[str(ev["UID"])] for ev in targets if str(ev["UID"]) in ids]

    def calendar_yaml(self) -> str:
        f = self.fake
        return (f"  microsoft: {{calendar: primary, client_id: {self.client_id}, token_file: {self.token}, "
                f'authority: "{f.authority}", api_endpoint: "{f.api_endpoint}"}}')

    def requests(self) -> int:
        return len(self.fake.requests) + len(self.fake.identity.grants)

    def edit(self, i: int) -> None:
        eid = self.targets[i % len(self.targets)]
        with self.fake.lock:
            title = str(self.fake.store.events[eid].get("subject", ""))
            self.fake.store.patch(eid, {"subject": title[:-1] if title.endswith("x") else title + "x"})

    def close(self) -> None:
        self.fake.stop()


class RadicaleWorld:
    """A real Radicale (127.0.0.1), one resource per UID (with its VTIMEZONEs), reached through the
    tests' FaultProxy, which counts the daemon's requests; someone else's edits go to Radicale directly."""

    name, network = "radicale", True

    def __init__(self, root: Path, events: list[Any], targets: list[Any], now: datetime) -> None:
        from concurrent.futures import ThreadPoolExecutor

        import icalendar

        from caldav_servers import FaultProxy
        from dav_servers import start_radicale

        self.server = start_radicale(root / "server")
        self.proxy = FaultProxy(int(self.server.root.rsplit(":", 1)[1].strip("/")))
        zones = list(icalendar.Calendar.from_ical((root / "floor.ics").read_bytes()).walk("VTIMEZONE"))
        self.texts: dict[str, bytes] = {}
        for uid, evs in by_uid(events).items():
            one = icalendar.Calendar()
            one.add("PRODID", "-//boundaryd bench//EN")
            one.add("VERSION", "2.0")
            one.subcomponents = [*zones, *evs]
            self.texts[uid.split("@")[0] + ".ics"] = one.to_ical()
        (root / "resources").mkdir()
        for name, text in self.texts.items():
            (root / "resources" / name).write_bytes(text)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda kv: self._put(*kv), self.texts.items()))
        self.targets = [str(ev["UID"]).split("@")[0] + ".ics" for ev in targets]
        self.env: dict[str, str] = {}

    def _put(self, name: str, text: bytes) -> None:
        from dav_servers import put_event

        if put_event(self.server, name, text) not in (200, 201, 204):
            raise RuntimeError(f"Radicale refused {name}")

    def calendar_yaml(self) -> str:
        return f"  caldav: {{url: {self.proxy.url_for(self.server)}}}"

    def requests(self) -> int:
        return len(self.proxy.requests)

    def edit(self, i: int) -> None:
        name = self.targets[i % len(self.targets)]
        uid = name.removesuffix(".ics")
        text = self.texts[name]
        plain, marked = f"SUMMARY:Meeting {uid}\r\n".encode(), f"SUMMARY:Meeting {uid}x\r\n".encode()
        self.texts[name] = text.replace(plain, marked) if plain in text else text.replace(marked, plain)
        self._put(name, self.texts[name])

    def close(self) -> None:
        self.proxy.close()
        self.server.stop()


WORLDS: dict[str, Any] = {"ics": IcsWorld, "google": GoogleWorld, "microsoft": GraphWorld, "radicale": RadicaleWorld}
FLOOR_OF = {"radicale": "resources"}  # the floor parses what the backend holds: here each resource on its own
