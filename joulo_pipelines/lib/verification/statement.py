"""The verifier's statement (its unique code) recorded for a delivery year, and our report of it to the NEa
in the REV. One statement per year: the events are append-only, so a second code is refused, not swapped."""

from __future__ import annotations

import duckdb

from joulo_pipelines.lib.clock import AMSTERDAM
from joulo_pipelines.lib.verification.status import year_status
from joulo_pipelines.lib.verification.store import record_event


def record_statement(con: duckdb.DuckDBPyConnection, year: int, code: str, by: str | None) -> None:
    code = code.strip()
    if not code:
        raise ValueError("the statement's code is empty; accepted: the verifier's unique code of the statement")
    status = year_status(con, year)
    if status.statement_issued:
        raise ValueError(f"the statement of {year} is already recorded: {status.statement_code} "
                         f"({status.statement_issued_at.astimezone(AMSTERDAM):%Y-%m-%d}); a statement is recorded once")
    if status.population_sent_at is None:
        raise ValueError(f"the population of {year} was not sent: `joulo verification {year} export-population` first")
    if status.findings_open:
        raise ValueError(f"{status.findings_open} finding(s) of {year} still open: a statement follows when the "
                         "verifier's register shows them closed (import it with import-findings)")
    record_event(con, year, "statement_issued", by, detail=code)


def record_reported(con: duckdb.DuckDBPyConnection, year: int, by: str | None) -> None:
    status = year_status(con, year)
    if not status.statement_issued:
        raise ValueError(f"no statement of {year} recorded: record its code with record-statement first")
    if status.reported:
        raise ValueError(f"the statement of {year} was already reported to the NEa ({status.reported_at.astimezone(AMSTERDAM):%Y-%m-%d})")
    record_event(con, year, "reported", by, detail=status.statement_code)
