"""Start-up: `boundaryd --help` loads click and the command line only, no client library or model.

Which modules a fresh interpreter imports is checked, not how long it takes (timings belong in bench/).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "googleapiclient",
    "google",
    "google_auth_oauthlib",
    "caldav",
    "icalendar",
    "recurring_ical_events",
    "x_wr_timezone",
    "pydantic",
    "yaml",
    "jinja2",
    "babel",
    "boundaryd.core.planner",
    "boundaryd.core.rules",
    "boundaryd.engine.app",
    "boundaryd.calendars",
)

EXAMPLE = Path(__file__).resolve().parent.parent / "rules" / "example.yaml"

_PROBE = """
import json, sys
from boundaryd.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _modules_after(*args: str) -> tuple[int, list[str]]:
    out = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True, timeout=60)
    last = json.loads(out.stdout.strip().splitlines()[-1])
    return int(last["code"]), list(last["modules"])


def _loaded(modules: list[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_help_imports_no_client_library_nor_the_rules_model() -> None:
    code, modules = _modules_after("--help")
    assert code == 0
    assert "click" in modules  # the probe did run the command line
    assert [h for h in HEAVY if _loaded(modules, h)] == []


def test_version_imports_no_client_library() -> None:
    code, modules = _modules_after("--version")
    assert code == 0
    assert [h for h in HEAVY if _loaded(modules, h)] == []


def test_check_imports_no_calendar_client() -> None:
    code, modules = _modules_after("check", str(EXAMPLE), "--now", "2026-11-23T07:00:00-05:00")
    assert code == 0
    assert _loaded(modules, "boundaryd.core.rules")  # it did read the rules
    # Babel is read to validate owner.locale (a bad locale is check's to report), nothing else heavy
    clients = ("googleapiclient", "google.auth", "caldav", "boundaryd.calendars", "boundaryd.engine")
    assert [c for c in clients if _loaded(modules, c)] == []
