"""What the REV issued against what it must issue, per booking and EAN, for the bookings made in one quarter.

The register computes units from kWh with the year's published factor, so per EAN of a booking it issues
kWh x factor up to its own rounding (the factor is `marts.dim_ere_factors.ere_per_kwh`, carried on every
booking line); for an amendment it issues (or withdraws) the change to the delivery's total. Its precision
is not public: we take REV_UNIT_DECIMALS decimals, so an issued figure is right when it lies within half a
unit of that last decimal of the exact kWh x factor (whichever way the register rounds a midpoint). Any
other difference, on any EAN, is a break: an error that names the booking, the EAN, both figures and the
factor.

The verifier's 2 % materiality applies only to a delivery year's totals (over every booking of the year
with issued units): it says whether the breaks together would matter to the statement, never excuses one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb

from joulo_pipelines.lib import people_csv

# The register's rounding of issued units (not published; an assumption to revisit when the NEa says).
REV_UNIT_DECIMALS = 3
TOLERANCE_UNITS = Decimal(5) / 10 ** (REV_UNIT_DECIMALS + 1)  # half a unit of the last decimal
MATERIALITY_PCT = 2

_ISSUED_SQL = "select booking_id, ean, units as issued_units from ledger.rev_issued_units"

# What a line asks the register to issue: a delivery its kWh, an amendment the change to its delivery's total.
_LINE_KWH = "(kwh - previous_kwh)"

_COMPARISON_SQL = f"""
with lines as (
    select * from ledger.rev_booking_lines where booking_quarter_start = $booking_quarter_start
),

expected as (
    select
        booking_id, partner_id, ean, sum({_LINE_KWH}) as kwh,
        string_agg(distinct cast(ere_per_kwh as varchar), ' ' order by cast(ere_per_kwh as varchar)) as ere_per_kwh,
        sum({_LINE_KWH} * ere_per_kwh) as expected_units
    from lines
    group by booking_id, partner_id, ean
),

issued as ({_ISSUED_SQL}),

final as (
    select
        expected.booking_id, expected.partner_id, expected.ean, expected.kwh, expected.ere_per_kwh,
        expected.expected_units,
        round(expected.expected_units, {REV_UNIT_DECIMALS}) as expected_rounded_units,
        issued.issued_units,
        issued.issued_units - expected.expected_units as difference_units,
        issued.issued_units is not null
            and abs(issued.issued_units - expected.expected_units) > {TOLERANCE_UNITS} as is_break
    from expected
    left join issued on expected.booking_id = issued.booking_id and expected.ean = issued.ean
)

select * from final order by booking_id, partner_id, ean
"""

# Per delivery year touched by the quarter's bookings: its totals over every booking with issued units.
_YEAR_SQL = f"""
with issued as ({_ISSUED_SQL}),

per_ean as (
    select lines.delivery_year, lines.booking_id, lines.ean, sum({_LINE_KWH} * lines.ere_per_kwh) as expected_units
    from ledger.rev_booking_lines as lines
    where lines.delivery_year in (
        select delivery_year from ledger.rev_booking_lines where booking_quarter_start = $booking_quarter_start)
    group by all
)

select
    per_ean.delivery_year,
    sum(per_ean.expected_units) as expected_units,
    sum(issued.issued_units) as issued_units,
    abs(sum(issued.issued_units) - sum(per_ean.expected_units)) * 100
        > {MATERIALITY_PCT} * abs(sum(per_ean.expected_units)) as is_material
from per_ean
inner join issued on per_ean.booking_id = issued.booking_id and per_ean.ean = issued.ean
group by per_ean.delivery_year
order by per_ean.delivery_year
"""


@dataclass(frozen=True)
class Break:
    booking_id: str
    ean: str
    kwh: Decimal
    ere_per_kwh: str
    expected_units: Decimal
    issued_units: Decimal

    def describe(self) -> str:
        return (f"booking {self.booking_id}, EAN {self.ean}: the REV issued {self.issued_units.normalize():f} units, "
                f"{self.kwh} kWh x {self.ere_per_kwh} ERE/kWh = {self.expected_units.normalize():f} "
                f"(to {REV_UNIT_DECIMALS} decimals: {self.expected_rounded})")

    @property
    def expected_rounded(self) -> Decimal:
        return self.expected_units.quantize(Decimal(1).scaleb(-REV_UNIT_DECIMALS), ROUND_HALF_UP)


@dataclass(frozen=True)
class YearTotals:
    delivery_year: int
    expected_units: Decimal
    issued_units: Decimal
    is_material: bool


@dataclass(frozen=True)
class Reconciliation:
    compared_eans: int
    breaks: list[Break]
    years: list[YearTotals]

    @property
    def passed(self) -> bool:
        return not self.breaks

    @property
    def material_years(self) -> list[int]:
        return [year.delivery_year for year in self.years if year.is_material]


def reconcile(con: duckdb.DuckDBPyConnection, booking_quarter_start: date, target: Path) -> Reconciliation:
    """Write `target` (reconciliation.csv: per booking and EAN, kWh, factor, expected and issued units, the
    difference and whether it is a break) and return the breaks and the years' totals."""
    target.parent.mkdir(parents=True, exist_ok=True)
    params = {"booking_quarter_start": booking_quarter_start}
    con.execute(f"create or replace temp table rev_reconciliation as {_COMPARISON_SQL}", params)
    people_csv.copy_query(con, "select * from rev_reconciliation", target)
    compared = con.execute("select count(*) from rev_reconciliation where issued_units is not null").fetchone()[0]
    breaks = [Break(*row) for row in con.execute(
        "select booking_id, ean, kwh, ere_per_kwh, expected_units, issued_units from rev_reconciliation "
        "where is_break order by booking_id, ean").fetchall()]
    con.execute("drop table rev_reconciliation")
    years = [YearTotals(*row) for row in con.execute(_YEAR_SQL, params).fetchall()]
    return Reconciliation(compared, breaks, years)
