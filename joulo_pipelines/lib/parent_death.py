"""A process that dies with its parent (Linux's PR_SET_PDEATHSIG): dbt with `joulo run`, `joulo-dbt` with the
run that started it. Killed (SIGKILL, the OOM killer, a container stop), a parent could not stop them itself,
and dbt would live on as an orphan, writing the warehouse and holding its lock while the next run starts."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Have the kernel send this process SIGKILL when `parent` (its parent now) dies; elsewhere than Linux,
    nothing. The signal follows the thread that started this process, which is the run's own."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the signal was armed: nobody will send it
        os.kill(os.getpid(), signal.SIGKILL)
