

def test_definitions_load_with_the_jobs_sensor_and_quarterly_marts(definitions):
    keys = {key.to_user_string() for key in definitions.resolve_asset_graph().get_all_asset_keys()}
    assert {"landing/sessions", "marts/fct_charging_sessions", "marts/fct_ean_quarter_energy"} <= keys
    assert definitions.resolve_sensor_def("inbox_sensor").job_name == "ingest_job"
    quarter_job = definitions.resolve_job_def("quarter_job")
    assert quarter_job.partitions_def.get_partition_keys()[:2] == ["2026-01-01", "2026-04-01"]


def test_dbt_gets_the_quarter_as_local_dates_and_the_one_clock(monkeypatch):
    from joulo_pipelines.defs.partitions import quarterly_partitions
    from joulo_pipelines.defs.warehouse.assets import dbt_env_for

    monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
    window = quarterly_partitions.time_window_for_partition_key("2026-10-01")
    assert dbt_env_for(window) == {"JOULO_QUARTER_START": "2026-10-01", "JOULO_QUARTER_END": "2027-01-01",
                                   "JOULO_BUILD_AS_OF": "2027-01-14T23:00:00+00:00"}


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
