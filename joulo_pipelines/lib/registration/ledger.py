"""The REV ledger: what was prepared and submitted to the register, line by line, which connections were
sent, and what the REV issued and the ids it gave.

It lives in the warehouse (schema `ledger`) so a verifier and the payouts stage read it with SQL. It is
append-only: this module only ever inserts. A submitted booking is never recomputed; its files are
rendered again from these rows. Drafts (schema `registration`) are the replaceable proposals a quarter run
makes; `ledger.booked_units` shows both, with their status.

DuckDB allows one writing process: the quarter run writes drafts inside its run, the CLI writes the
ledger when no run holds the warehouse.
"""

from __future__ import annotations

import duckdb

# One booking line per partner, EAN, delivery quarter and booking, of one of two kinds:
#   'delivery'   a delivery registered for the first time: kwh is its kWh, previous_kwh 0
#   'amendment'  a change to a delivery submitted in an earlier booking (amends_booking_id): kwh is the
#                NEW total of that delivery, previous_kwh the total before; never negative
# ere_estimate is our estimate of what the line adds: (kwh - previous_kwh) x ere_per_kwh. The register's id of
# the amended delivery is in register_delivery_id where it was imported before the amendment was prepared.
LINE_COLUMNS = """
    booking_id varchar not null,
    booking_quarter_start date not null,
    delivery_year integer not null,
    line_number integer not null,
    kind varchar not null,
    partner_id varchar not null,
    customer_ref varchar not null,
    ean varchar not null,
    delivery_quarter_start date not null,
    delivery_period_start date not null,
    delivery_period_end date not null,
    kwh decimal(18, 3) not null,
    previous_kwh decimal(18, 3) not null,
    amends_booking_id varchar,
    register_delivery_id varchar,
    ere_per_kwh decimal(20, 10) not null,
    ere_estimate decimal(38, 12) not null,
    reason varchar
"""

# A connection as sent to the register in a booking's connections.xml: per EAN once, and again only when
# one of CONNECTION_FIELDS changed since it was last sent.
CONNECTION_FIELDS = [
    "holder_name", "street", "house_number", "postal_code", "city", "grid_operator", "mandate_issued_on",
    "mandate_valid_from", "mandate_valid_until", "company_name", "kvk_number", "signatory_name",
]
CONNECTION_COLUMNS = """
    booking_id varchar not null,
    partner_id varchar not null,
    customer_ref varchar not null,
    ean varchar not null,
    register_connection_id varchar,
    holder_name varchar,
    street varchar,
    house_number varchar,
    postal_code varchar,
    city varchar,
    grid_operator varchar,
    mandate_issued_on date,
    mandate_valid_from date,
    mandate_valid_until date,
    company_name varchar,
    kvk_number varchar,
    signatory_name varchar
"""

_DDL = f"""
create schema if not exists ledger;
create schema if not exists registration;
-- Four eyes: `joulo rev submit` records a preparation (who, when, the register files' hashes); `joulo rev
-- approve` by someone else makes the latest prepared package of the booking a submission.
create sequence if not exists ledger.rev_preparations_seq;
create table if not exists ledger.rev_preparations (
    preparation_seq bigint not null default nextval('ledger.rev_preparations_seq'),
    booking_id varchar not null,
    prepared_at timestamptz not null,
    prepared_by varchar not null,
    line_count integer not null,
    connections_sha256 varchar not null,
    deliveries_sha256 varchar not null,
    amendments_sha256 varchar not null
);
-- Submissions are ordered by this sequence (which connection data was sent last), not by a time: a
-- pinned clock (JOULO_AS_OF) gives several the same instant.
create sequence if not exists ledger.rev_submissions_seq;
create table if not exists ledger.rev_submissions (
    booking_id varchar not null,
    booking_kind varchar not null,
    delivery_year integer not null,
    booking_quarter_start date not null,
    submission_seq bigint not null default nextval('ledger.rev_submissions_seq'),
    prepared_at timestamptz not null,
    prepared_by varchar not null,
    approved_at timestamptz not null,
    approved_by varchar not null,
    submitted_at timestamptz not null,
    line_count integer not null,
    connection_count integer not null,
    kwh_change decimal(18, 3) not null,
    ere_estimate decimal(38, 12) not null,
    connections_sha256 varchar not null,
    deliveries_sha256 varchar not null,
    amendments_sha256 varchar not null,
    schemas_sha256 varchar not null
);
create table if not exists ledger.rev_booking_lines ({LINE_COLUMNS});
create table if not exists ledger.rev_connections ({CONNECTION_COLUMNS});
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
    delivery_period_start date,
    units decimal(38, 12) not null,
    connection_id varchar,
    delivery_id varchar
);
create table if not exists registration.rev_booking_drafts ({LINE_COLUMNS});
create table if not exists registration.rev_connection_drafts ({CONNECTION_COLUMNS});
"""

# Views over the ledger, replaced by every ensure_ledger:
# - rev_booking_line_quarters: which delivery quarter each submitted line's kWh change belongs to (a line
#   books exactly one), so per EAN and quarter the changes add up to the latest total;
# - rev_issued_units: per booking and EAN, what the REV issued in the latest import naming them (the
#   rows of one import for different delivery periods of the EAN add up);
# - rev_delivery_ids / rev_connection_ids: the latest id the register gave each delivery line and EAN.
_VIEWS = """
create or replace view ledger.rev_booking_line_quarters as
select booking_id, line_number, partner_id, ean, delivery_quarter_start, kwh - previous_kwh as kwh
from ledger.rev_booking_lines;

create or replace view ledger.rev_issued_units as
with latest as (
    -- every row has its own import_seq; an import is one file (its bytes are imported once)
    select *, arg_max(import_sha256, import_seq) over (partition by booking_id, ean) as latest_import
    from ledger.rev_results
)
select booking_id, ean, sum(units) as units
from latest
where import_sha256 = latest_import
group by booking_id, ean;

create or replace view ledger.rev_delivery_ids as
select lines.booking_id, lines.line_number, lines.partner_id, lines.ean, lines.delivery_quarter_start,
       results.delivery_id
from ledger.rev_booking_lines as lines
join ledger.rev_results as results
    on results.booking_id = lines.booking_id
    and results.ean = lines.ean
    and (results.delivery_period_start is null or results.delivery_period_start = lines.delivery_period_start)
where lines.kind = 'delivery' and results.delivery_id is not null
qualify row_number() over (partition by lines.booking_id, lines.line_number order by results.import_seq desc) = 1;

create or replace view ledger.rev_connection_ids as
select ean, connection_id
from ledger.rev_results
where connection_id is not null
qualify row_number() over (partition by ean order by import_seq desc) = 1;
"""

# The interface the payouts stage reads: one row per booking line, submitted or draft, with what the line
# adds: kwh is the line's change (a delivery's kWh, an amendment's new total minus the total before), units
# what the REV issued for it where a result was imported (the latest import per booking and EAN, spread over
# the EAN's lines in proportion to our estimate, in 1e-12 units so the parts add up exactly), else our
# estimate. So a payout counts an amendment once, by its difference.
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
    from ledger.rev_issued_units
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
        cast(kwh - previous_kwh as decimal(18, 3)) as kwh,
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
    con.execute(_VIEWS)
    con.execute(_BOOKED_UNITS)


def submitted_booking_ids(con: duckdb.DuckDBPyConnection, delivery_year: int | None = None) -> set[str]:
    query = "select booking_id from ledger.rev_submissions"
    if delivery_year is None:
        return {row[0] for row in con.execute(query).fetchall()}
    return {row[0] for row in con.execute(query + " where delivery_year = ?", [delivery_year]).fetchall()}
