"""The dashboard's read-only copy of the warehouse: the tables the partner reports read (lib/reports/queries.py),
published by the `api/status_snapshot` asset after every quarter run as `<data dir>/api/dashboard.duckdb`.

It is written next to the old one and renamed over it, so a request reads either the old copy or the new
one, a running quarter never blocks the dashboard and the dashboard never blocks a run. The same report
queries run on it unchanged: the tables keep their schema and name. IBANs are masked before they are
copied, so the full IBAN never leaves the warehouse.

Beside them, `pages.customer_list`: the report's customer query (queries.CUSTOMERS) evaluated once per
partner and quarter when the snapshot is published, sorted by partner, quarter and reference, with the columns
the list searches and filters on ready. A page of the list of a 50,000-customer partner is then a read of that
partner's rows, not the query over the whole partner twice per request. And the monthly figures
(queries.monthly_energy), per customer for the statements and per partner for the quarter and year pages
(pages.customer_months, pages.partner_months): a statement reads its customer's three rows instead of the
partner's quarter of sessions."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Callable, TypeVar

import duckdb

from joulo_pipelines.lib.iban import mask_iban_sql
from joulo_pipelines.lib.paths import DataDir, replace_atomically
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.reports.queries import CUSTOMERS, monthly_energy_sql
from joulo_pipelines.lib.warehouse import has_table

T = TypeVar("T")
_ROW_GROUP_ROWS = 16_384
_NOT_YET = object()

# schema.table -> what is copied; a table the warehouse lacks (no ledger before the first booking) is left out,
# as the report queries expect.
TABLES = {
    "intermediate.int_customers_latest": f"select * replace ({mask_iban_sql('iban')} as iban) "
                                         "from intermediate.int_customers_latest order by partner_id, customer_ref",
    "marts.fct_customer_quarter_status": "select * from marts.fct_customer_quarter_status "
                                         "order by partner_id, quarter_start, customer_ref",
    "marts.fct_charge_point_eligibility": "select * from marts.fct_charge_point_eligibility "
                                          "order by partner_id, quarter_start, customer_ref",
    "marts.fct_charge_point_quarter_energy": "select * from marts.fct_charge_point_quarter_energy",
    "marts.fct_ean_quarter_energy": "select * from marts.fct_ean_quarter_energy",
    "marts.dim_ere_factors": "select * from marts.dim_ere_factors",
    "marts.fct_energy_adjustments": "select * from marts.fct_energy_adjustments",
    "marts.fct_partner_quarter_signed_energy": "select * from marts.fct_partner_quarter_signed_energy",
    "reference.cleaning_reason_texts": "select * from reference.cleaning_reason_texts",
    "reference.eligibility_reasons": "select * from reference.eligibility_reasons",
    "ledger.booked_units": "select * from ledger.booked_units",
    "ledger.rev_submissions": "select * from ledger.rev_submissions",
    "ledger.payout_batches": "select * from ledger.payout_batches",
    "ledger.payout_lines": "select * from ledger.payout_lines",
    "ledger.payout_entries": "select * from ledger.payout_entries",  # the statement lists a line's entries
}


def snapshot_path(data_dir: DataDir) -> Path:
    return data_dir.root / "api" / "dashboard.duckdb"


def publish(data_dir: DataDir, con: duckdb.DuckDBPyConnection) -> int:
    """Copy the tables from the warehouse connection `con` into a new snapshot and put it in place; the number
    of tables copied."""
    return replace_atomically(snapshot_path(data_dir), lambda staging: _copy_tables(con, staging))


def _copy_tables(con: duckdb.DuckDBPyConnection, staging: Path) -> int:
    copied = 0
    # Row groups of 16,384 rows, not DuckDB's 122,880: a statement reads one customer's rows of tables sorted by
    # customer, and DuckDB skips whole row groups by their min and max, so it reads 16,384 rows per table rather
    # than all of a 50,000-customer partner's (at 50,000 customers 1 ms less per table, for a file half as
    # large again: 8,192 saved a little more and tripled it).
    con.execute(f"attach ? as dashboard_snapshot (row_group_size {_ROW_GROUP_ROWS})", [str(staging)])
    try:
        for name, sql in TABLES.items():
            schema, table = name.split(".")
            if not has_table(con, schema, table):
                continue
            con.execute(f"create schema if not exists dashboard_snapshot.{schema}")
            con.execute(f"create table dashboard_snapshot.{schema}.{table} as {sql}")
            copied += 1
        if has_table(con, "marts", "fct_customer_quarter_status"):
            _pages(con)
    finally:
        con.execute("detach dashboard_snapshot")
    return copied


def _pages(con: duckdb.DuckDBPyConnection) -> None:
    """The schema pages in the snapshot being written: what a page would otherwise compute per request.

    - customer_list, per partner and quarter: the CUSTOMERS rows in the list's order and numbered in it
      (position), with the reference and name lower-cased and the reasons as a list for the search and filters;
    - customer_months, per partner and quarter: a statement's monthly figures (monthly_energy per customer, as the
      report's statements have them), sorted by customer and month;
    - partner_months, per partner: the quarter and year pages' monthly figures, every month from January of the
      first quarter's year to the end of the last (a month's figures do not depend on the range asked).

    The monthly figures of every partner at once, one pass over the warehouse's sessions per quarter (a pass per
    partner read the whole table each time, and a sorted copy of the sessions to read them by partner cost more
    than all the rest at national scale). The customer lists, one statement per partner and quarter as the query
    is written, read the snapshot's own copies of the customers and statuses, sorted by partner."""
    customer_list = f"""
        select $partner as partner_id, $start as quarter_start,
               row_number() over (order by customer_ref) as position, *,
               lower(customer_ref) as ref_lower, lower(customer_name) as name_lower,
               string_split(reasons, ';') as reason_list
        from ({CUSTOMERS}) order by customer_ref"""
    customer_months = f"select partner_id, $start as quarter_start, * exclude (partner_id) " \
                      f"from ({monthly_energy_sql(by_customer=True, every_partner=True)}) " \
                      f"order by partner_id, customer_ref, month"
    partner_months = f"select * exclude (customer_ref) " \
                     f"from ({monthly_energy_sql(by_customer=False, every_partner=True)}) order by partner_id, month"
    con.execute("create schema dashboard_snapshot.pages")
    # from the copy just written: the mart is a view, which the warehouse would compute again
    partner_quarters = con.execute("select distinct partner_id, quarter_start "
                                   "from dashboard_snapshot.marts.fct_customer_quarter_status "
                                   "order by partner_id, quarter_start").fetchall()
    if not partner_quarters:  # no customer's quarter yet (a partner that sent sessions only): no page has figures
        return
    starts = sorted({start for _, start in partner_quarters})
    for i, start in enumerate(starts):
        partners = [partner_id for partner_id, quarter_start in partner_quarters if quarter_start == start]
        _into(con, "customer_months", i == 0, customer_months,
              {"partners": partners, "start": start, "end": Quarter.containing(start).end, "by_customer": True})
    _into(con, "partner_months", True, partner_months,
          {"partners": sorted({partner_id for partner_id, _ in partner_quarters}),
           "start": date(starts[0].year, 1, 1), "end": Quarter.containing(starts[-1]).end, "by_customer": False})
    warehouse = con.execute("select current_database()").fetchone()[0]
    con.execute("use dashboard_snapshot")
    try:
        for i, (partner_id, start) in enumerate(partner_quarters):
            _into(con, "customer_list", i == 0, customer_list, {"partner": partner_id, "start": start})
    finally:
        con.execute(f'use "{warehouse}"')


def _into(con: duckdb.DuckDBPyConnection, table: str, create: bool, rows: str, params: dict) -> None:
    into = "create table" if create else "insert into"
    con.execute(f"{into} dashboard_snapshot.pages.{table} {'as' if create else ''} {rows}", params)


class Snapshot:
    """The published snapshot, read-only, reopened when a newer one is put in place; a cursor per request."""

    def __init__(self, data_dir: DataDir) -> None:
        self.path = snapshot_path(data_dir)
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._identity: tuple[int, int] | None = None
        self._tables: frozenset[tuple[str, str]] = frozenset()
        self._remembered: dict[tuple, object] = {}
        self._computing: dict[tuple, threading.Lock] = {}
        # the snapshot this thread's request reads (its cursor's), which what it remembers belongs to
        self._reading = threading.local()

    def cursor(self) -> SnapshotCursor | None:
        """A cursor on the newest snapshot, or None before the first quarter run published one."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        with self._lock:
            if self._identity != (stat.st_ino, stat.st_mtime_ns):
                # A database of its own that attaches the file: duckdb.connect(path) would hand back the
                # instance it already has for that path, which still reads the old file. The old one stays
                # with the cursors that read it and closes when they are done.
                # One thread per query: the requests at once already keep the cores busy, and a page's queries
                # read one partner's rows, too few to gain from more.
                self._con = duckdb.connect(config={"threads": 1})
                self._con.execute("attach ? as snapshot (read_only)", [str(self.path)])
                self._identity = (stat.st_ino, stat.st_mtime_ns)
                self._remembered, self._computing = {}, {}
                self._tables = frozenset(self._con.execute(
                    "select schema_name, table_name from duckdb_tables() where database_name = 'snapshot' union "
                    "select schema_name, view_name from duckdb_views() where database_name = 'snapshot'").fetchall())
            cursor = SnapshotCursor(self._con.cursor(), self._tables)
            self._reading.identity = self._identity
        cursor.execute("use snapshot")  # the report queries name schema.table, as in the warehouse
        return cursor

    def remembered(self, key: tuple, compute: Callable[[], T]) -> T:
        """What `compute` gives for `key`, computed once per published snapshot: a partner's quarter and year
        pages change only when a new one is put in place, and take the most queries of any page. Whoever asks
        while it is computed waits for that one computation rather than starting their own. Kept under the
        snapshot this request's cursor reads: computed from an old one while a new one was put in place, it is
        never taken for the new one's."""
        identity = getattr(self._reading, "identity", self._identity)
        with self._lock:
            computing = self._computing.setdefault((identity, key), threading.Lock())
        with computing:
            value = self._remembered.get((identity, key), _NOT_YET)
            if value is _NOT_YET:
                value = compute()
                with self._lock:
                    if self._identity == identity:
                        self._remembered[(identity, key)] = value
            return value


class SnapshotCursor:
    """A DuckDB cursor on the snapshot (it does all a cursor does) that knows the snapshot's tables: a report
    query asks whether the ledger is there (warehouse.has_table) and DuckDB's catalog took milliseconds to say
    what a snapshot, read-only, fixes when it is opened."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, known_tables: frozenset[tuple[str, str]]) -> None:
        self._cursor, self.known_tables = cursor, known_tables

    def __getattr__(self, name: str):
        return getattr(self._cursor, name)
