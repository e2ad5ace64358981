"""A small dashboard world without dbt: the partners of payouts_world.py (alpha, 61 customers, enough for two
pages; beta, 3) and the mart and ledger rows the partner reports read, written directly for quarter 2026-Q2
(alpha's booked and paid), then published as the dashboard's snapshot by the code the quarter run uses."""

from __future__ import annotations

import duckdb
import yaml

from joulo_pipelines.lib.dashboard.snapshot import publish
from joulo_pipelines.lib.paths import REFERENCE_DIR, DataDir
from payouts_world import PARTNERS

QUARTER_START = "2026-04-01"
TODAY = "2026-07-15"
ALPHA_CUSTOMERS = 61
# customer i of a partner: its status by i % 3, its single charge point's failing reason, kWh 10 + i a month
STATUSES = ("eligible", "action_needed", "not_eligible")
REASONS = (None, "meter_serial_missing", "mid_meter_absent")
HOSTILE_NAME = "<script>alert(1)</script> & Zoë"  # alpha's customer A007

_WORLD = """
create schema marts; create schema intermediate; create schema reference;
create table customers as
select partner_id, i, prefix || lpad(cast(i as varchar), cast(greatest(3, length(cast(i as varchar))) as integer), '0')
    as customer_ref,
    case when partner_id = 'alpha' and i = 7 then $hostile
         when i % 10 = 4 then 'Jansen ' || i else 'Klant ' || i end as customer_name,
    '8716' || case partner_id when 'alpha' then '1' else '2' end || lpad(cast(i as varchar), 13, '0') as ean,
    case when i % 2 = 0 then 'nl' else 'en' end as language,
    ['eligible', 'action_needed', 'not_eligible'][i % 3 + 1] as status,
    [null, 'meter_serial_missing', 'mid_meter_absent'][i % 3 + 1] as reasons,
    cast(3 * (10 + i) as decimal(18, 6)) as kwh
from (select 'alpha' as partner_id, 'A' as prefix, range as i from range(1, $alpha + 1)
      union all select 'beta', 'B', range from range(1, 4));

create table intermediate.int_customers_latest as
select partner_id, customer_ref, customer_name, ean, language, date '2026-01-01' as mandate_valid_from,
    date '2030-12-31' as mandate_valid_until, cast(null as timestamptz) as revoked_at,
    'NL91ABNA0417164300' as iban, customer_ref || '@example.org' as email
from customers;

create table marts.dim_ere_factors as
select 2026 as delivery_year, cast(0.3326940000 as decimal(20, 10)) as ere_per_kwh;

create table marts.fct_charge_point_eligibility as
select partner_id, date '2026-04-01' as quarter_start, customer_ref, 'CP-' || customer_ref as charge_point_ref,
    ean, 'Alfen' as brand, 'Eve Single' as model, status as eligibility_status, status = 'eligible' as is_eligible,
    reasons, case when reasons is null then null else 'fix it' end as actions,
    date '2026-04-01' as delivery_period_start, date '2026-06-30' as delivery_period_end, kwh,
    case when status = 'eligible' then kwh else 0 end as eligible_kwh
from customers;

create table marts.fct_customer_quarter_status as
select partner_id, date '2026-04-01' as quarter_start, customer_ref, 1 as charge_point_count,
    case when status = 'eligible' then 1 else 0 end as eligible_charge_point_count, status, reasons, kwh,
    3 as session_count, case when status = 'eligible' then kwh else 0 end as eligible_kwh,
    cast(case when status = 'eligible' then kwh else 0 end::decimal(38, 6) * 0.3326940000 as decimal(38, 12))
        as ere_estimate
from customers;

create table marts.fct_charge_point_quarter_energy as
select partner_id, date '2026-04-01' as quarter_start, 'CP-' || customer_ref as charge_point_ref, kwh,
    3 as session_count
from customers;

create table marts.fct_ean_quarter_energy as
select partner_id, date '2026-04-01' as quarter_start, ean, case when status = 'eligible' then kwh else 0 end
    as eligible_kwh,
    cast(case when status = 'eligible' then kwh else 0 end::decimal(38, 6) * 0.3326940000 as decimal(38, 12))
        as eligible_ere_estimate
from customers;

create table marts.fct_session_versions as
select partner_id, 'CP-' || customer_ref as charge_point_ref, ean, cast(10 + i as decimal(18, 6)) as clean_kwh,
    timestamptz '2026-04-10 10:00:00+00' + to_months(month) as started_at, true as is_latest,
    cast(null as varchar) as exclusion_reason
from customers cross join range(3) as months(month);

create table marts.fct_energy_adjustments as
select partner_id, date '2026-04-01' as quarter_start, 'duplicate_session' as reason_code, 'S1' as session_ref,
    'file' as source_record, cast(1.5 as decimal(18, 6)) as kwh
from customers where i = 1;

-- alpha's quarter approved and paid: each eligible customer their ERE at 0.44 EUR, less the 15 % fee
create schema ledger;
create table ledger.payout_batches as
select 'alpha' as partner_id, 'batch-alpha-2026Q2' as batch_id, date '2026-04-01' as quarter_start,
    timestamptz '2026-07-10 09:00:00+00' as approved_at, date '2026-07-14' as payment_date, 'direct' as payout_model;
create table ledger.payout_lines as
select 'batch-alpha-2026Q2' as batch_id, partner_id, customer_ref, date '2026-04-01' as quarter_start, kwh,
    cast(kwh::decimal(38, 6) * 0.3326940000 as decimal(38, 12)) as units, 'rev_issued' as units_source,
    cast(0.44 as decimal(10, 4)) as price_eur_per_ere, gross_cents, fee_cents, 0::bigint as partner_share_cents,
    gross_cents - fee_cents as net_cents, 0::bigint as adjustment_cents, 0::bigint as carried_in_cents,
    gross_cents - fee_cents as paid_cents, 0::bigint as carried_out_cents, 'paid' as status,
    cast(null as varchar) as reason
from (select *, cast(round(cast(kwh as decimal(38, 6)) * 0.332694 * 44) as bigint) as gross_cents,
             cast(round(cast(kwh as decimal(38, 6)) * 0.332694 * 44 * 0.15) as bigint) as fee_cents
      from customers where partner_id = 'alpha' and status = 'eligible');
create table ledger.booked_units as
select partner_id, customer_ref, ean, date '2026-04-01' as booking_quarter_start, 2026 as delivery_year,
    'alpha-2026Q2' as booking_id, 'regular' as kind, kwh,
    cast(kwh::decimal(38, 6) * 0.3326940000 as decimal(38, 12)) as units,
    'rev_issued' as units_source, 'submitted' as status
from customers where partner_id = 'alpha' and status = 'eligible';
create table ledger.rev_submissions as
select 'alpha-2026Q2' as booking_id, 'regular' as booking_kind, 2026 as delivery_year,
    timestamptz '2026-07-05 10:00:00+00' as submitted_at;

create table reference.eligibility_reasons as select * from read_csv($reasons, all_varchar = true);
create table reference.cleaning_reason_texts as select * from read_csv($cleaning, all_varchar = true);
drop table customers;
"""


def build_world(data_dir: DataDir) -> DataDir:
    """The registry and warehouse of this world, and the dashboard snapshot published from it."""
    data_dir.ensure()
    data_dir.partners_file.write_text(yaml.safe_dump({"partners": PARTNERS}, sort_keys=False))
    with duckdb.connect(str(data_dir.warehouse)) as con:
        for statement in _WORLD.split(";"):
            if statement.strip():
                con.execute(statement, {name: value for name, value in {
                    "hostile": HOSTILE_NAME, "alpha": ALPHA_CUSTOMERS,
                    "reasons": str(REFERENCE_DIR / "eligibility_reasons.csv"),
                    "cleaning": str(REFERENCE_DIR / "cleaning_reasons.csv")}.items() if f"${name}" in statement})
        publish(data_dir, con)
    return data_dir
