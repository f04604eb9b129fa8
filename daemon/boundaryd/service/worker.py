"""One worker thread for the work that may block on the network (sync, digest, preview, notice).

Tasks run one at a time, in submission order, in one long-lived thread (the application's objects,
an SQLite connection among them, stay in one thread). The main loop submits, starts and collects;
the thread only runs ``func`` and pokes the loop when it is done, so a hung network call never
holds up the loop, its signals or its watchdog. The thread is a daemon thread: an abandoned task
(still running when the daemon stops) never delays the process's exit.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Task:
    name: str
    func: Callable[[], Any]
    done: Callable[[Task], None]
    started: float = 0.0
    finished: bool = False
    result: Any = None
    error: BaseException | None = None


class Worker:
    def __init__(self, poke: Callable[[], None]) -> None:
        self._poke = poke
        self._pending: deque[Task] = deque()
        self._jobs: queue.Queue[Task | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.current: Task | None = None

    def submit(self, name: str, func: Callable[[], Any], done: Callable[[Task], None]) -> None:
        self._pending.append(Task(name, func, done))

    def start_next(self, now: float) -> None:
        """Hand the next pending task to the thread when it is idle (main loop)."""
        if self.current is not None or not self._pending:
            return
        task = self._pending.popleft()
        task.started = now
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="boundaryd-worker", daemon=True)
            self._thread.start()
        self.current = task
        self._jobs.put(task)

    def collect(self) -> Task | None:
        """The current task if it has finished (and forget it), else None (main loop)."""
        task = self.current
        if task is None or not task.finished:
            return None
        self.current = None
        return task

    def busy_for(self, now: float) -> float:
        """Seconds the current task has been running (0 when idle)."""
        task = self.current
        return 0.0 if task is None or task.finished else now - task.started

    def stop(self) -> None:
        """Let the thread end after its current task (it never blocks the caller)."""
        self._pending.clear()
        if self._thread is not None:
            self._jobs.put(None)

    def _work(self) -> None:
        # signals are the main thread's business: never run even their C handler here (and threads
        # started from here inherit this mask)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
        while True:
            task = self._jobs.get()
            if task is None:
                return
            try:
                task.result = task.func()
            except BaseException as exc:  # noqa: BLE001 - handed to the main loop, never lost
                task.error = exc
            finally:
                task.finished = True
                self._poke()
