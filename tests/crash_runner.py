"""Run one sync and SIGKILL it at a named executor step: ``python crash_runner.py RULES STATE NOW STEP``.

The crash comes from the test's side of the executor's step hook; boundaryd itself has no switch.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime
from pathlib import Path

from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App


def main(rules_path: str, state: str, now: str, step: str) -> int:
    def hook(name: str) -> None:
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)

    app = App(Path(rules_path), Path(state), step=hook)
    app.sync(load_rules(rules_path), datetime.fromisoformat(now))
    return 0  # the step was never reached


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
