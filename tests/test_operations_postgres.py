"""The platform on a PostgreSQL-backed Dagster instance, as in production: a backfill through Dagster's
backfill machinery racing the sensor's job and a manual quarter run on the one-writer DuckDB warehouse, and
that manual run read back from Postgres.

What is tested is Dagster's instance storage on Postgres (runs, events, the backfill, the pool), not the
data: a tiny world (one partner, two charge points, a few sessions) keeps each build at dbt's fixed cost,
and this module does not wait for the demo world.

The PostgreSQL server is real: Debian's binaries (scripts/install-test-deps.sh), a temporary data dir,
started once for this module and reached through its Unix socket only (no TCP port to find free).
"""

from __future__ import annotations

import glob
import itertools
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import duckdb
import psutil
import psycopg2
import pytest

from conftest import drop, make_data_dir
from joulo_pipelines import cli
from joulo_pipelines.lib import dagster_home
from joulo_pipelines.lib.paths import REPO_ROOT, DataDir

# Two quarters are enough for a race: the backfill's two runs, the sensor's job and the manual run of
# 2026-Q2 (a quarter the backfill builds too) all want the warehouse at once. Each backfill run costs a
# process, a step process and a dbt build.
QUARTERS = ["2026-01-01", "2026-04-01"]
# The backfill is driven by daemon iterations. It may take as many as it needs while the runs make progress
# (a new event in the instance); this many iterations in a row without any is a stuck backfill, not a slow
# machine (each iteration sleeps DAEMON_SLEEP_SECONDS, so it is well over ten minutes of nothing). The run
# queue's part runs every 2 s (the daemon's own are 5 s for the run queue, 30 s for backfills). The
# backfill's part costs far more CPU (its asset graph and what its partitions hold, evaluated again; README,
# Testing), taken from the runs it waits for, and has work only when one of its runs started or ended: it
# runs then, and every BACKFILL_EVERY iterations in case it has other work.
DAEMON_SLEEP_SECONDS = 2.0
IDLE_ITERATIONS = 300
BACKFILL_EVERY = 15
# pytest-timeout's limit for this module's tests: the first one waits for the whole backfill.
pytestmark = pytest.mark.timeout(3600)


def _pg_bin(tool: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    if not found:
        pytest.fail("PostgreSQL server binaries are missing: run scripts/install-test-deps.sh (or `make test`)")
    return found[-1]


def _as_server_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; Debian's package brings a `postgres` user for exactly this.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


# A server for one test run: nothing to keep if the machine stops, so no fsync of each commit (Dagster commits
# every event of a run on its own).
NO_DURABILITY = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


@pytest.fixture(scope="module")
def postgres_url():
    """A URL of the server's `dagster` database; the socket's folder is in the URL's `host` parameter."""
    root = Path(tempfile.mkdtemp(prefix="joulo-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data = root / "data"
    subprocess.run(_as_server_user([_pg_bin("initdb"), "-D", str(data), "-U", "joulo", "--auth=trust",
                                    "--no-sync", "-E", "UTF8"]), check=True, capture_output=True)
    subprocess.run(_as_server_user([_pg_bin("pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
                                    "-o", f"-c listen_addresses='' -k {root} -c max_connections=200 {NO_DURABILITY}",
                                    "start"]), check=True, capture_output=True)
    try:
        _create_database(_database_url(root, "postgres"), "dagster")
        yield _database_url(root, "dagster")
    finally:
        subprocess.run(_as_server_user([_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _database_url(socket_dir: Path, database: str) -> str:
    return f"postgresql://joulo@/{database}?host={socket_dir}"


def _create_database(server_url: str, name: str) -> None:
    conn = psycopg2.connect(server_url)
    try:
        conn.autocommit = True  # CREATE DATABASE refuses to run inside a transaction
        conn.cursor().execute(f"create database {name}")
    finally:
        conn.close()


def _pg_rows(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


CUSTOMERS = (
    "customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,"
    "mandate_valid_from,mandate_valid_until\n"
    "C1,An Jansen,an@mail.example,NL91ABNA0417164300,Kerkstraat,1,1011 AB,Amsterdam,871685900000000011,"
    "2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n"
    "C2,Bo Visser,bo@mail.example,NL91ABNA0417164300,Molenweg,2,3511AB,Utrecht,871685900000000028,"
    "2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n")
CHARGE_POINTS = "charge_point_ref,customer_ref,brand,model,serial_number\nCP1,C1,Alfen,Eve,SN1\nCP2,C2,Zaptec,Go,SN2\n"
SESSIONS = ("session_ref,charge_point_ref,started_at,ended_at,energy_kwh\n"
            "S1,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,12.5\n"
            "S2,CP2,2026-02-01T18:00:00Z,2026-02-01T21:00:00Z,7.25\n"
            "S3,CP1,2026-03-31T20:00:00Z,2026-04-01T02:00:00Z,18\n"  # across the Q1/Q2 edge
            "S4,CP2,2026-05-12T18:00:00Z,2026-05-12T21:00:00Z,9.75\n")


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory) -> DataDir:
    """One partner's few sessions, ingested and its quarters built one by one, on Dagster's default
    (SQLite) instance: what each test copies onto a Postgres instance of its own."""
    root = tmp_path_factory.mktemp("tiny") / "data"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("JOULO_DATA_DIR", str(root))
        monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
        world = make_data_dir(root, ["alpha"])
        drop(world, "alpha", "customers.csv", CUSTOMERS, mtime="2026-01-02T06:00:00+00:00")
        drop(world, "alpha", "charge_points.csv", CHARGE_POINTS, mtime="2026-01-02T06:00:00+00:00")
        drop(world, "alpha", "sessions.csv", SESSIONS, mtime="2026-06-02T06:00:00+00:00")
        assert cli.main(["ingest"]) == 0
        for quarter in QUARTERS:
            assert cli.main(["run", "--quarter", quarter]) == 0
    return world


def _pg_world(world: DataDir, root: Path, postgres_url: str, database: str,
              monkeypatch: pytest.MonkeyPatch) -> DataDir:
    """A copy of the world whose Dagster instance lives in its own Postgres database."""
    shutil.copytree(world.root, root, symlinks=True, ignore=shutil.ignore_patterns("dagster_home"))
    _create_database(postgres_url, database)
    url = postgres_url.replace("/dagster?", f"/{database}?")
    monkeypatch.setenv("JOULO_DATA_DIR", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
    monkeypatch.setenv("DAGSTER_PG_URL", url)
    dagster_home.install(root / "dagster_home")
    return DataDir(root)


@pytest.fixture(scope="module")
def racing_world(tiny_world, postgres_url, tmp_path_factory):
    """Two quarters rebuilt from an empty warehouse by an asset backfill of the dbt models (daemon machinery,
    multiprocess executor, each run its own process), started together with the inbox sensor's job and a
    manual `joulo run`, all on one Postgres-backed instance."""
    import dagster as dg
    from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
    from dagster._core.test_utils import create_test_daemon_workspace_context
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster._daemon.backfill import execute_backfill_iteration
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

    from joulo_pipelines.defs.warehouse.assets import warehouse_models

    before = {child.pid for child in psutil.Process().children(recursive=True)}
    with pytest.MonkeyPatch.context() as monkeypatch:
        world = _pg_world(tiny_world, tmp_path_factory.mktemp("racing") / "data", postgres_url, "racing",
                          monkeypatch)
        world.warehouse.unlink()
        target = ModuleTarget(module_name="joulo_pipelines.definitions", attribute=None,
                              working_directory=str(REPO_ROOT), location_name="joulo_pipelines")
        logger = logging.getLogger("racing_world")
        # The daemon's two parts a backfill needs, iterated here instead of in `dagster-daemon run`.
        run_queue = QueuedRunCoordinatorDaemon(interval_seconds=1)
        with dg.DagsterInstance.get() as instance, \
                create_test_daemon_workspace_context(target, instance) as workspace:
            asset_graph = workspace.create_request_context().asset_graph
            backfill_id = uuid.uuid4().hex[:8]
            # The dbt models (and their asset checks) only: the race for the warehouse is theirs. The assets
            # downstream of them have no backfill policy, so the daemon gives them runs of their own once
            # dbt's are in (18 runs for all of them and four quarters), each a process start that waits in
            # the pool: minutes more and no more race. The manual run builds them, in the pool, meanwhile.
            instance.add_backfill(PartitionBackfill.from_asset_partitions(
                backfill_id=backfill_id, asset_graph=asset_graph, partition_names=QUARTERS,
                asset_selection=list(warehouse_models.keys), backfill_timestamp=time.time(), tags={},
                dynamic_partitions_store=instance, all_partitions=False, title="2026", description=None,
                run_config=None))

            # Their output goes to files: a pipe nobody reads until the end fills up and stops the process
            # mid-run, holding its place in the warehouse pool.
            joulo = [sys.executable, "-m", "joulo_pipelines.cli"]
            logs = [world.root / "ingest.log", world.root / "run.log"]
            handles = [log.open("wb") for log in logs]
            others = [subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT) for command, handle
                      in zip([[*joulo, "ingest"], [*joulo, "run", "--quarter", "2026-Q2"]], handles)]
            for handle in handles:
                handle.close()  # each process has its own
            try:
                idle, progress, iteration, runs_seen = 0, None, 0, None
                # Until the backfill is done and so are its runs (a run's own end is recorded after the
                # materializations that complete the backfill).
                backfill_runs = dg.RunsFilter(tags={"dagster/backfill": backfill_id})
                while (instance.get_backfill(backfill_id).status == BulkActionStatus.REQUESTED
                       or not all(run.is_finished for run in instance.get_runs(backfill_runs))) \
                        and idle < IDLE_ITERATIONS:
                    runs_now = {(run.run_id, run.is_finished) for run in instance.get_runs(backfill_runs)}
                    if runs_now != runs_seen or iteration % BACKFILL_EVERY == 0:
                        list(execute_backfill_iteration(workspace, logger))
                        runs_seen = runs_now
                    iteration += 1
                    list(run_queue.run_iteration(workspace))
                    seen, progress = progress, instance.event_log_storage.get_maximum_record_id()
                    idle = idle + 1 if progress == seen else 0
                    time.sleep(DAEMON_SLEEP_SECONDS)
                for process in others:
                    process.wait()
                outputs = [log.read_text() for log in logs]
            finally:
                for process in others:
                    if process.poll() is None:
                        process.kill()
                        process.wait()
            runs = instance.get_runs(backfill_runs)
            yield {
                "world": world, "url": os.environ["DAGSTER_PG_URL"], "instance": instance,
                "backfill": instance.get_backfill(backfill_id),
                "backfill_runs": runs,
                "pending": _pending(instance.get_backfill(backfill_id), runs, idle),
                "others": [(process.returncode, output) for process, output in zip(others, outputs)],
                "all_runs": instance.get_runs(),
            }
        _stop_code_servers_left(before)


def _pending(backfill, runs, idle: int) -> str:
    """What a backfill that did not finish was still waiting for, for the failure message."""
    unfinished = [f"{run.tags.get('dagster/partition', run.tags.get('dagster/asset_partition_range_start'))}: "
                  f"{run.status.value}" for run in runs if not run.is_finished]
    return (f"backfill {backfill.status.value} after {idle} daemon iterations without progress; "
            f"{len(runs)} run(s) launched, unfinished: {unfinished or 'none'}")


def _stop_code_servers_left(before: set[int]) -> None:
    """The workspace's `dagster api grpc` code server is told to stop when the workspace closes, and stops
    on its own time; it is waited for here, and stopped if it does not, so it never outlives the tests."""
    started = [child for child in psutil.Process().children(recursive=True) if child.pid not in before]
    _, alive = psutil.wait_procs(started, timeout=30)
    for process in alive:
        process.terminate()
    _, alive = psutil.wait_procs(alive, timeout=10)
    for process in alive:
        process.kill()


def test_a_backfill_the_sensor_job_and_a_manual_run_started_together_all_succeed(racing_world):
    from dagster._core.execution.backfill import BulkActionStatus

    import dagster as dg

    assert racing_world["backfill"].status == BulkActionStatus.COMPLETED_SUCCESS, racing_world["pending"]
    runs = racing_world["backfill_runs"]
    # Every run builds one quarter (the dbt asset's backfill policy), and together they cover the backfill's;
    # an asset backfill tags runs with a range.
    assert sorted({run.tags.get("dagster/partition", run.tags.get("dagster/asset_partition_range_start"))
                   for run in runs}) == QUARTERS
    assert all(run.tags.get("dagster/asset_partition_range_end", run.tags.get("dagster/partition"))
               == run.tags.get("dagster/asset_partition_range_start", run.tags.get("dagster/partition"))
               for run in runs)
    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs), [
        (run.tags.get("dagster/partition", run.tags.get("dagster/asset_partition_range_start")), run.status.value)
        for run in runs]
    for run in runs:
        engine_messages = [record.event_log_entry.message for record in racing_world["instance"].get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records]
        assert any("multiprocess executor" in message for message in engine_messages)
    for returncode, output in racing_world["others"]:
        assert returncode == 0, output
        # DuckDB's own words when a second writer opens the file; waiting in the pool is expected.
        assert "could not set lock on file" not in output.lower()


def test_the_manual_quarter_run_is_read_back_from_postgres(racing_world):
    """The `joulo run --quarter 2026-Q2` of the race, a process of its own, wrote its run and events to
    Postgres (the instance config names the URL's variable, not a file of the data dir), and the instance
    reads them back from there."""
    import dagster as dg

    world, url, instance = racing_world["world"], racing_world["url"], racing_world["instance"]
    config = (world.dagster_home / "dagster.yaml").read_text()
    assert "env: DAGSTER_PG_URL" in config and "joulo-pg-" not in config
    assert type(instance.run_storage).__module__.startswith("dagster_postgres")
    assert type(instance.event_log_storage).__module__.startswith("dagster_postgres")

    runs = _pg_rows(url, "select run_id, status from runs where pipeline_name = 'quarter_job'")
    assert [status for _, status in runs] == ["SUCCESS"]
    run_id = runs[0][0]
    materialized = {key for (key,) in _pg_rows(
        url, "select asset_key from event_logs where run_id = %s and dagster_event_type = 'ASSET_MATERIALIZATION'",
        (run_id,))}
    assert {'["marts", "fct_ean_quarter_energy"]', '["marts", "fct_charging_sessions"]'} <= materialized

    key = dg.AssetKey(["marts", "fct_ean_quarter_energy"])
    read_back = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=["2026-04-01"]), limit=10).records
    assert run_id in {record.run_id for record in read_back}
    assert {record.event_log_entry.dagster_event.partition for record in read_back} == {"2026-04-01"}


def test_the_warehouse_pool_let_one_run_at_a_time_into_the_warehouse(racing_world, definitions):
    """Every step in the warehouse pool (the dbt build, its asset checks, the exports), from its start to its
    end, never overlaps another's, in the same run or another."""
    import dagster as dg

    from joulo_pipelines.defs.pools import WAREHOUSE_POOL

    pooled = {node.name for node in definitions.get_repository_def().get_job("quarter_job").graph.node_defs
              if node.pool == WAREHOUSE_POOL}
    instance = racing_world["instance"]
    windows = {}
    for run in racing_world["all_runs"]:
        for record in instance.get_records_for_run(run.run_id).records:
            event = record.event_log_entry.dagster_event
            if event and event.step_key in pooled and event.event_type in (
                    dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS,
                    dg.DagsterEventType.STEP_FAILURE):
                windows.setdefault((run.run_id, event.step_key), []).append(record.event_log_entry.timestamp)
    # the backfill's quarters and the manual run
    assert sum(step == "warehouse_models" for _, step in windows) == len(QUARTERS) + 1
    spans = sorted((min(times), max(times), step) for (_, step), times in windows.items())
    overlapping = [(step, following) for (_, end, step), (start, _, following) in itertools.pairwise(spans)
                   if start < end]
    assert overlapping == []


def test_the_backfill_builds_the_same_quarters_as_running_them_one_by_one(racing_world, tiny_world):
    """The tiny world's quarters were built one by one; the racing warehouse has the backfill's (the manual
    run's 2026-Q2 among them)."""
    quarters = ", ".join(f"date '{quarter}'" for quarter in QUARTERS)
    with duckdb.connect(str(tiny_world.warehouse), read_only=True) as one_by_one, \
            duckdb.connect(str(racing_world["world"].warehouse), read_only=True) as backfilled:
        for mart in ("fct_ean_quarter_energy", "fct_charge_point_quarter_energy", "fct_charging_sessions"):
            query = f"select * from marts.{mart} order by all"
            if mart != "fct_charging_sessions":  # sessions are not by quarter: every build has them all
                query = f"select * from marts.{mart} where quarter_start in ({quarters}) order by all"
            expected = one_by_one.execute(query).fetchall()
            assert expected, mart
            assert backfilled.execute(query).fetchall() == expected, mart
