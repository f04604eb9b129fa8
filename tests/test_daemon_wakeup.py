"""The daemon's self-pipe: signals and pokes wake the loop; handlers take no lock (issue 17)."""

from __future__ import annotations

import subprocess
import sys

from test_daemon_helpers import base_env

SNIPPET = r"""
import os, signal, threading, time
from boundaryd.service.wakeup import Wakeup

w = Wakeup()
seen = []
def handler(signum, frame):
    seen.append(signum)  # what a handler may do: remember, nothing else
assert w.install(handler, (signal.SIGTERM, signal.SIGHUP))

t0 = time.monotonic()
assert w.wait(0.2) == set() and time.monotonic() - t0 >= 0.19  # nothing came: the timeout
os.kill(os.getpid(), signal.SIGHUP)
os.kill(os.getpid(), signal.SIGTERM)
print("signals", sorted(w.wait(5)) == sorted([signal.SIGHUP, signal.SIGTERM]), sorted(seen) == sorted([1, 15]))

# a signal that lands while the main thread holds a plain lock (as Event.wait() does on its way
# out): the handler must not need it, and the loop learns of the signal from the pipe
lock = threading.Lock()
with lock:
    os.kill(os.getpid(), signal.SIGHUP)
    for _ in range(1000):
        pass
print("under a lock", w.wait(5) == {signal.SIGHUP})

# a poke from another thread wakes the wait, and is not a signal
# (a thread that sleeps, not threading.Timer: under libfaketime a timed Event.wait never times out)
threading.Thread(target=lambda: (time.sleep(0.1), w.poke())).start()
t0 = time.monotonic()
print("poke", w.wait(5) == set() and time.monotonic() - t0 < 4)

# a thread can not install the handlers (signals are the main thread's)
out = []
th = threading.Thread(target=lambda: out.append(Wakeup().install(handler, (signal.SIGHUP,))))
th.start(); th.join()
print("thread", out == [False])
w.close()
print("closed", signal.set_wakeup_fd(-1) == -1)
"""


def test_signals_and_pokes_wake_the_loop_and_handlers_need_no_lock() -> None:
    out = subprocess.run([sys.executable, "-c", SNIPPET], env=base_env(None), capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:-1] == [
        "signals True True", "under a lock True", "poke True", "thread True", "closed True",
    ], out.stdout + out.stderr
