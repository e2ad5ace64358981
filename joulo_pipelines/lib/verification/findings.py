"""The verifier's findings register, imported as CSV (`joulo verification <year> import-findings FILE`):
finding_id, ean (empty for a finding about our organisation), severity, corrective_action, due_date, status.
Each import appends every row; a finding's current state is its row in the latest import naming it, so the
verifier's later register (a finding now closed) is imported the same way.

A corrective booking is linked to the finding it corrects (`... link-booking FINDING BOOKING`): the booking
must be submitted and, for a finding about an EAN, book that EAN."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.verification.population import population_eans
from joulo_pipelines.lib.verification.store import next_import_seq, record_event, transaction, who
from joulo_pipelines.lib.verification.verifier_csv import read_rows, refuse_if_any

COLUMNS = ("finding_id", "ean", "severity", "corrective_action", "due_date", "status")
SEVERITIES = ("material", "non_material", "observation")
STATUSES = ("open", "closed")

_CURRENT = """
    select * from verification.findings
    where delivery_year = ?
    qualify row_number() over (partition by finding_id order by import_seq desc) = 1
"""


def _iso_date(text: str | None) -> bool:
    try:
        date.fromisoformat(text or "")
    except ValueError:
        return False
    return True


def import_findings(con: duckdb.DuckDBPyConnection, year: int, path: Path, by: str | None) -> int:
    rows = read_rows(path, required=tuple(name for name in COLUMNS if name != "ean"), optional=("ean",))
    booked = population_eans(con, year)
    named = Counter(row["finding_id"] for _, row in rows)

    def problem(row: dict) -> tuple[str, str] | None:
        if not row["finding_id"]:
            return "finding_id", "empty; accepted: the verifier's id of the finding"
        if named[row["finding_id"]] > 1:
            return "finding_id", "named twice in this file; accepted: one row per finding"
        if row["ean"] and row["ean"] not in booked:
            return "ean", f"not in the population of {year}; accepted: an EAN booked for {year}, or empty"
        if row["severity"] not in SEVERITIES:
            return "severity", f"accepted: {', '.join(SEVERITIES)}"
        if not row["corrective_action"]:
            return "corrective_action", "empty; accepted: what is to be done"
        if not _iso_date(row["due_date"]):
            return "due_date", "accepted: a date such as 2027-03-15"
        if row["status"] not in STATUSES:
            return "status", f"accepted: {', '.join(STATUSES)}"
        return None

    refuse_if_any(path, rows, problem)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with transaction(con):
        seq, at = next_import_seq(con), clock.now()
        con.executemany(
            "insert into verification.findings by name select ? as import_seq, ? as delivery_year, ? as imported_at, "
            "? as imported_by, ? as source_file, ? as file_sha256, ? as row_number, ? as finding_id, ? as ean, "
            "? as severity, ? as corrective_action, ? as due_date, ? as status",
            [(seq, year, at, who(by), path.name, sha, number, row["finding_id"], row["ean"], row["severity"],
              row["corrective_action"], row["due_date"], row["status"]) for number, row in rows])
        record_event(con, year, "findings_imported", by, detail=f"{path.name}: {len(rows)} finding(s)", file_sha256=sha)
    return len(rows)


def current_findings(con: duckdb.DuckDBPyConnection, year: int) -> list[tuple]:
    """(finding_id, ean, severity, status, due_date, corrective bookings) per finding, as it stands now."""
    return con.execute(
        f"""
        select findings.finding_id, coalesce(findings.ean, '') as ean, findings.severity, findings.status, findings.due_date,
               coalesce(string_agg(links.booking_id, ', ' order by links.booking_id), '') as bookings
        from ({_CURRENT}) as findings
        left join verification.finding_bookings as links
            on links.delivery_year = findings.delivery_year and links.finding_id = findings.finding_id
        group by all order by findings.finding_id
        """, [year]).fetchall()


def link_booking(con: duckdb.DuckDBPyConnection, year: int, finding_id: str, booking_id: str, by: str | None) -> None:
    finding = con.execute(f"select ean from ({_CURRENT}) where finding_id = ?", [year, finding_id]).fetchone()
    if finding is None:
        known = ", ".join(row[0] for row in current_findings(con, year)) or "none imported"
        raise ValueError(f"finding {finding_id!r} is not in the findings register of {year}; known: {known}")
    if not con.execute("select count(*) from ledger.rev_submissions where booking_id = ?", [booking_id]).fetchone()[0]:
        raise ValueError(f"booking {booking_id!r} is not submitted; a corrective booking is linked once it is")
    (ean,) = finding
    if ean and not con.execute("select count(*) from ledger.rev_booking_lines where booking_id = ? and ean = ?",
                               [booking_id, ean]).fetchone()[0]:
        raise ValueError(f"booking {booking_id} has no line for EAN {ean}, the EAN of finding {finding_id}")
    if con.execute("select count(*) from verification.finding_bookings where delivery_year = ? and finding_id = ? "
                   "and booking_id = ?", [year, finding_id, booking_id]).fetchone()[0]:
        return
    con.execute("insert into verification.finding_bookings by name select ? as delivery_year, ? as finding_id, "
                "? as booking_id, ? as linked_at, ? as linked_by", [year, finding_id, booking_id, clock.now(), who(by)])
