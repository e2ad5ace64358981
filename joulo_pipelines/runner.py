"""What the CLI and the benchmark run jobs with: the Definitions (after making sure dbt's manifest is
current) and the Dagster instance `make ui` uses. Dagster is imported on first use: the CLI's quick
commands (status, reports of a single partner...) should not pay for it."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg


@cache  # loading them (and parsing dbt's manifest) takes seconds; one process needs them once
def definitions() -> dg.Definitions:
    from joulo_pipelines.lib.dbt_manifest import ensure_manifest

    ensure_manifest()
    from joulo_pipelines.definitions import defs

    return defs()


def instance() -> dg.DagsterInstance:
    import dagster as dg

    from joulo_pipelines.lib import dagster_home

    # The same instance config as `make ui`: Postgres when DAGSTER_PG_* says so, the warehouse pool.
    dagster_home.install(dagster_home.dagster_home())
    return dg.DagsterInstance.get()
