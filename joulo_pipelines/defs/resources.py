from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging.version import Version

from joulo_pipelines.defs.warehouse_project import dbt_project
from joulo_pipelines.lib import dbt_forkserver
from joulo_pipelines.lib.paths import DataDir


class DataDirResource(dg.ConfigurableResource):
    """The platform's data dir. Unset, it follows JOULO_DATA_DIR (default ./data) at the time of use."""

    path: str | None = None

    @property
    def data_dir(self) -> DataDir:
        return DataDir(Path(self.path).resolve()) if self.path else DataDir.from_env()


class WarehouseDbt(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two start-up costs paid for nothing on every quarter run (a few
    seconds of CPU each, a sixth of a small quarter's build): it runs `dbt --version` in a subprocess to
    learn which dbt it will run, while ours is the dbt-core package of this environment (pinned in
    pyproject.toml); and it opens a dbt adapter that only fetching row counts or column metadata uses, and
    the warehouse asset fetches neither. Both are dagster-dbt internals: tests/test_definitions.py fails if
    an upgrade renames them, instead of this quietly doing nothing."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "data_dir": DataDirResource(),
            "dbt": WarehouseDbt(
                project_dir=dbt_project,
                profiles_dir=str(dbt_project.profiles_dir),
                dbt_executable=str(dbt_forkserver.CLIENT),  # dbt, forked from this process's server
            ),
        }
    )
