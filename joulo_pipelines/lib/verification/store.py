"""The verification year's records in the warehouse (schema `verification`), append-only like the ledger:
this module's tables are only ever inserted into. What counts now is read from them (the latest import of a
list, the latest state of a finding), so every earlier state stays for the verifier's file.

Writers go through `registration.submission.ledger_writer`: one writing process, the ledger ensured."""

from __future__ import annotations

import getpass
from contextlib import contextmanager

import duckdb

from joulo_pipelines.lib import clock

# Milestones of a year, in the order they happen (`joulo verification <year> status` shows them).
EVENTS = ("population_sent", "sample_received", "site_visits_received", "findings_imported",
          "statement_issued", "reported")

_DDL = """
create schema if not exists verification;
create sequence if not exists verification.import_seq;
create table if not exists verification.events (
    delivery_year integer not null,
    event varchar not null,
    recorded_at timestamptz not null,
    recorded_by varchar not null,
    detail varchar,
    file_sha256 varchar
);
-- The verifier's lists: list_kind 'sample' (EANs whose evidence they examine) or 'site_visits'.
create table if not exists verification.verifier_lists (
    import_seq bigint not null,
    delivery_year integer not null,
    list_kind varchar not null,
    imported_at timestamptz not null,
    imported_by varchar not null,
    source_file varchar not null,
    file_sha256 varchar not null,
    row_number integer not null,
    ean varchar not null,
    partner_id varchar,
    location varchar
);
create table if not exists verification.findings (
    import_seq bigint not null,
    delivery_year integer not null,
    imported_at timestamptz not null,
    imported_by varchar not null,
    source_file varchar not null,
    file_sha256 varchar not null,
    row_number integer not null,
    finding_id varchar not null,
    ean varchar,
    severity varchar not null,
    corrective_action varchar not null,
    due_date date not null,
    status varchar not null
);
create table if not exists verification.finding_bookings (
    delivery_year integer not null,
    finding_id varchar not null,
    booking_id varchar not null,
    linked_at timestamptz not null,
    linked_by varchar not null
);
-- What a year's bookings rest on, recorded when the population is exported: each file with its SHA-256,
-- each ledger table with its row count for the year. The retention check compares against it.
create table if not exists verification.retained_items (
    delivery_year integer not null,
    recorded_at timestamptz not null,
    item_kind varchar not null,
    item varchar not null,
    sha256 varchar,
    row_count bigint
);
"""


def ensure_verification(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_DDL)


def next_import_seq(con: duckdb.DuckDBPyConnection) -> int:
    # Imports are ordered by this sequence, not by time: the demo's and tests' clock is pinned.
    return con.execute("select nextval('verification.import_seq')").fetchone()[0]


def who(by: str | None) -> str:
    return by or getpass.getuser()


def record_event(con: duckdb.DuckDBPyConnection, year: int, event: str, by: str | None,
                 detail: str | None = None, file_sha256: str | None = None) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown verification event {event!r}; known: {', '.join(EVENTS)}")
    con.execute("insert into verification.events by name select ? as delivery_year, ? as event, ? as recorded_at, "
                "? as recorded_by, ? as detail, ? as file_sha256",
                [year, event, clock.now(), who(by), detail, file_sha256])


def latest_event(con: duckdb.DuckDBPyConnection, year: int, event: str) -> tuple | None:
    """(recorded_at, recorded_by, detail) of the year's latest `event`, or None."""
    return con.execute("select recorded_at, recorded_by, detail from verification.events "
                       "where delivery_year = ? and event = ? order by recorded_at desc, rowid desc limit 1",
                       [year, event]).fetchone()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """An import's rows and its event land together or not at all."""
    con.execute("begin transaction")
    try:
        yield
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
