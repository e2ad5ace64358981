"""What a quarter run does for the register: the quarter's booking package, from the ledger once submitted,
else from a fresh draft (marked prepared while it is what was last prepared); the year's supplementary
booking once every quarter is submitted; and after the year's deadline, a report of what can no longer be
booked instead of a draft."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.registration.booking import (
    build_draft,
    next_supplementary,
    year_quarters,
)
from joulo_pipelines.lib.registration.booking_ids import BookingId
from joulo_pipelines.lib.registration.deadline import booking_deadline
from joulo_pipelines.lib.registration.export import (
    BookingPackage,
    read_package,
    write_package,
)
from joulo_pipelines.lib.registration.unbooked import write_unbooked_report


@dataclass
class Published:
    summaries: list[dict] = field(default_factory=list)
    unbooked_report: Path | None = None
    unbooked_lines: int = 0


def booking_folder(data_dir: DataDir, booking: BookingId) -> Path:
    return data_dir.exports / booking.label / "rev"


def publish_quarter(con: duckdb.DuckDBPyConnection, data_dir: DataDir, quarter: Quarter, today: date,
                    submitted: set[str]) -> Published:
    """`submitted`: the year's submitted booking ids, as the run read them from the ledger (ensure_ledger first)."""
    published = Published()
    booking = BookingId.for_quarter(quarter)
    closed = today >= booking_deadline(quarter.year)
    if booking.label in submitted:
        published.summaries.append(reproduce_submitted(con, data_dir, booking))
    elif closed:
        discard_unsubmitted_drafts(con, quarter.year)
    else:
        published.summaries.append(publish_draft(con, data_dir, booking, submitted))

    for label in sorted(submitted):
        if BookingId.parse(label).is_supplementary:
            published.summaries.append(reproduce_submitted(con, data_dir, BookingId.parse(label)))
    all_submitted = all(q.label in submitted for q in year_quarters(quarter.year))
    if all_submitted and not closed:
        supplementary = next_supplementary(quarter.year, submitted)
        if build_draft(con, supplementary, submitted):
            published.summaries.append(_write_draft(con, data_dir, supplementary))
    if closed:
        target = data_dir.exports / quarter.label / "rev" / "unbooked_after_deadline.csv"
        published.unbooked_lines = write_unbooked_report(con, quarter.year, target)
        published.unbooked_report = target
    return published


def publish_draft(con: duckdb.DuckDBPyConnection, data_dir: DataDir, booking: BookingId,
                  submitted: set[str]) -> dict:
    build_draft(con, booking, submitted)
    return _write_draft(con, data_dir, booking)


def _write_draft(con: duckdb.DuckDBPyConnection, data_dir: DataDir, booking: BookingId) -> dict:
    package = read_package(con, booking, submitted=False)
    return write_package(booking_folder(data_dir, booking), booking, package, draft_status(con, booking, package))


def draft_status(con: duckdb.DuckDBPyConnection, booking: BookingId, package: BookingPackage) -> dict:
    """'prepared' (by whom, when) while the latest preparation of the booking is this package, else 'draft'."""
    prepared = latest_preparation(con, booking)
    if prepared and prepared["hashes"] == package.hashes:
        return {"status": "prepared", "prepared_at": prepared["prepared_at"].isoformat(),
                "prepared_by": prepared["prepared_by"]}
    return {"status": "draft"}


def latest_preparation(con: duckdb.DuckDBPyConnection, booking: BookingId) -> dict | None:
    row = con.execute(
        "select prepared_at, prepared_by, connections_sha256, deliveries_sha256, amendments_sha256 "
        "from ledger.rev_preparations where booking_id = ? order by preparation_seq desc limit 1",
        [booking.label]).fetchone()
    if row is None:
        return None
    return {"prepared_at": row[0], "prepared_by": row[1],
            "hashes": {"connections.xml": row[2], "deliveries.xml": row[3], "amendments.xml": row[4]}}


def reproduce_submitted(con: duckdb.DuckDBPyConnection, data_dir: DataDir, booking: BookingId) -> dict:
    """Render a submitted booking from the ledger; refuse if that no longer gives the submitted bytes."""
    package = read_package(con, booking, submitted=True)
    (connections, deliveries, amendments, prepared_at, prepared_by, approved_at,
     approved_by) = con.execute(
        "select connections_sha256, deliveries_sha256, amendments_sha256, prepared_at, prepared_by, approved_at, "
        "approved_by from ledger.rev_submissions where booking_id = ?", [booking.label]).fetchone()
    submitted = {"connections.xml": connections, "deliveries.xml": deliveries, "amendments.xml": amendments}
    if package.hashes != submitted:
        raise RuntimeError(f"booking {booking} renders from the ledger to files whose SHA-256 differ from the "
                           f"submitted ones ({submitted}): the writer or schema changed since; restore them, a "
                           "submitted booking never changes")
    return write_package(booking_folder(data_dir, booking), booking, package, submitted_status(
        prepared_at, prepared_by, approved_at, approved_by))


def submitted_status(prepared_at, prepared_by: str, approved_at, approved_by: str) -> dict:
    return {"status": "submitted", "prepared_at": prepared_at.isoformat(), "prepared_by": prepared_by,
            "approved_at": approved_at.isoformat(), "approved_by": approved_by,
            "submitted_at": approved_at.isoformat()}


def discard_unsubmitted_drafts(con: duckdb.DuckDBPyConnection, year: int) -> None:
    """Drafts are proposals, not ledger rows: after the deadline a year has none left to submit."""
    unsubmitted = "booking_id not in (select booking_id from ledger.rev_submissions)"
    con.execute(f"delete from registration.rev_connection_drafts where {unsubmitted} and booking_id in "
                "(select booking_id from registration.rev_booking_drafts where delivery_year = ?)", [year])
    con.execute(f"delete from registration.rev_booking_drafts where {unsubmitted} and delivery_year = ?", [year])
