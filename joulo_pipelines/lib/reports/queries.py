"""The figures of a partner's report, each a set-based query over the warehouse with the partner in its
WHERE clause: nothing of another partner is ever read into Python.

Sources: the eligibility and energy marts, the REV ledger (`ledger.booked_units`), the payout ledger (an
approved quarter) or the payouts stage's proposal.csv (not approved yet), and the landing zone's
manifests, OCPI cursor and OCPP messages for freshness. Money is integer cents, energy Decimal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from joulo_pipelines.lib.iban import mask_iban_sql
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.payouts.amounts import Entry, beyond_net
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.warehouse import has_table

MANDATE_REASONS = ("mandate_not_whole_years", "mandate_not_started", "mandate_expired", "mandate_revoked",
                   "mandate_not_signed", "mandate_signing_record_missing", "mandate_consent_text_unknown",
                   "mandate_renewed_tacitly")
FILE_DATASETS = ("customers", "charge_points", "sessions", "meter_readings")
MONEY_COLUMNS = ("gross_cents", "fee_cents", "partner_share_cents", "net_cents", "adjustment_cents",
                 "carried_in_cents", "paid_cents", "carried_out_cents")


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[dict]:
    # DuckDB refuses named parameters a statement does not use; the windows are shared by many queries.
    cursor = con.execute(sql, {name: value for name, value in params.items() if f"${name}" in sql})
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> dict:
    rows = _rows(con, sql, params)
    return rows[0] if rows else {}


def _window(partner_id: str, quarter: Quarter) -> dict:
    return {"partner": partner_id, "start": quarter.start, "end": quarter.end}


def customer_counts(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> dict:
    """Customers delivered, and those whose mandate covers the quarter: no charge point of theirs fails a
    mandate rule in the quarter's eligibility (the one place the mandate rules live)."""
    return _one(con, f"""
        with customers as (
            select customer_ref from intermediate.int_customers_latest where partner_id = $partner
        ),
        mandates as (
            select customer_ref,
                   bool_or(list_has_any(string_split(coalesce(reasons, ''), ';'), {list(MANDATE_REASONS)}))
                       as has_mandate_problem
            from marts.fct_charge_point_eligibility
            where partner_id = $partner and quarter_start = $start
            group by customer_ref
        )
        select count(*) as enrolled,
               count(*) filter (where mandates.customer_ref is not null and not mandates.has_mandate_problem)
                   as valid_mandate
        from customers left join mandates using (customer_ref)
    """, _window(partner_id, quarter))


def charge_point_status(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> tuple[dict, list[dict]]:
    """(charge points per eligibility status, and per failing reason with its rule and action)."""
    params = _window(partner_id, quarter)
    counts = {row["eligibility_status"]: row["charge_points"] for row in _rows(con, """
        select eligibility_status, count(*) as charge_points
        from marts.fct_charge_point_eligibility
        where partner_id = $partner and quarter_start = $start
        group by eligibility_status
    """, params)}
    reasons = _rows(con, """
        with failing as (
            select unnest(string_split(reasons, ';')) as reason
            from marts.fct_charge_point_eligibility
            where partner_id = $partner and quarter_start = $start and reasons is not null
        )
        select failing.reason, count(*) as charge_points, catalogue.rule, catalogue.action,
               catalogue.can_be_fixed
        from failing left join reference.eligibility_reasons as catalogue using (reason)
        group by all
        order by charge_points desc, reason
    """, params)
    return {status: counts.get(status, 0) for status in ("eligible", "action_needed", "not_eligible")}, reasons


def quarter_energy(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> dict:
    """Clean kWh and sessions of the quarter (split at its edges), and the eligible kWh and ERE estimate
    that booking reads."""
    return _one(con, """
        with clean as (
            select coalesce(sum(kwh), 0) as kwh, coalesce(sum(session_count), 0) as sessions
            from marts.fct_charge_point_quarter_energy
            where partner_id = $partner and quarter_start = $start
        ),
        eligible as (
            select coalesce(sum(eligible_kwh), 0) as eligible_kwh,
                   coalesce(sum(eligible_ere_estimate), 0) as ere_estimate, count(distinct ean) as eligible_eans
            from marts.fct_ean_quarter_energy
            where partner_id = $partner and quarter_start = $start and eligible_kwh > 0
        )
        select * from clean cross join eligible
    """, _window(partner_id, quarter))


def monthly_energy(con: duckdb.DuckDBPyConnection, partner_id: str, start: date, end: date,
                   by_customer: bool = False) -> list[dict]:
    """Per month in [start, end) (and per customer when asked): clean kWh of the sessions that started in it
    (Europe/Amsterdam), the part on charge points eligible in that quarter within their delivery period, and its
    ERE estimate at the delivery year's factor (marts.dim_ere_factors)."""
    return _rows(con, monthly_energy_sql(by_customer),
                 {"partner": partner_id, "start": start, "end": end, "by_customer": by_customer})


def monthly_energy_sql(by_customer: bool, every_partner: bool = False) -> str:
    """monthly_energy's query ($partner, $start, $end, $by_customer). With `every_partner`, of every partner in
    $partners at once, in one pass over the sessions, with their partner_id first: the dashboard's snapshot
    holds it so (lib/dashboard/snapshot.py)."""
    customer = "eligibility.customer_ref" if by_customer else "cast(null as varchar)"
    if every_partner:
        partners, of_partner = "select unnest($partners::varchar[])", "list_contains($partners, partner_id)"
    else:
        partners, of_partner = "select $partner", "partner_id = $partner"
    partner_column = "keys.partner_id, " if every_partner else ""
    return f"""
        with partners as (
            {partners} as partner_id
        ),
        months as (
            select cast(month as date) as month
            from generate_series(cast($start as timestamp), cast($end as timestamp) - interval 1 month,
                                 interval 1 month) as months(month)
        ),
        -- The local day of each hour (UTC) of the local days [$start, $end), in order: a session finds its day by
        -- the hour it started in, where a time zone conversion per session took three quarters of the query at
        -- national scale (Amsterdam's offset from UTC is whole hours).
        hours as (
            select min(epoch_ms(hour) // 3600000) as first_hour,
                   list(cast(timezone('Europe/Amsterdam', hour) as date) order by hour) as local_days
            from range(timezone('Europe/Amsterdam', cast($start as timestamp)),
                       timezone('Europe/Amsterdam', cast($end as timestamp)), interval 1 hour) as hours(hour)
        ),
        sessions as (
            select partner_id, charge_point_ref, clean_kwh,
                   hours.local_days[epoch_ms(started_at) // 3600000 - hours.first_hour + 1] as local_day
            from marts.fct_session_versions
            cross join hours
            where {of_partner} and is_latest and exclusion_reason is null and ean is not null
                and started_at >= timezone('Europe/Amsterdam', cast($start as timestamp))
                and started_at < timezone('Europe/Amsterdam', cast($end as timestamp))
        ),
        classified as (
            select sessions.partner_id, {customer} as customer_ref,
                   cast(date_trunc('month', sessions.local_day) as date) as month,
                   sessions.clean_kwh as kwh,
                   case when eligibility.is_eligible
                             and sessions.local_day between eligibility.delivery_period_start
                                                        and eligibility.delivery_period_end
                        then sessions.clean_kwh else 0 end as eligible_kwh
            from sessions
            left join marts.fct_charge_point_eligibility as eligibility
                on eligibility.partner_id = sessions.partner_id
                and eligibility.charge_point_ref = sessions.charge_point_ref
                and eligibility.quarter_start = cast(date_trunc('quarter', sessions.local_day) as date)
        ),
        per_month as (
            select partner_id, customer_ref, month, sum(kwh) as kwh, sum(eligible_kwh) as eligible_kwh
            from classified group by all
        ),
        keys as (
            select distinct partner_id, customer_ref, months.month from per_month cross join months
            union
            select partner_id, cast(null as varchar), month from partners cross join months where not $by_customer
        )
        select {partner_column}keys.customer_ref, keys.month,
               cast(coalesce(per_month.kwh, 0) as decimal(18, 6)) as kwh,
               cast(coalesce(per_month.eligible_kwh, 0) as decimal(18, 6)) as eligible_kwh,
               cast(coalesce(per_month.eligible_kwh, 0) * factors.ere_per_kwh as decimal(38, 12)) as ere
        from keys
        left join per_month
            on per_month.partner_id = keys.partner_id and per_month.month = keys.month
            and per_month.customer_ref is not distinct from keys.customer_ref
        left join marts.dim_ere_factors as factors on factors.delivery_year = year(keys.month)
        where not $by_customer or keys.customer_ref is not null
        order by keys.partner_id, keys.customer_ref nulls first, keys.month
    """


def adjustments(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> list[dict]:
    """Delivered kWh that did not count, per reason (marts.fct_energy_adjustments)."""
    return _rows(con, """
        select reason_code, count(distinct (session_ref, source_record)) as sessions,
               cast(sum(kwh) as decimal(18, 6)) as kwh
        from marts.fct_energy_adjustments
        where partner_id = $partner and quarter_start = $start
        group by reason_code
        order by kwh desc, reason_code
    """, _window(partner_id, quarter))


def cleaning_reasons(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each adjustment reason in the partner's words (data/reference/cleaning_reasons.csv, through dbt)."""
    return dict(con.execute("select reason_code, description from reference.cleaning_reason_texts").fetchall())


def signed_energy(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> dict:
    if not has_table(con, "marts", "fct_partner_quarter_signed_energy"):
        return {}
    return _one(con, """
        select kwh, signed_verified_kwh, signed_invalid_kwh, unsigned_kwh, verified_kwh_share
        from marts.fct_partner_quarter_signed_energy
        where partner_id = $partner and quarter_start = $start
    """, _window(partner_id, quarter))


@dataclass
class Bookings:
    lines: list[dict] = field(default_factory=list)  # per booking and kind
    booked_kwh: Decimal = Decimal(0)
    submitted_kwh: Decimal = Decimal(0)
    issued_units: Decimal = Decimal(0)
    estimated_units: Decimal = Decimal(0)


def bookings(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> Bookings:
    """The bookings made in the quarter (regular, corrections of earlier quarters, supplementary), from
    the REV ledger: draft or submitted, and the units the REV issued where a result was imported."""
    if not has_table(con, "ledger", "booked_units"):
        return Bookings()
    lines = _rows(con, """
        select booked.booking_id, booked.kind, booked.status, count(distinct booked.ean) as eans,
               sum(booked.kwh) as kwh, sum(booked.units) as units,
               coalesce(sum(booked.units) filter (where booked.units_source = 'rev_issued'), 0) as issued_units,
               any_value(submissions.submitted_at) as submitted_at
        from ledger.booked_units as booked
        left join ledger.rev_submissions as submissions using (booking_id)
        where booked.partner_id = $partner and booked.booking_quarter_start = $start
        group by all
        order by booked.booking_id, booked.kind desc
    """, _window(partner_id, quarter))
    return Bookings(
        lines=lines,
        booked_kwh=sum((line["kwh"] for line in lines), Decimal(0)),
        submitted_kwh=sum((line["kwh"] for line in lines if line["status"] == "submitted"), Decimal(0)),
        issued_units=sum((line["issued_units"] for line in lines), Decimal(0)),
        estimated_units=sum((line["units"] - line["issued_units"] for line in lines), Decimal(0)),
    )


def customer_bookings(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter,
                      customer_ref: str | None = None) -> dict[str, dict]:
    """Per customer (or of the one `customer_ref`) what is booked for them in the quarter."""
    if not has_table(con, "ledger", "booked_units"):
        return {}
    return {row["customer_ref"]: row for row in _rows(con, """
        select customer_ref, sum(kwh) as booked_kwh, sum(units) as booked_units,
               case when bool_and(status = 'submitted') then 'submitted'
                    when bool_or(status = 'submitted') then 'partly submitted' else 'draft' end as booking_status,
               bool_or(units_source = 'rev_issued') as is_issued
        from ledger.booked_units
        where partner_id = $partner and booking_quarter_start = $start
            and customer_ref = coalesce($customer, customer_ref)
        group by customer_ref
    """, {**_window(partner_id, quarter), "customer": customer_ref})}


@dataclass
class Payouts:
    state: str  # approved | proposal | not_computed
    payout_model: str  # the approved batch's, else the contract's in force in the quarter
    approved_at: datetime | None = None
    payment_date: date | None = None
    totals: dict = field(default_factory=dict)  # the MONEY_COLUMNS summed, and line counts
    lines: dict[str, dict] = field(default_factory=dict)  # per customer_ref


_PAYOUT_COLUMNS = ("customer_ref, kwh, units, units_source, price_eur_per_ere, " + ", ".join(MONEY_COLUMNS)
                   + ", status, reason")
# proposal.csv states euros with two decimals; back to integer cents exactly (decimal, never a float).
_PROPOSAL = "select customer_ref, cast(kwh as decimal(18, 3)) as kwh, cast(units as decimal(38, 12)) as units, " \
            "units_source, price_eur_per_ere, " + ", ".join(
                f"cast(cast({column.removesuffix('_cents').replace('carried_out', 'carried_over')}_eur "
                f"as decimal(18, 2)) * 100 as bigint) as {column}" for column in MONEY_COLUMNS) \
            + ", status, reason from read_csv($proposal, header = true, all_varchar = true)"


def payouts(con: duckdb.DuckDBPyConnection, data_dir: DataDir, partner_id: str, quarter: Quarter,
            payout_model: str, lines: bool = True, customer_ref: str | None = None) -> Payouts:
    """The approved batch from the payout ledger; before approval, the proposal the payouts stage wrote, to be
    paid by `payout_model` (the contract's in force in the quarter). With every customer's line, none
    (`lines=False`: a page of totals) or the one customer's (`customer_ref`)."""
    params = _window(partner_id, quarter)
    batch = _one(con, """
        select approved_at, payment_date, payout_model from ledger.payout_batches
        where partner_id = $partner and quarter_start = $start
    """, params) if has_table(con, "ledger", "payout_batches") else {}
    proposal = data_dir.exports / quarter.label / "payouts" / partner_id / "proposal.csv"
    if batch:
        source = (f"select {_PAYOUT_COLUMNS} from ledger.payout_lines "
                  "where partner_id = $partner and quarter_start = $start")
        result = Payouts("approved", batch["payout_model"], batch["approved_at"], batch["payment_date"])
    elif proposal.exists():
        source, params = _PROPOSAL, {"proposal": str(proposal)}
        result = Payouts("proposal", payout_model)
    else:
        return Payouts("not_computed", payout_model)
    if lines:
        result.lines = {row["customer_ref"]: row for row in _rows(
            con, f"select * from ({source}) where customer_ref = coalesce($customer, customer_ref) "
                 "order by customer_ref", {**params, "customer": customer_ref})}
    if lines and batch and has_table(con, "ledger", "payout_entries"):
        for ref, entries in account_entries(con, partner_id, quarter).items():
            if ref in result.lines:
                result.lines[ref]["entries"] = entries
    sums = ", ".join(f"coalesce(sum({column}), 0)::bigint as {column}" for column in MONEY_COLUMNS)
    result.totals = _one(con, f"""
        select {sums}, count(*) as customers,
               count(*) filter (where paid_cents > 0) as paid_customers,
               count(*) filter (where status = 'held') as held_customers
        from ({source})
    """, params)
    return result


def account_entries(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> dict[str, list[dict]]:
    """Per customer the approved batch's entries a statement lists under the net (kind, quarter, delivery
    year, cents)."""
    entries: dict[str, list[Entry]] = {}
    for row in con.execute("select customer_ref, entry_kind, for_quarter_start, delivery_year, line_kind, amount_cents "
                           "from ledger.payout_entries where partner_id = ? and quarter_start = ? "
                           "order by all", [partner_id, quarter.start]).fetchall():
        entries.setdefault(row[0], []).append(Entry(*row))
    return {ref: [{"kind": e.kind, "quarter": Quarter.containing(e.for_quarter_start).label, "year": e.delivery_year,
                   "amount_cents": e.amount_cents} for e in beyond_net(listed, quarter)]
            for ref, listed in entries.items()}


# One row per customer of the partner ($partner, $start): mandate, and from marts.fct_customer_quarter_status
# (the one definition the API shares) their charge points, status, every failing reason, the quarter's clean
# and eligible kWh and ERE estimate. The dashboard pages through it (lib/dashboard/queries.py).
CUSTOMERS = f"""
        with customer as (
            select customer_ref, customer_name, ean, language, mandate_valid_from, mandate_valid_until, revoked_at,
                   -- masked here, as the payout email masks it: the IBAN itself never leaves the warehouse
                   {mask_iban_sql('iban')} as iban_masked
            from intermediate.int_customers_latest
            where partner_id = $partner
        ),
        status as (
            select * from marts.fct_customer_quarter_status
            where partner_id = $partner and quarter_start = $start
        )
        select customer.*,
               status.charge_point_count as charge_points,
               status.eligible_charge_point_count as eligible_points,
               status.status,
               coalesce(status.reasons, '') as reasons,
               status.kwh,
               status.session_count as sessions,
               status.eligible_kwh,
               status.ere_estimate
        from customer
        left join status using (customer_ref)
        order by customer.customer_ref
"""


def customers(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> list[dict]:
    """One row per customer of the partner (CUSTOMERS)."""
    return _rows(con, CUSTOMERS, _window(partner_id, quarter))


def charge_points_by_customer(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter,
                               customer_ref: str | None = None) -> dict[str, list]:
    """Per customer their charge points in the quarter; of one customer only when `customer_ref` is given."""
    by_customer: dict[str, list] = {}
    for row in _rows(con, """
        select customer_ref, charge_point_ref, brand, model, eligibility_status, coalesce(reasons, '') as reasons,
               coalesce(actions, '') as actions, delivery_period_start, delivery_period_end,
               cast(coalesce(kwh, 0) as decimal(18, 6)) as kwh,
               cast(coalesce(eligible_kwh, 0) as decimal(18, 6)) as eligible_kwh
        from marts.fct_charge_point_eligibility
        where partner_id = $partner and quarter_start = $start and customer_ref is not null
            and customer_ref = coalesce($customer, customer_ref)
        order by customer_ref, charge_point_ref
    """, {**_window(partner_id, quarter), "customer": customer_ref}):
        by_customer.setdefault(row["customer_ref"], []).append(row)
    return by_customer


def freshness(data_dir: DataDir, partner_id: str) -> list[dict]:
    """Per source, when we last heard from the partner: the last file landed, the end of the last complete
    OCPI pull (its cursor), the last OCPP message landed. Read from this partner's landing folder only."""
    folder = data_dir.landing / partner_id
    con = duckdb.connect()
    try:
        sources = [{"source": "files", **_files_freshness(con, folder)},
                   {"source": "ocpi", **_ocpi_freshness(con, folder)},
                   {"source": "ocpp", **_ocpp_freshness(con, folder)}]
    finally:
        con.close()
    return sources


def _files_freshness(con: duckdb.DuckDBPyConnection, folder: Path) -> dict:
    if not any((folder / "manifest").glob("*.json")):
        return {"last_at": None, "count": 0, "detail": None}
    return _one(con, f"""
        select max(received_at) as last_at, count(*) as count,
               -- files of one drop share received_at: the dataset name breaks the tie, so a rerun reads the same
               arg_max(dataset, (received_at, dataset)) as detail,
               count(*) filter (where status = 'rejected') as rejected
        from read_json($glob, format = 'auto', columns = {{dataset: 'VARCHAR', received_at: 'TIMESTAMPTZ',
                                                          status: 'VARCHAR'}})
        where dataset in {FILE_DATASETS}
    """, {"glob": str(folder / "manifest" / "*.json")})


def _ocpi_freshness(con: duckdb.DuckDBPyConnection, folder: Path) -> dict:
    cursor = folder / "ocpi_cursor.json"
    if not cursor.exists():
        return {"last_at": None, "count": 0, "detail": None}
    return _one(con, """
        select cast(date_from as timestamptz) as last_at, pages as count, 'pages in the last pull' as detail
        from read_json($path, columns = {date_from: 'VARCHAR', pages: 'BIGINT'})
    """, {"path": str(cursor)})


def _ocpp_freshness(con: duckdb.DuckDBPyConnection, folder: Path) -> dict:
    if not any((folder / "ocpp_messages").glob("*.parquet")):
        return {"last_at": None, "count": 0, "detail": None}
    return _one(con, """
        select max(received_at) as last_at, count(*) as count, 'messages landed' as detail
        from read_parquet($glob)
    """, {"glob": str(folder / "ocpp_messages" / "*.parquet")})
