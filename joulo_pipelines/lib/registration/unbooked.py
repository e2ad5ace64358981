"""What of a delivery year is not (yet) in a submitted booking: per partner, EAN and ended quarter, the
rounded eligible kWh minus what submitted bookings hold. Drives the deadline watch and, once the year's
deadline has passed, the report of kWh that can no longer be booked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from joulo_pipelines.lib import people_csv
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.registration.booking import eligible_minus_booked, year_quarters
from joulo_pipelines.lib.registration.deadline import booking_deadline, warn_days

_UNBOOKED_SQL = f"""
select partner_id, ean, quarter_start, eligible_kwh, booked_kwh, unbooked_kwh
from ({eligible_minus_booked('quarters')})
where unbooked_kwh <> 0
order by partner_id, ean, quarter_start
"""


@dataclass(frozen=True)
class DeadlineStatus:
    delivery_year: int
    deadline: date
    days_left: int
    unbooked_kwh: Decimal  # net, over EANs and quarters
    unbooked_lines: int
    unsubmitted_quarters: list[str]

    @property
    def is_closed(self) -> bool:
        return self.days_left <= 0

    @property
    def needs_attention(self) -> bool:
        """Warn from `warn_days()` before the deadline on, while something of the year is not booked."""
        return self.days_left <= warn_days() and (self.unbooked_lines > 0 or bool(self.unsubmitted_quarters))


def ended_quarters(year: int, today: date) -> list[Quarter]:
    return [quarter for quarter in year_quarters(year) if quarter.end <= today]


def deadline_status(con: duckdb.DuckDBPyConnection, year: int, today: date, submitted: set[str]) -> DeadlineStatus:
    quarters = ended_quarters(year, today)
    lines, kwh = con.execute(f"select count(*), coalesce(sum(unbooked_kwh), 0) from ({_UNBOOKED_SQL})",
                             {"quarters": [q.start for q in quarters]}).fetchone()
    return DeadlineStatus(
        delivery_year=year,
        deadline=booking_deadline(year),
        days_left=(booking_deadline(year) - today).days,
        unbooked_kwh=Decimal(kwh),
        unbooked_lines=lines,
        unsubmitted_quarters=[q.label for q in quarters if q.label not in submitted],
    )


def write_unbooked_report(con: duckdb.DuckDBPyConnection, year: int, target: Path) -> int:
    """After the deadline: every EAN and quarter of `year` whose eligible kWh differ from what was booked."""
    target.parent.mkdir(parents=True, exist_ok=True)
    params = {"quarters": [q.start for q in year_quarters(year)]}
    con.execute(f"create or replace temp table unbooked_report as {_UNBOOKED_SQL}", params)
    count = people_csv.copy_query(con, "select * from unbooked_report", target)
    con.execute("drop table unbooked_report")
    return count
