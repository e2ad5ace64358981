"""The API's own store: SQLite in WAL mode under `<data dir>/api/api.sqlite`.

Two kinds of process write it: the API server (keys, idempotency records, webhooks, deliveries) and the
Dagster asset that snapshots pipeline state (customer status, quarter summaries, events). SQLite serialises
them with its file lock; WAL lets the API read while a snapshot is being written. Nothing personal is
stored here: no names, emails, IBANs or addresses, only references, hashes, states and amounts."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from joulo_pipelines.lib.paths import DataDir

_SCHEMA = """
create table if not exists api_keys (
    key_id text primary key,
    partner_id text not null,
    key_sha256 text not null unique,
    created_at text not null,
    revoked_at text
);
create table if not exists idempotency (
    partner_id text not null,
    idempotency_key text not null,
    request_sha256 text not null,
    status_code integer not null,
    response_body text not null,
    created_at text not null,
    primary key (partner_id, idempotency_key)
);
create table if not exists accepted_requests (
    seq integer primary key autoincrement,
    partner_id text not null,
    customer_ref text not null,
    kind text not null check (kind in ('enrolment', 'revocation')),
    content_sha256 text not null,
    accepted_at text not null,
    files text not null,
    summary text not null
);
create index if not exists accepted_requests_by_customer on accepted_requests (partner_id, customer_ref, seq);
create table if not exists webhooks (
    webhook_id text primary key,
    partner_id text not null,
    url text not null,
    secret text not null,
    event_types text not null,
    created_at text not null,
    deleted_at text
);
create table if not exists events (
    event_id text primary key,
    partner_id text not null,
    type text not null,
    subject text not null,
    body text not null,
    created_at text not null
);
create index if not exists events_by_partner on events (partner_id, created_at, event_id);
create table if not exists deliveries (
    event_id text not null references events (event_id),
    webhook_id text not null references webhooks (webhook_id),
    status text not null check (status in ('pending', 'delivered', 'failed')),
    attempts integer not null default 0,
    next_attempt_at real not null,
    delivered_at real,
    primary key (event_id, webhook_id)
);
create index if not exists deliveries_due on deliveries (status, next_attempt_at);
create table if not exists delivery_attempts (
    event_id text not null,
    webhook_id text not null,
    attempt integer not null,
    attempted_at real not null,
    status_code integer,
    error text,
    duration_ms integer not null,
    primary key (event_id, webhook_id, attempt)
);
create table if not exists announcements (
    partner_id text not null,
    subject text not null,
    topic text not null,
    state text not null,
    sequence integer not null,
    primary key (partner_id, subject, topic)
);
create table if not exists customer_status (
    partner_id text not null,
    customer_ref text not null,
    source_file text,
    document text not null,
    primary key (partner_id, customer_ref)
);
create table if not exists quarter_summaries (
    partner_id text not null,
    quarter_start text not null,
    document text not null,
    primary key (partner_id, quarter_start)
);
create table if not exists snapshots (
    partner_id text primary key,
    built_at text not null
);
"""


def store_path(data_dir: DataDir) -> Path:
    return data_dir.root / "api" / "api.sqlite"


@contextmanager
def connect(data_dir: DataDir) -> Iterator[sqlite3.Connection]:
    """A connection with the schema in place; `with connect(d) as con, con:` commits or rolls back."""
    path = store_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        con.row_factory = sqlite3.Row
        con.execute("pragma journal_mode = wal")
        con.execute("pragma foreign_keys = on")
        con.executescript(_SCHEMA)
        path.chmod(0o600)  # webhook secrets live here
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE: take the write lock up front, so read-then-write steps cannot interleave."""
    con.execute("begin immediate")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
