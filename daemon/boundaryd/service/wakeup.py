"""What wakes the daemon's main loop: signals and finished work, through one self-pipe.

Why a pipe and ``select`` (and no ``threading.Event``): a Python signal handler runs in the main
thread between two bytecodes of whatever that thread was doing. If the handler takes a lock (as
``Event.set()`` does, and logging does), and the main thread was holding that very lock (leaving
``Event.wait()``, inside ``Event.clear()``, halfway through a log line), the handler waits for its
own thread forever: the daemon stops answering signals, SIGTERM included, until systemd kills it.

Here nothing in a handler can block:

* ``signal.set_wakeup_fd`` makes CPython's C-level handler write the signal's number into our
  non-blocking pipe the moment the signal arrives (async-signal-safe, before any Python code);
* the Python-level handler (the daemon's) only assigns plain attributes: no lock, no log, no I/O;
* the loop waits in ``select`` on the pipe, with a timeout, and reads back which signals came.
  A thread that finished work writes a 0 byte (``poke``): a write to a non-blocking pipe never
  waits either (a full pipe already means "wake up").

The bytes and the flags are both kept: the byte is written before the Python-level handler runs,
so reading the bytes never misses a signal whose handler has not run yet, and the flags cover a
byte dropped on a full pipe. At worst a signal is seen twice (a second, harmless reload).
"""

from __future__ import annotations

import os
import select
import signal
import threading
from collections.abc import Callable, Iterable
from types import FrameType

Handler = Callable[[int, "FrameType | None"], None]


class Wakeup:
    """A non-blocking self-pipe: ``wait`` in the loop, ``poke`` from any thread."""

    def __init__(self) -> None:
        self._r, self._w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._old_fd: int | None = None

    def install(self, handler: Handler, signums: Iterable[int]) -> bool:
        """Route ``signums`` to ``handler`` and their numbers into the pipe (main thread only).

        Returns False (and installs nothing) in another thread: signals are the main thread's.
        The handlers stay in place after ``close``: a late SIGTERM or SIGHUP while the process
        exits then only sets a flag nobody reads, instead of killing it with the default action.
        """
        if threading.current_thread() is not threading.main_thread():
            return False
        for signum in signums:
            signal.signal(signum, handler)
        self._old_fd = signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
        return True

    def poke(self) -> None:
        """Wake the loop (any thread; never blocks)."""
        try:
            os.write(self._w, b"\0")
        except OSError:  # full (the loop will wake anyway) or closed (the loop is gone)
            pass

    def wait(self, timeout: float) -> set[int]:
        """Block until a signal, a poke or ``timeout`` seconds; the signal numbers that came."""
        try:
            ready, _, _ = select.select([self._r], [], [], max(timeout, 0.0))
        except ValueError:  # closed under us: nothing to wait for
            return set()
        return self.drain() if ready else set()

    def drain(self) -> set[int]:
        got: set[int] = set()
        while True:
            try:
                data = os.read(self._r, 4096)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            if not data:
                break
            got.update(data)
        got.discard(0)  # pokes
        return got

    def disarm(self) -> None:
        """Signals no longer write here (the handlers stay: see ``install``)."""
        if self._old_fd is not None:
            signal.set_wakeup_fd(self._old_fd)
            self._old_fd = None

    def close(self) -> None:
        """Disarm and close the pipe. Not while a thread may still ``poke``: a closed fd's number
        is soon another file's."""
        self.disarm()
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._r = self._w = -1
