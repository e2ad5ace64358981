"""What a person does at the REV, recorded in the ledger: a booking submitted (`joulo rev submit`) and the
units the REV issued imported (`joulo rev import-result`)."""

from __future__ import annotations

import getpass
import hashlib
from contextlib import contextmanager
from pathlib import Path

import duckdb

from joulo_pipelines.lib import clock, warehouse
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.registration.booking import (
    corrected_quarters,
    next_supplementary,
    year_quarters,
)
from joulo_pipelines.lib.registration.booking_ids import BookingId
from joulo_pipelines.lib.registration.deadline import booking_deadline
from joulo_pipelines.lib.registration.export import (
    read_lines,
    render_booking,
    write_booking,
    xsd_sha256,
)
from joulo_pipelines.lib.registration.ledger import ensure_ledger, submitted_booking_ids
from joulo_pipelines.lib.registration.publish import booking_folder
from joulo_pipelines.lib.registration.results import parse_result_file


@contextmanager
def ledger_writer(data_dir: DataDir):
    if not data_dir.warehouse.exists():
        raise RuntimeError(f"no warehouse at {data_dir.warehouse}: ingest and run a quarter first")
    try:
        con = warehouse.connect(data_dir, read_only=False)
    except duckdb.IOException as exc:
        raise RuntimeError("the warehouse is locked by another process (a quarter run or the UI's run "
                           "worker): the ledger is written when no run is active; retry after it ends "
                           f"({exc})") from None
    try:
        ensure_ledger(con)
        yield con
    finally:
        con.close()


def submit(data_dir: DataDir, label: str, submitted_by: str | None = None) -> dict:
    """Record the booking's current draft as submitted: its lines, file hashes, time and who. Refuses
    anything that would make the ledger disagree with the files uploaded to the REV."""
    booking = BookingId.parse(label)
    today = clock.today()
    with ledger_writer(data_dir) as con:
        submitted = submitted_booking_ids(con, booking.delivery_year)
        _refuse_out_of_order(booking, submitted, today)
        lines = read_lines(con, "registration.rev_booking_drafts", booking)
        folder = booking_folder(data_dir, booking)
        on_disk = folder / "rev_booking.xml"
        if not on_disk.exists():
            raise RuntimeError(f"no booking file {on_disk}: run the quarter first (joulo run --quarter ...)")
        files = render_booking(booking, lines)
        if on_disk.read_bytes() != files.xml or (folder / "rev_booking.csv").read_bytes() != files.csv:
            raise RuntimeError(f"{on_disk} is not the current draft of {booking}: re-run the quarter, upload the "
                               "new file to the REV, then submit")
        at, by = clock.now(), submitted_by or getpass.getuser()
        con.execute("begin transaction")
        try:
            con.execute("insert into ledger.rev_booking_lines by name "
                        "select * from registration.rev_booking_drafts where booking_id = ?", [booking.label])
            con.execute("insert into ledger.rev_booking_line_quarters by name "
                        "select * from registration.rev_booking_draft_quarters where booking_id = ?", [booking.label])
            con.execute(
                "insert into ledger.rev_submissions by name select ? as booking_id, ? as booking_kind, "
                "? as delivery_year, ? as booking_quarter_start, ? as submitted_at, ? as submitted_by, "
                "? as line_count, ? as kwh, ? as ere_estimate, ? as xml_sha256, ? as csv_sha256, ? as xsd_sha256",
                [booking.label, booking.kind, booking.delivery_year, booking.booking_quarter_start, at, by,
                 files.line_count, files.kwh, files.ere_estimate, files.xml_sha256, files.csv_sha256, xsd_sha256()])
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        submitted_at = con.execute("select submitted_at from ledger.rev_submissions where booking_id = ?",
                                   [booking.label]).fetchone()[0]
    return write_booking(folder, booking, files,
                         {"status": "submitted", "submitted_at": submitted_at.isoformat(), "submitted_by": by})


def _refuse_out_of_order(booking: BookingId, submitted: set[str], today) -> None:
    if booking.label in submitted:
        raise RuntimeError(f"{booking} is already submitted; a submitted booking never changes (late data "
                           "becomes a correction in the next open quarter)")
    deadline = booking_deadline(booking.delivery_year)
    if today >= deadline:
        raise RuntimeError(f"the booking deadline of delivery year {booking.delivery_year} was {deadline}: "
                           "its kWh can no longer be booked (see unbooked_after_deadline.csv)")
    if booking.is_supplementary:
        expected = next_supplementary(booking.delivery_year, submitted)
        if booking != expected:
            raise RuntimeError(f"the next supplementary booking of {booking.delivery_year} is {expected}, not {booking}")
        if not corrected_quarters(booking, submitted):
            raise RuntimeError(f"a supplementary booking of {booking.delivery_year} needs every quarter submitted first")
        return
    if booking.quarter.end > today:
        raise RuntimeError(f"{booking} has not ended yet (it ends {booking.quarter.end}, today is {today})")
    earlier = [q.label for q in year_quarters(booking.delivery_year) if q < booking.quarter and q.label not in submitted]
    if earlier:
        raise RuntimeError(f"submit {', '.join(earlier)} first: quarters of a year are submitted in order, so that "
                           "corrections land in the first open quarter")


def import_result(data_dir: DataDir, path: Path, imported_by: str | None = None) -> tuple[int, bool]:
    """Append the REV's issued units from `path` to ledger.rev_results. Returns (rows, newly imported)."""
    rows = parse_result_file(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with ledger_writer(data_dir) as con:
        if con.execute("select count(*) from ledger.rev_results where import_sha256 = ?", [sha]).fetchone()[0]:
            return len(rows), False
        con.execute("create temp table result_rows (row_number integer, booking_id varchar, ean varchar, "
                    "units decimal(38, 12))")
        con.executemany("insert into result_rows values (?, ?, ?, ?)",
                        [(r.row_number, r.booking_id, r.ean, r.units) for r in rows])
        unknown = con.execute(
            """
            select r.row_number, r.booking_id, r.ean,
                   r.booking_id in (select booking_id from ledger.rev_submissions) as booking_known
            from result_rows r
            anti join ledger.rev_booking_lines l on l.booking_id = r.booking_id and l.ean = r.ean
            order by r.row_number limit 10
            """).fetchall()
        if unknown:
            problems = [f"row {n}: " + (f"EAN {ean} has no line in booking {b}" if known
                                        else f"booking {b} is not submitted")
                        for n, b, ean, known in unknown]
            raise RuntimeError(f"{path.name} refused, nothing imported: " + "; ".join(problems))
        con.execute(
            """
            insert into ledger.rev_results by name
            select ? as import_sha256, ? as imported_at, ? as imported_by, ? as source_file,
                   row_number, booking_id, ean, units
            from result_rows
            """, [sha, clock.now(), imported_by or getpass.getuser(), path.name])
    return len(rows), True
