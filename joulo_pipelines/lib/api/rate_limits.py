"""The per-key rate limit's hits, shared by every worker process of `joulo api`: a `limits` storage on SQLite
under `<data dir>/api/rate_limits.sqlite`, so a key gets its limit once, however many processes serve it.

A file of its own, not the API store: the quarter run's snapshot holds a write lock on the store for seconds,
and a request must never wait on that. Only moving windows (the API's strategy) are kept: per hit its key (the
limiter's, which names the limit too) and time; a key's hits older than its window go when it is hit again."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from limits.storage import MovingWindowSupport, Storage

_SCHEMA = """
create table if not exists hits (key text not null, at real not null);
create index if not exists hits_by_key on hits (key, at);
"""


class SqliteStorage(Storage, MovingWindowSupport):
    STORAGE_SCHEME = ["joulo+sqlite"]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._local = threading.local()  # a connection per thread: sqlite3 connections stay in their thread

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            con.execute("pragma journal_mode = wal")
            con.execute("pragma synchronous = normal")  # a hit lost in a power cut costs nothing
            con.executescript(_SCHEMA)
            self._local.con = con
        return con

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = time.time()
        con = self._con()
        con.execute("begin immediate")  # the count and the insert as one, across processes
        try:
            con.execute("delete from hits where key = ? and at <= ?", [key, now - expiry])
            (count,) = con.execute("select count(*) from hits where key = ?", [key]).fetchone()
            acquired = count + amount <= limit
            if acquired:
                con.executemany("insert into hits values (?, ?)", [(key, now)] * amount)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        return acquired

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        oldest, count = self._con().execute("select min(at), count(*) from hits where key = ? and at > ?",
                                            [key, now - expiry]).fetchone()
        return (oldest, count) if count else (now, 0)

    # The rest of Storage, which the moving window does not use: fixed-window counters are not kept here.
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("SqliteStorage keeps moving windows only")

    def get(self, key: str) -> int:
        raise NotImplementedError("SqliteStorage keeps moving windows only")

    def get_expiry(self, key: str) -> float:
        raise NotImplementedError("SqliteStorage keeps moving windows only")

    def check(self) -> bool:
        return self._con().execute("select 1").fetchone() == (1,)

    def reset(self) -> int | None:
        return self._con().execute("delete from hits").rowcount

    def clear(self, key: str) -> None:
        self._con().execute("delete from hits where key = ?", [key])
