"""Dagster's SQLite storages (the local instance of `make demo`, `make ui` without Postgres, the tests) make a
new SQLAlchemy engine for every read and write, ~1,400 in a small quarter run, and the engine's cache of
compiled statements goes with it, so every statement is compiled again: about a third of the CPU Dagster
spends in such a run. Here each storage keeps its engines, the few it used last, one per database file.

Connections are not kept: an engine with NullPool opens a connection per use and closes it after, as
Dagster's own do. Only the engine and its compiled statements outlive a call. `install` replaces the
storages' connect methods with the same steps (the event log's lock and schema set-up included);
tests/test_sqlite_engines.py fails if an upgrade changes what it replaces."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import (
    SqliteScheduleStorage,
)
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

# The event log has a file per run: a long-lived process (the UI, the daemon) reads many, and keeps the
# engines of the last few only.
ENGINES_KEPT = 16


class _Engines:
    """One storage's engines by connection string, the least recently used dropped beyond ENGINES_KEPT."""

    def __init__(self) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._lock = threading.Lock()  # the run storage is used from several threads of the UI

    def get(self, conn_string: str, **connect_args) -> Engine:
        with self._lock:
            engine = self._engines.get(conn_string)
            if engine is None:
                engine = create_engine(conn_string, poolclass=NullPool, connect_args=connect_args)
                self._engines[conn_string] = engine
            self._engines.move_to_end(conn_string)
            while len(self._engines) > ENGINES_KEPT:
                self._engines.popitem(last=False)
            return engine


def _engines(storage) -> _Engines:
    engines = storage.__dict__.get("_joulo_engines")
    if engines is None:  # setdefault: two threads making the first keep the same
        engines = storage.__dict__.setdefault("_joulo_engines", _Engines())
    return engines


def _event_log_engine(storage: SqliteEventLogStorage, shard: str) -> Engine:
    return _engines(storage).get(storage.conn_string_for_shard(shard), timeout=SQLITE_BUSY_TIMEOUT_SECONDS)


@contextmanager
def _event_log_connect(self: SqliteEventLogStorage, shard: str) -> Iterator[Connection]:
    with self._db_lock:
        engine = _event_log_engine(self, shard)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        with engine.connect() as conn, conn.begin():
            yield conn


def _event_log_has_table(self: SqliteEventLogStorage, table_name: str) -> bool:
    # Asked at every asset event stored.
    engine = _event_log_engine(self, INDEX_SHARD_NAME)
    with engine.connect() as conn:
        return bool(engine.dialect.has_table(conn, table_name))


@contextmanager
def _connect(self: SqliteRunStorage | SqliteScheduleStorage) -> Iterator[Connection]:
    with _engines(self).get(self._conn_string).connect() as conn, conn.begin():
        yield conn


def install() -> None:
    SqliteEventLogStorage._connect = _event_log_connect
    SqliteEventLogStorage.has_table = _event_log_has_table
    SqliteRunStorage.connect = _connect
    SqliteScheduleStorage.connect = _connect
