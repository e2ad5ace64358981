"""The one way into the data dir's warehouse (the DuckDB file dbt builds) for code outside dbt: open it,
and ask whether a table is there yet (the ledger and the marts appear only once a run made them)."""

from __future__ import annotations

import duckdb

from joulo_pipelines.lib.paths import DataDir


def connect(data_dir: DataDir, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse, closed by `with`. Read-only connections may share the file with each
    other but not with a writer, and refuse a missing file; a writing one creates it."""
    return duckdb.connect(str(data_dir.warehouse), read_only=read_only)


def has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether `schema.table` exists (a table or a view). A cursor that knows its database's tables (the
    dashboard's read-only snapshot: lib/dashboard/snapshot.py) answers from them; asking DuckDB's catalog
    takes milliseconds, and a dashboard statement asks twice."""
    known = getattr(con, "known_tables", None)
    if known is not None:
        return (schema, table) in known
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchone()[0] > 0
