from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from joulo_pipelines.defs.warehouse_project import dbt_project
from joulo_pipelines.lib.paths import DBT_EXECUTABLE, DataDir


class DataDirResource(dg.ConfigurableResource):
    """The platform's data dir. Unset, it follows JOULO_DATA_DIR (default ./data) at the time of use."""

    path: str | None = None

    @property
    def data_dir(self) -> DataDir:
        return DataDir(Path(self.path).resolve()) if self.path else DataDir.from_env()


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "data_dir": DataDirResource(),
            "dbt": DbtCliResource(
                project_dir=dbt_project,
                profiles_dir=str(dbt_project.profiles_dir),
                dbt_executable=str(DBT_EXECUTABLE),
            ),
        }
    )
