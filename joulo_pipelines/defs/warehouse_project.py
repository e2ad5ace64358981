"""The dbt project as Dagster sees it. Under `dagster dev` the manifest is parsed on load; elsewhere
(the CLI, tests, CI) `joulo_pipelines.lib.dbt_manifest.ensure_manifest()` has parsed it beforehand."""

from dagster_dbt import DbtProject

from joulo_pipelines.lib.dbt_manifest import target_dir
from joulo_pipelines.lib.paths import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=target_dir())
dbt_project.prepare_if_dev()
