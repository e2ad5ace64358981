"""A small REV world without dbt: a warehouse whose eligibility mart and customers a test writes directly,
three EANs of partner alpha (the third a business with a KvK number), and quarter runs of the real booking
code on it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb

from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.registration.ledger import ensure_ledger, submitted_booking_ids
from joulo_pipelines.lib.registration.publish import publish_quarter

EANS = ["871000000000000011", "871000000000000028", "871000000000000035"]
TODAY = date(2027, 1, 15)
ERE_PER_KWH = Decimal("0.3326940000")


def make_warehouse(data_dir: DataDir) -> None:
    with duckdb.connect(str(data_dir.warehouse)) as con:
        con.execute("""
            create schema marts; create schema intermediate;
            create table marts.fct_ean_quarter_energy (
                partner_id varchar, ean varchar, quarter_start date, delivery_year integer,
                kwh decimal(18, 6), session_count bigint, charge_point_count bigint,
                ere_per_kwh decimal(20, 10), ere_estimate decimal(38, 12), eligible_customer_ref varchar,
                delivery_period_start date, delivery_period_end date, eligible_kwh decimal(18, 6),
                eligible_session_count bigint, eligible_charge_point_count bigint,
                eligible_ere_estimate decimal(38, 12));
            create table intermediate.int_customers_latest as
            select 'alpha' as partner_id, 'C' || i as customer_ref, 'Holder ' || i as customer_name,
                   'Dorpsstraat' as street, cast(i as varchar) as house_number, '1011AB' as postal_code,
                   'Amsterdam' as city, timestamptz '2025-12-01 10:00:00+01' as mandate_signed_at,
                   date '2026-01-01' as mandate_valid_from, date '2026-12-31' as mandate_valid_until,
                   case when i = 2 then '12345678' end as kvk_number
            from range(3) t(i);
        """)
        ensure_ledger(con)


def set_eligible(data_dir: DataDir, index: int, quarter: Quarter, value: Decimal | None) -> None:
    with duckdb.connect(str(data_dir.warehouse)) as con:
        con.execute("delete from marts.fct_ean_quarter_energy where ean = ? and quarter_start = ?",
                    [EANS[index], quarter.start])
        if value is not None:
            con.execute(
                "insert into marts.fct_ean_quarter_energy values "
                "('alpha', ?, ?, 2026, ?, 1, 1, ?, ?, ?, ?, ?, ?, 1, 1, ?)",
                [EANS[index], quarter.start, value, ERE_PER_KWH, value * ERE_PER_KWH, f"C{index}", quarter.start,
                 date.fromordinal(quarter.end.toordinal() - 1), value, value * ERE_PER_KWH])


def run(data_dir: DataDir, number: int) -> None:
    with duckdb.connect(str(data_dir.warehouse)) as con:
        publish_quarter(con, data_dir, Quarter(2026, number), TODAY, submitted_booking_ids(con, 2026))
