"""Run one sync and SIGKILL it at a named executor step: ``python crash_runner.py RULES STATE NOW STEP [EVERY]``.

The crash comes from the test's side of the executor's step hook; boundaryd itself has no switch.
Each step's name is printed as it passes (STEP ``-``: never killed, the list of a whole sync).
With EVERY, the ICS calendar writes as it goes, each write flushed when made (as a CalDAV server's
are: ``writes_when_made``), and the executor commits the ends of its actions every EVERY actions:
a sync with more actions than that journals them in several batches.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from boundaryd.core.rules import load_rules
from boundaryd.engine.app import App


class WritesWhenMade:
    """A backend with every write made durable at once (the inner one's ``flush`` after each)."""

    writes_when_made = True

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _now(self, name: str, *args: Any, **kwargs: Any) -> None:
        getattr(self._inner, name)(*args, **kwargs)
        self._inner.flush()

    def put_block(self, *a: Any) -> None:
        self._now("put_block", *a)

    def delete_block(self, *a: Any) -> None:
        self._now("delete_block", *a)

    def decline(self, *a: Any, **kw: Any) -> None:
        self._now("decline", *a, **kw)

    def answer(self, *a: Any) -> None:
        self._now("answer", *a)

    def flag(self, *a: Any) -> None:
        self._now("flag", *a)

    def unflag(self, *a: Any) -> None:
        self._now("unflag", *a)


def main(rules_path: str, state: str, now: str, step: str, every: str = "") -> int:
    def hook(name: str) -> None:
        print(name, flush=True)
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)

    app = App(Path(rules_path), Path(state), step=hook)
    rules = load_rules(rules_path)
    ex = app.executor(rules)
    if every:
        ex.backend = WritesWhenMade(ex.backend)
        ex.every, ex.seconds = int(every), float("inf")  # by count only: the same batches on every run
    app.sync(rules, datetime.fromisoformat(now), ex)
    return 0  # the step was never reached


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))
