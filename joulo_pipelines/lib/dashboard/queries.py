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

    @property
    def everyone(self) -> bool:
        """Whether it leaves the whole list (an empty field filters nothing)."""
        return not (self.search or self.status or self.reason)

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
    """The page's customers (1-based, PAGE_SIZE each) and how many match in all, from one pass over the
    matching rows: their count and the page's positions, then only those positions' rows (sorting every
    matching row's every column to skip to the last page costs more than the rest of the request). A search
    reads the partner's list once, not once to count and again for the page. Always one row back: with no
    customer on the page, one without columns but the count."""
    rows = _dicts(con.execute(f"""
        with found as (
            select count(*) as matching,
                   list(position order by position)[$offset + 1:$offset + {PAGE_SIZE}] as positions
            from (select position {_FILTERED})
        ),
        listed as (
            select position as listed_at, {_COLUMNS} {_LISTED}
                and position in (select unnest(positions) from found)
        )
        select listed.* exclude (listed_at), found.matching
        from found left join listed on true
        order by listed.listed_at
    """, {**wanted.params(partner_id, quarter), "offset": (page - 1) * PAGE_SIZE}))
    total = rows[0].pop("matching")
    for row in rows[1:]:
        del row["matching"]
    return [row for row in rows if row["customer_ref"] is not None], total


def whole_list_page(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter, page: int) -> list[dict]:
    """A page of all the partner's customers, without their count (matching_count, the same for every page)."""
    return _dicts(con.execute(f"""
        select {_COLUMNS} {_LISTED} and position > $offset and position <= $offset + {PAGE_SIZE} order by position
    """, {"partner": partner_id, "start": quarter.start, "offset": (page - 1) * PAGE_SIZE}))


def matching_count(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter, wanted: CustomerFilter) -> int:
    """How many customers match."""
    return con.execute(f"select count(*) from ({_MATCHING})", wanted.params(partner_id, quarter)).fetchone()[0]


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
    rows = _dicts(con.execute(f"select {_COLUMNS} {_LISTED} and customer_ref = $ref",
                              {"partner": partner_id, "start": quarter.start, "ref": customer_ref}))
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
