"""Worker processes that end with their parent: a batch killed with SIGKILL leaves no worker running.

On Linux the kernel does it (prctl PR_SET_PDEATHSIG: SIGKILL when the parent dies); everywhere a
watchdog thread ends the process when its parent process id changes (the parent died and the worker
was re-parented).
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.5


def _kernel_kills_on_parent_death() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere or without libc)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _watch(parent_pid: int, poll_seconds: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_seconds)
    os._exit(1)


def die_with_parent(parent_pid: int, poll_seconds: float = POLL_SECONDS) -> None:
    """Make this process end when the process ``parent_pid`` ends (a process pool's initializer)."""
    _kernel_kills_on_parent_death()
    if os.getppid() != parent_pid:      # the parent died before the request took effect
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid, poll_seconds), daemon=True,
                     name="henderson-lifeline").start()
