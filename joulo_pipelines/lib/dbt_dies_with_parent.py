"""A dbt-duckdb plugin (profiles.yml `plugins:`) that makes dbt die with the process that started it.

dagster-dbt starts dbt with a plain Popen: when `joulo run` is killed (SIGKILL, the OOM killer, a container
stop), dbt would live on as an orphan, writing the warehouse and holding its lock while the next run
starts. dbt-duckdb loads this plugin in dbt's own process before it opens the warehouse; the kernel then
sends dbt SIGKILL when its parent dies (Linux's PR_SET_PDEATHSIG, which dagster-dbt gives no preexec hook
for). The parent names itself in JOULO_DBT_PARENT_PID; dbt started any other way is left alone.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

PARENT_PID_ENV = "JOULO_DBT_PARENT_PID"
_PR_SET_PDEATHSIG = 1


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        parent = os.environ.get(PARENT_PID_ENV)
        if not parent or not sys.platform.startswith("linux"):
            return
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != int(parent):  # the parent died before the signal was armed: nobody will send it
            os.kill(os.getpid(), signal.SIGKILL)
