"""Issued units against our estimate, per EAN and per booking, for the bookings made in one quarter.

The verifier's materiality is 2 %: an EAN or a booking whose issued units differ from our estimate by more
than that is a break. Compared in exact decimals: |issued - estimate| x 100 > 2 x |estimate|.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from joulo_pipelines.lib import people_csv

MATERIALITY_PCT = 2

_COMPARISON_SQL = f"""
with lines as (
    select * from ledger.rev_booking_lines where booking_quarter_start = $booking_quarter_start
),

estimates as (
    select booking_id, partner_id, ean, sum(ere_estimate) as estimate_units, sum(kwh) as kwh
    from lines
    group by booking_id, partner_id, ean
),

issued as (
    select booking_id, ean, units as issued_units
    from ledger.rev_results
    where booking_id in (select booking_id from lines)
    qualify row_number() over (partition by booking_id, ean order by import_seq desc) = 1
),

per_ean as (
    select
        'ean' as level, estimates.booking_id, estimates.partner_id, estimates.ean, estimates.kwh,
        estimates.estimate_units, issued.issued_units
    from estimates
    left join issued on estimates.booking_id = issued.booking_id and estimates.ean = issued.ean
),

per_booking as (
    select
        'booking' as level, booking_id, null as partner_id, null as ean, sum(kwh) as kwh,
        sum(estimate_units) as estimate_units,
        -- a booking is compared once the REV issued for at least one of its EANs
        case when count(issued_units) > 0 then sum(coalesce(issued_units, 0)) end as issued_units
    from per_ean
    group by booking_id
),

final as (
    select
        *,
        issued_units - estimate_units as difference_units,
        issued_units is not null
            and abs(issued_units - estimate_units) * 100 > {MATERIALITY_PCT} * abs(estimate_units) as is_break
    from (select * from per_ean union all select * from per_booking)
)

select * from final order by booking_id, level desc, partner_id, ean
"""


@dataclass(frozen=True)
class Reconciliation:
    compared_eans: int
    compared_bookings: int
    ean_breaks: int
    booking_breaks: int
    break_bookings: list[str]

    @property
    def passed(self) -> bool:
        return self.ean_breaks == 0 and self.booking_breaks == 0


def reconcile(con: duckdb.DuckDBPyConnection, booking_quarter_start: date, target: Path) -> Reconciliation:
    """Write `target` (reconciliation.csv: per booking and EAN, kWh, estimate, issued, difference, break)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"create or replace temp table rev_reconciliation as {_COMPARISON_SQL}",
                {"booking_quarter_start": booking_quarter_start})
    people_csv.copy_query(con, "select * from rev_reconciliation", target)
    row = con.execute(
        """
        select
            count(*) filter (where level = 'ean' and issued_units is not null),
            count(*) filter (where level = 'booking' and issued_units is not null),
            count(*) filter (where level = 'ean' and is_break),
            count(*) filter (where level = 'booking' and is_break),
            coalesce(list(distinct booking_id order by booking_id) filter (where is_break), [])
        from rev_reconciliation
        """).fetchone()
    con.execute("drop table rev_reconciliation")
    return Reconciliation(*row[:4], break_bookings=list(row[4]))
