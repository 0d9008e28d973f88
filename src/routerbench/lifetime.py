"""Child processes that end with the process that started them, however it ends.

A child blocked on a pipe or a queue would otherwise outlive a SIGKILL of its parent
(nothing closes what it waits on). Shared by the experiment executor's workers and the
serving process's ranking child; a leaf module so both can import it cheaply.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

__all__ = ["WATCHDOG_INTERVAL_S", "exit_with_parent"]

#: How often a child checks that the process that started it is still alive.
WATCHDOG_INTERVAL_S = 0.2


def exit_with_parent(parent: int) -> None:
    """Make this process end when `parent` dies.

    On Linux the kernel sends SIGKILL at the parent's death (``PR_SET_PDEATHSIG``);
    everywhere a daemon thread also polls the parent pid and exits when it changes.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCHDOG_INTERVAL_S)
        os._exit(1)

    if os.getppid() != parent:  # died before the signal was armed
        os._exit(1)
    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
