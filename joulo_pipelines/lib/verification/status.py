"""Where a delivery year's verification stands: population sent, the verifier's sample and site visits
received, findings open, the statement issued (its code) and reported to the NEa. `year_status` is what
other checks (the deadlines) read; it works on a read-only connection and before anything was recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from joulo_pipelines.lib import warehouse
from joulo_pipelines.lib.verification.findings import current_findings
from joulo_pipelines.lib.verification.store import latest_event
from joulo_pipelines.lib.verification.verifier_lists import current_list


@dataclass(frozen=True)
class YearStatus:
    delivery_year: int
    population_sent_at: datetime | None = None
    sample_received_at: datetime | None = None
    sample_eans: int = 0
    site_visits: int = 0
    findings: int = 0
    findings_open: int = 0
    statement_code: str | None = None
    statement_issued_at: datetime | None = None
    reported_at: datetime | None = None

    @property
    def statement_issued(self) -> bool:
        return self.statement_code is not None

    @property
    def reported(self) -> bool:
        return self.reported_at is not None


def year_status(con: duckdb.DuckDBPyConnection, year: int) -> YearStatus:
    if not warehouse.has_table(con, "verification", "events"):
        return YearStatus(year)
    def at(event: str) -> datetime | None:
        latest = latest_event(con, year, event)
        return latest[0] if latest else None

    statement = latest_event(con, year, "statement_issued")
    findings = current_findings(con, year)
    return YearStatus(
        delivery_year=year,
        population_sent_at=at("population_sent"),
        sample_received_at=at("sample_received"),
        sample_eans=len(current_list(con, year, "sample")),
        site_visits=len(current_list(con, year, "site_visits")),
        findings=len(findings),
        findings_open=sum(1 for finding in findings if finding[3] == "open"),
        statement_code=statement[2] if statement else None,
        statement_issued_at=statement[0] if statement else None,
        reported_at=at("reported"),
    )
