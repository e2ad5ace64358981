import json
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from joulo_pipelines.defs.partitions import quarterly_partitions
from joulo_pipelines.defs.pools import WAREHOUSE_POOL
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.defs.warehouse_project import dbt_project
from joulo_pipelines.lib import clock
from joulo_pipelines.lib.dbt_dies_with_parent import PARENT_PID_ENV
from joulo_pipelines.lib.landing import ensure_landing_schemas, land_consent_texts, land_partner_registry
from joulo_pipelines.lib.partners import load_registry
from joulo_pipelines.lib.log_scrub import errors_scrubbed, stdout_scrubbed


class WarehouseTranslator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source" and props["source_name"] == "landing":
            return spec.replace_attributes(key=dg.AssetKey(["landing", props["name"]]))
        return spec.replace_attributes(group_name="warehouse")

    def get_partition_mapping(self, dbt_resource_props: Mapping[str, Any],
                              dbt_parent_resource_props: Mapping[str, Any]) -> dg.PartitionMapping | None:
        """Every quarter reads all of a source that is partitioned otherwise (the OCPI pull is partitioned
        by partner): what landed is filtered by time inside the models, not by Dagster's partitions."""
        if dbt_parent_resource_props.get("resource_type") == "source":
            return dg.AllPartitionMapping()
        return super().get_partition_mapping(dbt_resource_props, dbt_parent_resource_props)


def dbt_vars_for(window: dg.TimeWindow) -> dict[str, str]:
    """The quarter as the half-open window of Europe/Amsterdam dates the models filter on."""
    return {"quarter_start": window.start.date().isoformat(), "quarter_end": window.end.date().isoformat()}


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    partitions_def=quarterly_partitions,
    dagster_dbt_translator=WarehouseTranslator(),
    pool=WAREHOUSE_POOL,
    # The models build one quarter per invocation (quarter_start/end vars); dagster-dbt's default would
    # build a backfill's whole range in one run.
    backfill_policy=dg.BackfillPolicy.multi_run(1),
)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, data_dir: DataDirResource):
    folder = data_dir.data_dir.ensure()
    ensure_landing_schemas(folder)
    land_partner_registry(folder, load_registry(folder.partners_file))
    land_consent_texts(folder)
    folder.export_env()
    os.environ[PARENT_PID_ENV] = str(os.getpid())  # dbt dies with this process (lib/dbt_dies_with_parent)
    # The one clock reaches SQL as a var: "timestamps in the future" means after it.
    dbt_vars = {**dbt_vars_for(context.partition_time_window), "as_of": clock.now().isoformat()}
    # Unit tests check the SQL, not the data: they run in the test suite (and `dbt test`), not in every
    # quarter's build, where they cost a fixed ~20 s.
    # dbt's messages quote values and the warehouse's absolute path; Dagster gets them scrubbed.
    with errors_scrubbed(folder.root), stdout_scrubbed(folder.root):
        yield from dbt.cli(["build", "--exclude-resource-type", "unit_test", "--vars", json.dumps(dbt_vars)],
                           context=context).stream()
