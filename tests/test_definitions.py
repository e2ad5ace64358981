import json


def test_definitions_load_with_the_jobs_sensor_and_quarterly_marts(definitions):
    keys = {key.to_user_string() for key in definitions.resolve_asset_graph().get_all_asset_keys()}
    assert {"landing/sessions", "marts/fct_charging_sessions", "marts/fct_ean_quarter_energy"} <= keys
    assert definitions.resolve_sensor_def("inbox_sensor").job_name == "ingest_job"
    quarter_job = definitions.resolve_job_def("quarter_job")
    assert quarter_job.partitions_def.get_partition_keys()[:2] == ["2026-01-01", "2026-04-01"]


def test_every_partitioned_asset_builds_one_partition_per_run(definitions):
    """A backfill of several quarters (years, OCPI partners) is a run for each, as every asset reads the one
    partition key of its run; an asset without the policy would also make Dagster warn of quarter_job."""
    from joulo_pipelines.defs.partitions import ONE_PARTITION_PER_RUN

    partitioned = [assets for assets in definitions.resolve_asset_graph().assets_defs if assets.partitions_def]
    assert len(partitioned) > 10
    assert {key.to_user_string() for assets in partitioned if assets.backfill_policy != ONE_PARTITION_PER_RUN
            for key in assets.keys} == set()


def test_dbt_gets_the_quarter_as_local_dates_and_the_one_clock(monkeypatch):
    from joulo_pipelines.defs.partitions import quarterly_partitions
    from joulo_pipelines.defs.warehouse.assets import dbt_env_for

    monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
    window = quarterly_partitions.time_window_for_partition_key("2026-10-01")
    assert dbt_env_for(window) == {"JOULO_QUARTER_START": "2026-10-01", "JOULO_QUARTER_END": "2027-01-01",
                                   "JOULO_BUILD_AS_OF": "2027-01-14T23:00:00+00:00"}


def test_dbts_log_file_is_at_info_unless_the_runs_environment_asks_for_debug(monkeypatch):
    from joulo_pipelines.defs.warehouse.assets import dbt_log_env

    monkeypatch.delenv("DBT_LOG_LEVEL_FILE", raising=False)
    assert dbt_log_env() == {"DBT_LOG_LEVEL_FILE": "info"}
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")
    assert dbt_log_env() == {"DBT_LOG_LEVEL_FILE": "debug"}


def test_the_dbt_resource_knows_the_dbt_it_runs_without_asking_it_and_opens_no_adapter(definitions):
    """WarehouseDbt replaces two dagster-dbt internals; if an upgrade renames or stops calling them, the
    override would quietly do nothing (and dbt would be asked again on every quarter run)."""
    import inspect
    import re
    import subprocess

    from dagster_dbt import DbtCliResource
    from packaging.version import Version

    from joulo_pipelines.lib.paths import DBT_EXECUTABLE

    cli_source = inspect.getsource(DbtCliResource.cli)
    assert "self._cli_version" in cli_source and "self._initialize_dbt_core_adapter(" in cli_source
    resource = definitions.resources["dbt"]
    asked = subprocess.run([str(DBT_EXECUTABLE), "--version"], capture_output=True, text=True, check=True).stdout
    assert resource._cli_version == Version(re.search(r"installed: (\d+\.\d+\.\d+)", asked).group(1))
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_the_ui_shows_every_asset_in_a_layer_with_owners_and_kinds_and_every_automation_described(definitions):
    graph = definitions.resolve_asset_graph()
    assets = [graph.get(key) for key in graph.get_all_asset_keys() if graph.get(key).is_materializable]
    assert [node.key.to_user_string() for node in assets
            if node.group_name == "default" or not node.owners or not node.kinds] == []
    # The dbt models by layer, their keys unchanged (jobs and checks select marts/..., intermediate/...).
    groups = {node.key.to_user_string(): node.group_name for node in assets}
    assert groups["staging/stg_landing__sessions"] == "staging"
    assert groups["intermediate/int_sessions_cleaned"] == "intermediate"
    assert groups["marts/fct_ean_quarter_energy"] == "marts"
    assert groups["marts/fct_charge_point_eligibility"] == groups["intermediate/int_customer_checks"] == "eligibility"
    assert "warehouse" not in groups.values()
    quarter_job = definitions.resolve_job_def("quarter_job")
    in_quarter_job = {key.to_user_string() for key in quarter_job.asset_layer.selected_asset_keys}
    assert {"staging/stg_landing__sessions", "marts/fct_ean_quarter_energy", "exports/reports"} <= in_quarter_job
    undescribed = [f"sensor {s.name}" for s in definitions.sensors if not s.description]
    undescribed += [f"schedule {s.name}" for s in definitions.schedules if not s.description]
    undescribed += [f"check {key.to_user_string()}" for key in graph.asset_check_keys
                    if not graph.get_check_spec(key).description]
    assert undescribed == []


def test_every_mart_column_is_described_in_the_dbt_docs():
    from joulo_pipelines.defs.warehouse_project import dbt_project
    from joulo_pipelines.lib.dbt_manifest import ensure_manifest

    ensure_manifest()
    nodes = json.loads(dbt_project.manifest_path.read_text())["nodes"].values()
    marts = [node for node in nodes if node["resource_type"] == "model" and node["fqn"][1] == "marts"]
    assert len(marts) >= 10
    assert [node["name"] for node in marts if not node["columns"]] == []  # a mart lists its columns
    assert [f"{node['name']}.{column}" for node in marts for column, props in node["columns"].items()
            if not props.get("description")] == []


def test_no_description_holds_a_placeholder_the_ui_would_read_as_html(definitions):
    """The UI renders descriptions as Markdown, where `exports/<YYYY>-Q<n>/` shows as `exports/-Q/`."""
    import re

    graph = definitions.resolve_asset_graph()
    descriptions = {f"asset {key.to_user_string()}": graph.get(key).description for key in graph.get_all_asset_keys()}
    descriptions |= {f"check {key.to_user_string()}": graph.get_check_spec(key).description
                     for key in graph.asset_check_keys}
    descriptions |= {f"sensor {s.name}": s.description for s in definitions.sensors}
    descriptions |= {f"schedule {s.name}": s.description for s in definitions.schedules}
    descriptions |= {f"job {j.name}": j.description for j in definitions.jobs}
    placeholder = re.compile(r"<[A-Za-z_][\w -]*>")  # <YYYY>, <data dir>
    assert {name: placeholder.findall(text) for name, text in descriptions.items()
            if text and placeholder.search(text)} == {}


def test_jobs_launched_from_the_ui_fork_their_steps_from_a_preloaded_server_and_the_cli_jobs_run_in_process(
        definitions):
    """A backfill's step process is forked from a server that imported the code location once, every module
    the Definitions are built from (seconds of CPU saved per step); the CLI's quarter run stays in its own
    process."""
    import sys

    executor = definitions.resolve_implicit_global_asset_job_def().executor_def
    resolved = executor.config_schema.resolve_config({}).value["config"]
    assert executor.name == "multiprocess"
    preloaded = resolved["start_method"]["forkserver"]["preload_modules"]
    built_from = {name for name in sys.modules if name.startswith("joulo_pipelines.defs.")}
    assert "joulo_pipelines.defs.warehouse.assets" in built_from  # dagster-dbt reads dbt's manifest there
    assert {"joulo_pipelines.definitions", *built_from} <= set(preloaded)
    assert definitions.resolve_job_def("quarter_job").executor_def.name == "in_process"
