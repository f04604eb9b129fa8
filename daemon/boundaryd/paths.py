"""Where boundaryd looks for its rules and keeps its state, from the environment (XDG)."""

from __future__ import annotations

import os
from pathlib import Path


def default_rules_path() -> Path:
    if os.environ.get("BOUNDARYD_RULES"):
        return Path(os.environ["BOUNDARYD_RULES"]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "boundaryd" / "rules.yaml"


def default_state_dir() -> Path:
    for var in ("BOUNDARYD_STATE", "STATE_DIRECTORY"):
        if os.environ.get(var):
            return Path(os.environ[var].split(":")[0]).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "boundaryd"
