"""What the dashboard's pages ask of the snapshot beyond the report queries: the quarters there are, a page of
a partner's customers (lib/reports/queries.py's CUSTOMERS, searched and filtered) with their count, and the
monthly figures of a customer's statement and of the quarter and year pages, read from the schema pages, where
the snapshot holds them per partner and quarter as the report queries give them (snapshot.py).
Every query has the partner in its WHERE clause, as the report queries do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from joulo_pipelines.lib.formatting import ERE_PLACES, KWH_PLACES, spreadsheet_number
from joulo_pipelines.lib.quarters import Quarter

PAGE_SIZE = 50
CSV_COLUMNS = ("customer_ref", "customer_name", "ean", "mandate_valid_from", "mandate_valid_until", "revoked_at",
               "status", "reasons", "charge_points", "eligible_points", "kwh", "sessions", "eligible_kwh",
               "ere_estimate")

# contains(), not LIKE: what a person types is text, never a pattern. The table is sorted by partner and quarter,
# so DuckDB reads only the partner's quarter's row groups.
_LISTED = "from pages.customer_list as customers where partner_id = $partner and quarter_start = $start"
_FILTERED = f"""{_LISTED}
    and ($search is null
         or contains(customers.ref_lower, lower($search))
         or contains(customers.name_lower, lower($search))
         or contains(customers.ean, $search))
    and ($status is null or customers.status = $status)
    and ($reason is null or list_contains(customers.reason_list, $reason))"""
# the columns of queries.CUSTOMERS
_COLUMNS = "* exclude (partner_id, quarter_start, position, ref_lower, name_lower, reason_list)"
_MATCHING = f"select {_COLUMNS} {_FILTERED}"


@dataclass(frozen=True)
class CustomerFilter:
    search: str | None = None
    status: str | None = None
    reason: str | None = None

    def params(self, partner_id: str, quarter: Quarter) -> dict:
        return {"partner": partner_id, "start": quarter.start, "search": self.search or None,
                "status": self.status or None, "reason": self.reason or None}


def quarters(con: duckdb.DuckDBPyConnection, partner_id: str, today: date) -> list[Quarter]:
    """The partner's built quarters up to today, newest first."""
    return [Quarter.containing(start) for (start,) in con.execute(
        "select distinct quarter_start from marts.fct_customer_quarter_status "
        "where partner_id = ? and quarter_start <= ? order by quarter_start desc", [partner_id, today]).fetchall()]


def customer_page(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter, wanted: CustomerFilter,
                  page: int) -> tuple[list[dict], int]:
    """The page's customers (1-based, PAGE_SIZE each) and how many match in all."""
    params = wanted.params(partner_id, quarter)
    total = con.execute(f"select count(*) from ({_MATCHING})", params).fetchone()[0]
    # the page's positions first, then only their rows: sorting every matching row's every column to skip to
    # the last page costs more than the rest of the request
    rows = _dicts(con.execute(f"""
        with page as (select position {_FILTERED} order by position limit {PAGE_SIZE} offset $offset)
        select {_COLUMNS} {_LISTED} and position in (select position from page) order by position
    """, {**params, "offset": (page - 1) * PAGE_SIZE}))
    return rows, total


def customer_csv_rows(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter,
                      wanted: CustomerFilter) -> list[tuple]:
    """Every matching customer, CSV_COLUMNS, for the list's export to Dutch Excel: figures with a decimal comma,
    to the places a person reads (lib/formatting.py)."""
    places = {"kwh": KWH_PLACES, "eligible_kwh": KWH_PLACES, "ere_estimate": ERE_PLACES}
    return [tuple(spreadsheet_number(value, places[column]) if column in places else value
                  for column, value in zip(CSV_COLUMNS, row))
            for row in con.execute(f"select {', '.join(CSV_COLUMNS)} from ({_MATCHING}) order by customer_ref",
                                   wanted.params(partner_id, quarter)).fetchall()]


def customer(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter, customer_ref: str) -> dict | None:
    """The customer's report row, or None if the partner has no such customer."""
    rows = _dicts(con.execute(f"{_MATCHING} and customer_ref = $ref",
                              {**CustomerFilter().params(partner_id, quarter), "ref": customer_ref}))
    return rows[0] if rows else None


def customer_months(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter,
                    customer_ref: str) -> list[dict]:
    """The customer's statement months (queries.monthly_energy per customer), none if they had no sessions."""
    return _dicts(con.execute(
        "select customer_ref, month, kwh, eligible_kwh, ere from pages.customer_months "
        "where partner_id = ? and quarter_start = ? and customer_ref = ? order by month",
        [partner_id, quarter.start, customer_ref]))


def partner_months(con: duckdb.DuckDBPyConnection, partner_id: str, start: date, end: date) -> list[dict]:
    """queries.monthly_energy of the partner in [start, end): the quarter and year pages' months."""
    return _dicts(con.execute(
        "select cast(null as varchar) as customer_ref, month, kwh, eligible_kwh, ere from pages.partner_months "
        "where partner_id = ? and month >= ? and month < ? order by month", [partner_id, start, end]))


def reasons(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [reason for (reason,) in con.execute(
        "select reason from reference.eligibility_reasons order by reason").fetchall()]


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
