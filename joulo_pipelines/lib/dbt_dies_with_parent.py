"""A dbt-duckdb plugin (profiles.yml `plugins:`) that makes dbt die with the process that started it.

dagster-dbt starts dbt with a plain Popen, which gives no preexec hook: dbt-duckdb loads this plugin in
dbt's own process before it opens the warehouse, and it arms the signal there (lib/parent_death.py). The
parent names itself in JOULO_DBT_PARENT_PID: `joulo run` when dbt is its own process, the fork server's
handler of the build when it is forked (lib/dbt_forkserver.py); dbt started any other way is left alone.
"""

from __future__ import annotations

import os
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from joulo_pipelines.lib.parent_death import die_with_parent

PARENT_PID_ENV = "JOULO_DBT_PARENT_PID"


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        parent = os.environ.get(PARENT_PID_ENV)
        if parent:
            die_with_parent(int(parent))
