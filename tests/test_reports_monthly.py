"""The monthly figures (queries.monthly_energy) count a session in the month of its local start day in
Amsterdam, found by the hour it started in: at the year's and months' edges and across the change to summer
time; and every partner at once (as the dashboard's snapshot holds them) gives each partner's own rows.
Over a small warehouse of the marts' columns, no dbt."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb

from joulo_pipelines.lib.reports.queries import monthly_energy, monthly_energy_sql

# (UTC start, kWh): each kWh a power of two, so a month's sum says which sessions it holds
SESSIONS = [
    ("2025-12-31 22:59:59", 1),   # 23:59:59 on 31 December local: 2025, outside the range
    ("2025-12-31 23:00:00", 2),   # midnight, 1 January local: January (not eligible yet: the delivery period)
    ("2026-01-31 23:00:00", 4),   # midnight, 1 February local (winter time, UTC+1): February
    ("2026-03-29 00:59:59", 8),   # 01:59:59 local, the night summer time begins: March
    ("2026-03-29 01:00:00", 16),  # 03:00 local (UTC+2 from here): March
    ("2026-03-31 21:59:59", 32),  # 23:59:59 on 31 March local: March
    ("2026-03-31 22:00:00", 64),  # midnight, 1 April local: outside the quarter
]


def _warehouse(partners: list[str]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    con.execute("create schema marts")
    con.execute("create table marts.fct_session_versions (partner_id varchar, charge_point_ref varchar, ean varchar, "
                "clean_kwh decimal(18, 6), started_at timestamptz, is_latest boolean, exclusion_reason varchar)")
    con.execute("create table marts.fct_charge_point_eligibility (partner_id varchar, charge_point_ref varchar, "
                "customer_ref varchar, quarter_start date, is_eligible boolean, delivery_period_start date, "
                "delivery_period_end date)")
    con.execute("create table marts.dim_ere_factors as "
                "select 2026 as delivery_year, 0.5::decimal(18, 10) as ere_per_kwh")
    for n, partner in enumerate(partners, 1):
        con.executemany("insert into marts.fct_session_versions values (?, ?, '871685900000000001', ?, ?, true, null)",
                        [(partner, f"{partner}-CP1", kwh * n, f"{started}+00") for started, kwh in SESSIONS])
        con.execute("insert into marts.fct_charge_point_eligibility values "
                    "(?, ?, ?, date '2026-01-01', true, date '2026-01-02', date '2026-03-31')",
                    [partner, f"{partner}-CP1", f"{partner}-C1"])
    return con


def test_a_session_counts_in_the_month_of_its_local_start_day():
    con = _warehouse(["alpha"])
    months = monthly_energy(con, "alpha", date(2026, 1, 1), date(2026, 4, 1))
    assert [(row["month"], row["kwh"], row["eligible_kwh"]) for row in months] == [
        (date(2026, 1, 1), Decimal(2), Decimal(0)),
        (date(2026, 2, 1), Decimal(4), Decimal(4)),
        (date(2026, 3, 1), Decimal(8 + 16 + 32), Decimal(8 + 16 + 32)),
    ]
    assert months[2]["ere"] == Decimal(28)


def test_every_partner_at_once_gives_each_partners_own_rows():
    con = _warehouse(["alpha", "beta"])
    params = {"start": date(2026, 1, 1), "end": date(2026, 4, 1)}
    for by_customer in (True, False):
        together = con.execute(monthly_energy_sql(by_customer, every_partner=True),
                               {**params, "partners": ["alpha", "beta"], "by_customer": by_customer}).fetchall()
        apart = [(partner, *row.values()) for partner in ("alpha", "beta")
                 for row in monthly_energy(con, partner, params["start"], params["end"], by_customer)]
        assert together == apart and len(apart) == 6
    assert monthly_energy(con, "beta", date(2026, 3, 1), date(2026, 4, 1))[0]["kwh"] == 2 * (8 + 16 + 32)
