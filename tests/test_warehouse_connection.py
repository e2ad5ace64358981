"""lib/warehouse.py: the one way into the data dir's warehouse."""

import duckdb
import pytest

from joulo_pipelines.lib import warehouse
from joulo_pipelines.lib.paths import DataDir


def test_has_table_sees_tables_and_views_of_the_schema_asked_and_nothing_else(tmp_path):
    data_dir = DataDir(tmp_path)
    with warehouse.connect(data_dir, read_only=False) as con:
        con.execute("create schema ledger; create table ledger.rev_submissions (booking_id varchar); "
                    "create view ledger.booked_units as select 1 as units")
        assert warehouse.has_table(con, "ledger", "rev_submissions")
        assert warehouse.has_table(con, "ledger", "booked_units")
        assert not warehouse.has_table(con, "ledger", "payout_batches")
        assert not warehouse.has_table(con, "marts", "rev_submissions")


def test_a_read_only_connection_reads_but_refuses_a_write(tmp_path):
    data_dir = DataDir(tmp_path)
    with warehouse.connect(data_dir, read_only=False) as con:
        con.execute("create table t as select 1 as a")
    with warehouse.connect(data_dir, read_only=True) as con:
        assert con.execute("select a from t").fetchall() == [(1,)]
        with pytest.raises(duckdb.InvalidInputException, match="read-only"):
            con.execute("insert into t values (2)")


def test_reading_a_missing_warehouse_fails_and_writing_creates_it(tmp_path):
    data_dir = DataDir(tmp_path)
    with pytest.raises(duckdb.IOException):
        warehouse.connect(data_dir, read_only=True)
    assert not data_dir.warehouse.exists()
    warehouse.connect(data_dir, read_only=False).close()
    assert data_dir.warehouse.exists()
