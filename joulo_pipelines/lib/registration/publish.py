"""What a quarter run does for the register: the quarter's booking files, from the ledger once submitted,
else from a fresh draft; the year's supplementary booking once every quarter is submitted; and after the
year's deadline, a report of what can no longer be booked instead of a draft."""

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
    read_lines,
    render_booking,
    write_booking,
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
    files = render_booking(booking, read_lines(con, "registration.rev_booking_drafts", booking))
    return write_booking(booking_folder(data_dir, booking), booking, files, {"status": "draft"})


def reproduce_submitted(con: duckdb.DuckDBPyConnection, data_dir: DataDir, booking: BookingId) -> dict:
    """Render a submitted booking from the ledger; refuse if that no longer gives the submitted bytes."""
    files = render_booking(booking, read_lines(con, "ledger.rev_booking_lines", booking))
    xml_sha, csv_sha, at, by = con.execute(
        "select xml_sha256, csv_sha256, submitted_at, submitted_by from ledger.rev_submissions "
        "where booking_id = ?", [booking.label]).fetchone()
    if (files.xml_sha256, files.csv_sha256) != (xml_sha, csv_sha):
        raise RuntimeError(f"booking {booking} renders from the ledger to files whose SHA-256 differ from the "
                           f"submitted ones (xml {xml_sha}, csv {csv_sha}): the writer or schema changed since; "
                           "restore them, a submitted booking never changes")
    status = {"status": "submitted", "submitted_at": at.isoformat(), "submitted_by": by}
    return write_booking(booking_folder(data_dir, booking), booking, files, status)


def discard_unsubmitted_drafts(con: duckdb.DuckDBPyConnection, year: int) -> None:
    """Drafts are proposals, not ledger rows: after the deadline a year has none left to submit."""
    unsubmitted = "booking_id not in (select booking_id from ledger.rev_submissions)"
    con.execute(f"delete from registration.rev_booking_draft_quarters where {unsubmitted} and booking_id in "
                "(select booking_id from registration.rev_booking_drafts where delivery_year = ?)", [year])
    con.execute(f"delete from registration.rev_booking_drafts where {unsubmitted} and delivery_year = ?", [year])
