"""deploy/dagster.yaml as installed into DAGSTER_HOME: local storage by default, Postgres when the
environment says so (naming variables, never holding their values), the warehouse pool limited to one."""

from __future__ import annotations

import dagster as dg
import pytest
import yaml

from joulo_pipelines.defs.pools import WAREHOUSE_POOL
from joulo_pipelines.lib import dagster_home


def test_without_postgres_settings_the_instance_keeps_local_storage_and_one_warehouse_slot(tmp_path):
    config_file = dagster_home.install(tmp_path / "home", env={})

    config = yaml.safe_load(config_file.read_text())
    assert "storage" not in config
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        assert type(instance.run_storage).__module__.startswith("dagster._core.storage.runs.sqlite")
        assert instance.event_log_storage.supports_global_concurrency_limits
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


def test_a_postgres_url_becomes_postgres_storage_that_names_the_variable_not_its_value(tmp_path):
    env = {"DAGSTER_PG_URL": "postgresql://dagster:s3cret@db.internal:5432/dagster"}
    text = dagster_home.install(tmp_path / "home", env=env).read_text()

    assert yaml.safe_load(text)["storage"] == {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}
    assert "s3cret" not in text and "db.internal" not in text


def test_the_dagster_pg_variables_become_postgres_db_settings(tmp_path):
    env = {"DAGSTER_PG_HOST": "db.internal", "DAGSTER_PG_USERNAME": "dagster", "DAGSTER_PG_PASSWORD": "s3cret",
           "DAGSTER_PG_DB": "dagster", "DAGSTER_PG_PORT": "6432"}
    text = dagster_home.install(tmp_path / "home", env=env).read_text()

    assert yaml.safe_load(text)["storage"]["postgres"]["postgres_db"] == {
        "username": {"env": "DAGSTER_PG_USERNAME"}, "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": {"env": "DAGSTER_PG_HOST"}, "db_name": {"env": "DAGSTER_PG_DB"}, "port": {"env": "DAGSTER_PG_PORT"}}
    assert "s3cret" not in text and "6432" not in text


def test_a_postgres_host_without_user_or_database_is_refused_with_what_to_set(tmp_path):
    with pytest.raises(ValueError, match="DAGSTER_PG_USERNAME, DAGSTER_PG_DB"):
        dagster_home.install(tmp_path / "home", env={"DAGSTER_PG_HOST": "db.internal"})


def test_a_hand_written_dagster_yaml_is_left_alone_and_ours_follows_the_environment(tmp_path):
    home = tmp_path / "home"
    ours = dagster_home.install(home, env={}).read_text()
    assert "storage" not in yaml.safe_load(ours)
    assert "storage" in yaml.safe_load(dagster_home.install(home, env={"DAGSTER_PG_URL": "postgresql://x"}).read_text())

    (home / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    dagster_home.install(home, env={"DAGSTER_PG_URL": "postgresql://x"})
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"


def test_every_asset_the_quarter_job_builds_waits_for_the_warehouse_pool(definitions):
    """The quarter job's assets open warehouse.duckdb; one outside the pool could hit the DuckDB lock."""
    asset_graph = definitions.get_repository_def().asset_graph
    built = definitions.resolve_job_def("quarter_job").asset_layer.executable_asset_keys
    outside = [node.key.to_user_string() for node in asset_graph.asset_nodes
               if node.key in built and WAREHOUSE_POOL not in node.pools]
    assert len(built) > 40 and outside == []


def test_every_step_of_the_quarter_job_waits_for_the_warehouse_pool(definitions):
    """The asset checks are steps of their own that open warehouse.duckdb too: in a run with the multiprocess
    executor (a backfill's), one outside the pool ran in its own process while another run's dbt wrote."""
    job = definitions.get_repository_def().get_job("quarter_job")
    assert [node.name for node in job.graph.node_defs if node.pool != WAREHOUSE_POOL] == []
