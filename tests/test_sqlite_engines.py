"""The local SQLite instance keeps an engine per database file (defs/sqlite_engines.py) instead of making
one, and compiling its statements again, for every read and write; what it stores is the same."""

from __future__ import annotations

import dagster as dg
from sqlalchemy import event
from sqlalchemy.pool import Pool

from joulo_pipelines.defs import sqlite_engines


@dg.asset
def a_number() -> int:
    return 1


@dg.asset
def its_double(a_number: int) -> int:
    return a_number * 2


def _engines_made_meanwhile(run):
    """Engines connected for the first time while `run` runs (each engine has a pool of its own), whoever
    made them."""
    made = []

    def first_connect(dbapi_connection, connection_record):
        made.append(connection_record)

    event.listen(Pool, "first_connect", first_connect)
    try:
        run()
    finally:
        event.remove(Pool, "first_connect", first_connect)
    return len(made)


def test_a_run_on_the_sqlite_instance_makes_a_few_engines_and_stores_what_it_did(tmp_path):
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
        SqliteEventLogStorage,
    )
    from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

    sqlite_engines.install()
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        assert isinstance(instance.run_storage, SqliteRunStorage)
        assert isinstance(instance.event_log_storage, SqliteEventLogStorage)
        results = []

        def three_runs():
            for _ in range(3):
                results.append(dg.materialize([a_number, its_double], instance=instance))

        engines = _engines_made_meanwhile(three_runs)
        assert all(result.success for result in results)
        # Dagster's own make one per read or write: hundreds for these runs. Here one for the runs, one for
        # the event index and one per run's own event file.
        assert engines <= 2 + len(results), engines

    # What the runs stored, read back by an instance of its own.
    with dg.instance_for_test(temp_dir=str(tmp_path)) as again:
        assert {run.run_id for run in again.get_runs()} == {result.run_id for result in results}
        latest = again.get_latest_materialization_event(dg.AssetKey("its_double"))
        assert latest is not None and latest.run_id == results[-1].run_id


def test_a_storage_keeps_the_engines_of_its_last_files_only(tmp_path):
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
        SqliteEventLogStorage,
    )

    sqlite_engines.install()
    storage = SqliteEventLogStorage(str(tmp_path))
    for shard in range(sqlite_engines.ENGINES_KEPT + 5):
        with storage.run_connection(f"run-{shard}") as conn:
            conn.exec_driver_sql("select 1")
    kept = storage._joulo_engines._engines
    assert list(kept) == [storage.conn_string_for_shard(f"run-{shard}")
                          for shard in range(5, sqlite_engines.ENGINES_KEPT + 5)]
