"""The REV ledger: what was submitted to the register, line by line, and what the REV issued for it.

It lives in the warehouse (schema `ledger`) so a verifier and the payouts stage read it with SQL. It is
append-only: this module only ever inserts. A submitted booking is never recomputed; its files are
rendered again from these rows. Drafts (schema `registration`) are the replaceable proposals a quarter run
makes; `ledger.booked_units` shows both, with their status.

DuckDB allows one writing process: the quarter run writes drafts inside its run, the CLI writes the
ledger when no run holds the warehouse.
"""

from __future__ import annotations

import duckdb

# One booking line: per EAN per booking, a 'regular' line (the booking quarter's own kWh) and/or a
# 'correction' line (late changes to earlier, submitted quarters of the same delivery year), or a
# 'supplementary' line in a supplementary booking of the year.
LINE_COLUMNS = """
    booking_id varchar not null,
    booking_quarter_start date not null,
    delivery_year integer not null,
    line_number integer not null,
    kind varchar not null,
    partner_id varchar not null,
    customer_ref varchar not null,
    ean varchar not null,
    delivery_period_start date not null,
    delivery_period_end date not null,
    kwh decimal(18, 3) not null,
    ere_per_kwh decimal(20, 10) not null,
    ere_estimate decimal(38, 12) not null,
    connection_name varchar,
    street varchar,
    house_number varchar,
    postal_code varchar,
    city varchar,
    mandate_issued_on date,
    mandate_valid_from date,
    mandate_valid_until date,
    reason varchar
"""

# Which delivery quarters a line's kWh belong to: the accounting that makes "nothing twice" checkable
# (per EAN and delivery quarter, regular + corrections = the quarter's eligible kWh, rounded once).
LINE_QUARTER_COLUMNS = """
    booking_id varchar not null,
    line_number integer not null,
    partner_id varchar not null,
    ean varchar not null,
    delivery_quarter_start date not null,
    kwh decimal(18, 3) not null
"""

_DDL = f"""
create schema if not exists ledger;
create schema if not exists registration;
create table if not exists ledger.rev_submissions (
    booking_id varchar not null,
    booking_kind varchar not null,
    delivery_year integer not null,
    booking_quarter_start date not null,
    submitted_at timestamptz not null,
    submitted_by varchar not null,
    line_count integer not null,
    kwh decimal(18, 3) not null,
    ere_estimate decimal(38, 12) not null,
    xml_sha256 varchar not null,
    csv_sha256 varchar not null,
    xsd_sha256 varchar not null
);
create table if not exists ledger.rev_booking_lines ({LINE_COLUMNS});
create table if not exists ledger.rev_booking_line_quarters ({LINE_QUARTER_COLUMNS});
-- Imports are ordered by this sequence, not by imported_at: two imports within one tick of a pinned
-- clock (JOULO_AS_OF) would otherwise have no "latest".
create sequence if not exists ledger.rev_results_import_seq;
create table if not exists ledger.rev_results (
    import_seq bigint not null default nextval('ledger.rev_results_import_seq'),
    import_sha256 varchar not null,
    imported_at timestamptz not null,
    imported_by varchar not null,
    source_file varchar not null,
    row_number integer not null,
    booking_id varchar not null,
    ean varchar not null,
    units decimal(38, 12) not null
);
create table if not exists registration.rev_booking_drafts ({LINE_COLUMNS});
create table if not exists registration.rev_booking_draft_quarters ({LINE_QUARTER_COLUMNS});
"""

# The interface the payouts stage reads: one row per booking line, submitted or draft, with the units the
# REV issued where a result was imported (the latest import per booking and EAN, spread over the EAN's
# lines in proportion to our estimate, in 1e-12 units so the parts add up exactly), else our estimate.
_BOOKED_UNITS = """
create or replace view ledger.booked_units as
with submitted_lines as (
    select lines.*, 'submitted' as status
    from ledger.rev_booking_lines as lines
),

draft_lines as (
    select drafts.*, 'draft' as status
    from registration.rev_booking_drafts as drafts
    where drafts.booking_id not in (select booking_id from ledger.rev_submissions)
),

lines as (
    select * from submitted_lines
    union all by name
    select * from draft_lines
),

issued as (
    select booking_id, ean, cast(units * 1000000000000 as hugeint) as issued_pico
    from ledger.rev_results
    qualify row_number() over (partition by booking_id, ean order by import_seq desc) = 1
),

shares as (
    select
        lines.*,
        issued.issued_pico,
        cast(lines.ere_estimate * 1000000000000 as hugeint) as estimate_pico,
        sum(cast(lines.ere_estimate * 1000000000000 as hugeint))
            over (partition by lines.booking_id, lines.partner_id, lines.ean) as ean_estimate_pico,
        row_number() over (partition by lines.booking_id, lines.partner_id, lines.ean order by lines.line_number)
            as line_rank
    from lines
    left join issued
        on lines.status = 'submitted'
        and lines.booking_id = issued.booking_id
        and lines.ean = issued.ean
),

pro_rata as (
    select
        *,
        case
            when issued_pico is null then null
            when ean_estimate_pico = 0 then case when line_rank = 1 then issued_pico else 0 end
            else issued_pico * estimate_pico // ean_estimate_pico
        end as share_pico
    from shares
),

allocated as (
    select
        *,
        -- the first line takes what integer division left over, so the lines sum to what was issued
        case
            when line_rank = 1
                then issued_pico - (sum(share_pico) over (partition by booking_id, partner_id, ean) - share_pico)
            else share_pico
        end as units_pico
    from pro_rata
),

final as (
    select
        partner_id,
        customer_ref,
        ean,
        booking_quarter_start,
        delivery_year,
        booking_id,
        kind,
        kwh,
        case
            when units_pico is null then ere_estimate
            else cast(cast(units_pico as decimal(38, 0)) * cast(0.000000000001 as decimal(13, 12)) as decimal(38, 12))
        end as units,
        case when units_pico is null then 'estimate' else 'rev_issued' end as units_source,
        status,
        delivery_period_start,
        delivery_period_end,
        line_number
    from allocated
)

select * from final
"""


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ledger and draft tables and the `ledger.booked_units` view if they are missing."""
    con.execute(_DDL)
    con.execute(_BOOKED_UNITS)


def submitted_booking_ids(con: duckdb.DuckDBPyConnection, delivery_year: int | None = None) -> set[str]:
    query = "select booking_id from ledger.rev_submissions"
    if delivery_year is None:
        return {row[0] for row in con.execute(query).fetchall()}
    return {row[0] for row in con.execute(query + " where delivery_year = ?", [delivery_year]).fetchall()}
