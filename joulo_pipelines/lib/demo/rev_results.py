"""The register's answer to the demo's submitted bookings, written as the REV would issue it: per booking
and EAN the units (the kWh the booking added times the factor it was booked with, rounded as the register
rounds), the id of the EAN's connection and, where the booking registered one delivery of the EAN, that
delivery's id. `joulo rev import-result` reads these files like any other result (lib/registration/results.py)."""

from __future__ import annotations

from pathlib import Path

from joulo_pipelines.lib import warehouse
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.registration.reconciliation import REV_UNIT_DECIMALS

_ISSUED_SQL = f"""
select booking_id, ean,
       cast(round(sum((kwh - previous_kwh) * ere_per_kwh), {REV_UNIT_DECIMALS}) as varchar) as units,
       'REV-C-' || ean as connection_id,
       case when count(*) filter (where kind = 'delivery') = 1
            then 'REV-D-' || booking_id || '-' || ean else '' end as delivery_id
from ledger.rev_booking_lines
where booking_id = ?
group by booking_id, ean
order by ean
"""


def write_rev_result(data_dir: DataDir, booking_id: str) -> Path:
    """The register's result for the submitted booking `booking_id`, as a CSV under <data dir>/rev_results/."""
    with warehouse.connect(data_dir, read_only=True) as con:
        rows = con.execute(_ISSUED_SQL, [booking_id]).fetchall()
    if not rows:
        raise ValueError(f"booking {booking_id} has no submitted lines for the register to issue")
    path = data_dir.root / "rev_results" / f"rev_result_{booking_id}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("booking_id,ean,units,connection_id,delivery_id\n"
                    + "".join(",".join(row) + "\n" for row in rows), encoding="utf-8")
    return path
