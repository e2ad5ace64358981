import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from joulo_pipelines.defs.owners import DATA_TEAM
from joulo_pipelines.defs.partitions import ONE_PARTITION_PER_RUN, quarterly_partitions
from joulo_pipelines.defs.pools import WAREHOUSE_POOL
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.defs.warehouse_project import dbt_project
from joulo_pipelines.lib import clock, dbt_forkserver
from joulo_pipelines.lib.dbt_dies_with_parent import PARENT_PID_ENV
from joulo_pipelines.lib.dbt_manifest import describe_dbt_test, seed_partial_parse
from joulo_pipelines.lib.landing import ensure_landing_schemas, land_consent_texts, land_partner_registry
from joulo_pipelines.lib.partners import load_registry
from joulo_pipelines.lib.log_scrub import errors_scrubbed, stdout_scrubbed


def layer_of(props: Mapping[str, Any]) -> str:
    """The UI's group of a dbt node: its layer (the first folder under models/: staging, intermediate,
    marts, reference), but the eligibility models of every layer together, beside the eligibility exports;
    seeds are reference data. Only the group: asset keys stay schema/name, which jobs and checks select."""
    if props["resource_type"] == "seed":
        return "reference"
    folders = props["fqn"][1:-1]
    return "eligibility" if "eligibility" in folders else folders[0]


class WarehouseTranslator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source" and props["source_name"] == "landing":
            return spec.replace_attributes(key=dg.AssetKey(["landing", props["name"]]))
        return spec.replace_attributes(group_name=layer_of(props), owners=DATA_TEAM)

    def get_asset_check_spec(self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str,
                             project) -> dg.AssetCheckSpec | None:
        check = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if check is None or check.description:
            return check
        return check._replace(description=describe_dbt_test(manifest["nodes"][unique_id]))  # a record: no setter

    def get_partition_mapping(self, dbt_resource_props: Mapping[str, Any],
                              dbt_parent_resource_props: Mapping[str, Any]) -> dg.PartitionMapping | None:
        """Every quarter reads all of a source that is partitioned otherwise (the OCPI pull is partitioned
        by partner): what landed is filtered by time inside the models, not by Dagster's partitions."""
        if dbt_parent_resource_props.get("resource_type") == "source":
            return dg.AllPartitionMapping()
        return super().get_partition_mapping(dbt_resource_props, dbt_parent_resource_props)


# A run with this tag ("true") rebuilds the models incremental by delivery whole (`joulo run --full-refresh`).
FULL_REFRESH_TAG = "joulo/full_refresh"
# Left in the data dir's dbt target by a whole build that succeeded: the models incremental by delivery
# compare with what that build was made of; after a failed build (a model built, the next not), a build of
# some of the models, or none, the next is a full one.
LAST_BUILD_OK = "last_build_succeeded"


def dbt_build_args(full_refresh: bool) -> list[str]:
    """dbt build's arguments. --full-refresh rebuilds the models incremental by delivery; the marts that
    keep every quarter (full_refresh=false) keep them. --no-write-json: no manifest.json (twice),
    run_results.json or graph.gpickle in the data dir's target, which nobody reads (Dagster follows the build
    in its log lines, the definitions read dbt_manifest.target_dir()'s manifest), ~0.6 s CPU of a small
    quarter's ~8.5; dbt's record of its parse, partial_parse.msgpack, is written all the same."""
    return ["build", "--no-write-json", "--exclude-resource-type", "unit_test",
            *(["--full-refresh"] if full_refresh else [])]


def dbt_env_for(window: dg.TimeWindow) -> dict[str, str]:
    """The quarter as the half-open window of Europe/Amsterdam dates the models filter on, and the one clock
    (timestamps after it are "in the future"). Environment variables rather than dbt --vars: dbt then
    re-parses only the models that read one that changed, not the whole project (dbt_project/macros)."""
    return {"JOULO_QUARTER_START": window.start.date().isoformat(),
            "JOULO_QUARTER_END": window.end.date().isoformat(), "JOULO_BUILD_AS_OF": clock.now().isoformat()}


# dbt's own log file (the data dir's dbt_target/dbt.log) at info, its messages as Dagster shows them. At
# debug it holds every statement dbt sends and each connection opened and closed: ~10 MB of JSON lines for a
# small quarter, ~0.6 s of its ~7 s of CPU. DBT_LOG_LEVEL_FILE=debug in the run's environment brings the
# statements back, to look into a build.
DBT_FILE_LOG_LEVEL = "info"


def dbt_log_env() -> dict[str, str]:
    return {"DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE", DBT_FILE_LOG_LEVEL)}


@contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    """These variables set for what starts meanwhile (dbt takes a copy of this process's environment), and
    given back after: left set, they would outlive the build and override the vars of any dbt this process
    starts later (a unit test's, a build by hand)."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    partitions_def=quarterly_partitions,
    dagster_dbt_translator=WarehouseTranslator(),
    pool=WAREHOUSE_POOL,
    # The models build one quarter per invocation (quarter_start/end vars); dagster-dbt's default would
    # build a backfill's whole range in one run.
    backfill_policy=ONE_PARTITION_PER_RUN,
)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, data_dir: DataDirResource):
    folder = data_dir.data_dir.ensure()
    ensure_landing_schemas(folder)
    land_partner_registry(folder, load_registry(folder.partners_file))
    land_consent_texts(folder)
    folder.export_env()
    os.environ[PARENT_PID_ENV] = str(os.getpid())  # dbt dies with this process (lib/dbt_dies_with_parent)
    # Unit tests check the SQL, not the data: they run in the test suite (and `dbt test`), not in every
    # quarter's build, where they cost a fixed ~20 s.
    # dbt's messages quote values and the warehouse's absolute path; Dagster gets them scrubbed.
    with errors_scrubbed(folder.root), stdout_scrubbed(folder.root):
        # The data dir's own dbt target, kept between its builds: dbt's record of its last parse is there, so
        # the next build parses only what changed (dagster-dbt's default is a new folder per build).
        seed_partial_parse(folder.dbt_target)
        succeeded = folder.dbt_target / LAST_BUILD_OK
        full_refresh = context.run.tags.get(FULL_REFRESH_TAG) == "true" or not succeeded.exists()
        succeeded.unlink(missing_ok=True)
        with _environment({**dbt_env_for(context.partition_time_window), **dbt_log_env(),
                           **dbt_forkserver.environment()}):
            build = dbt.cli(dbt_build_args(full_refresh), context=context, target_path=folder.dbt_target)
        yield from build.stream()
        if not context.is_subset:  # a part of the models built: the others are behind what was recorded
            succeeded.touch()
