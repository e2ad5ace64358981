"""What people do at the REV, recorded in the ledger: a booking prepared (`joulo rev submit`, the files to
upload and who prepared them), approved by a second person (`joulo rev approve`, which makes it submitted:
four eyes, as the register's own second approver), and what the REV issued imported with the ids it gave
connections and deliveries (`joulo rev import-result`).

Four eyes can be relaxed for a one-person trial with JOULO_REV_FOUR_EYES=off, never by default."""

from __future__ import annotations

import getpass
import hashlib
import os
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
from joulo_pipelines.lib.registration.deadline import booking_deadline, last_booking_day
from joulo_pipelines.lib.registration.export import (
    BookingPackage,
    on_disk_matches,
    read_package,
    schemas_sha256,
    write_package,
)
from joulo_pipelines.lib.registration.ledger import ensure_ledger, submitted_booking_ids
from joulo_pipelines.lib.registration.publish import (
    booking_folder,
    latest_preparation,
    submitted_status,
)
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


def four_eyes_required() -> bool:
    """The one place JOULO_REV_FOUR_EYES is read: 'on' (the default) or 'off' for a one-person trial."""
    text = os.environ.get("JOULO_REV_FOUR_EYES", "on").strip().lower()
    if text not in ("on", "off"):
        raise ValueError(f"JOULO_REV_FOUR_EYES={text!r}: expected 'on' (default) or 'off' (a one-person trial)")
    return text == "on"


def submit(data_dir: DataDir, label: str, prepared_by: str | None = None, allow_empty: bool = False) -> dict:
    """Prepare the booking for the register: record its current draft's register files (hashes), who and
    when. The files on disk must be that draft. It becomes submitted once someone else approves it. A
    booking without lines is refused unless `allow_empty`: once submitted it never changes."""
    booking = BookingId.parse(label)
    with ledger_writer(data_dir) as con:
        _refuse_out_of_order(booking, submitted_booking_ids(con, booking.delivery_year), clock.today())
        folder = booking_folder(data_dir, booking)
        package = _current_draft(con, booking, folder)
        if not package.lines and not allow_empty:
            raise RuntimeError(f"{booking} has no deliveries or amendments to book (is its quarter built, with "
                               "eligible kWh?); a submitted booking never changes, so an empty one is prepared "
                               "only with --allow-empty")
        at, by = clock.now(), _name(prepared_by)
        hashes = package.hashes
        con.execute(
            "insert into ledger.rev_preparations by name select ? as booking_id, ? as prepared_at, ? as prepared_by, "
            "? as line_count, ? as connections_sha256, ? as deliveries_sha256, ? as amendments_sha256",
            [booking.label, at, by, len(package.lines), hashes["connections.xml"], hashes["deliveries.xml"],
             hashes["amendments.xml"]])
        prepared = latest_preparation(con, booking)
    return write_package(folder, booking, package, {"status": "prepared", "prepared_at":
                                                    prepared["prepared_at"].isoformat(), "prepared_by": by})


def approve(data_dir: DataDir, label: str, approved_by: str | None = None) -> dict:
    """Make the booking's latest preparation submitted, approved by someone other than who prepared it.
    Refuses anything that would make the ledger disagree with the files uploaded to the REV."""
    booking = BookingId.parse(label)
    with ledger_writer(data_dir) as con:
        _refuse_out_of_order(booking, submitted_booking_ids(con, booking.delivery_year), clock.today())
        prepared = latest_preparation(con, booking)
        if prepared is None:
            raise RuntimeError(f"{booking} is not prepared: joulo rev submit {booking} --by NAME first")
        by = _name(approved_by)
        if four_eyes_required() and by.casefold() == prepared["prepared_by"].casefold():
            raise RuntimeError(f"{booking} was prepared by {prepared['prepared_by']}: another person approves it "
                               "(four eyes; JOULO_REV_FOUR_EYES=off only for a one-person trial)")
        folder = booking_folder(data_dir, booking)
        package = _current_draft(con, booking, folder)
        if package.hashes != prepared["hashes"]:
            raise RuntimeError(f"{booking}'s draft changed since {prepared['prepared_by']} prepared it: prepare it "
                               "again (joulo rev submit), upload the new files, then approve")
        at = clock.now()
        con.execute("begin transaction")
        try:
            con.execute("insert into ledger.rev_booking_lines by name "
                        "select * from registration.rev_booking_drafts where booking_id = ?", [booking.label])
            con.execute("insert into ledger.rev_connections by name "
                        "select * from registration.rev_connection_drafts where booking_id = ?", [booking.label])
            hashes = package.hashes
            con.execute(
                "insert into ledger.rev_submissions by name select ? as booking_id, ? as booking_kind, "
                "? as delivery_year, ? as booking_quarter_start, ? as prepared_at, ? as prepared_by, "
                "? as approved_at, ? as approved_by, ? as submitted_at, ? as line_count, ? as connection_count, "
                "? as kwh_change, ? as ere_estimate, ? as connections_sha256, ? as deliveries_sha256, "
                "? as amendments_sha256, ? as schemas_sha256",
                [booking.label, booking.kind, booking.delivery_year, booking.booking_quarter_start,
                 prepared["prepared_at"], prepared["prepared_by"], at, by, at, len(package.lines),
                 len(package.connections), package.kwh_change, package.ere_estimate, hashes["connections.xml"],
                 hashes["deliveries.xml"], hashes["amendments.xml"], schemas_sha256()])
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        approved_at = con.execute("select approved_at from ledger.rev_submissions where booking_id = ?",
                                  [booking.label]).fetchone()[0]
    return write_package(folder, booking, package,
                         submitted_status(prepared["prepared_at"], prepared["prepared_by"], approved_at, by))


def _name(given: str | None) -> str:
    name = (given or getpass.getuser()).strip()
    if not name:
        raise ValueError("--by: a name is needed (who prepares or approves)")
    return name


def _current_draft(con: duckdb.DuckDBPyConnection, booking: BookingId, folder: Path) -> BookingPackage:
    """The booking's draft package, refusing when the files on disk are not that draft."""
    if not (folder / "deliveries.xml").exists():
        raise RuntimeError(f"no booking files in {folder}: run the quarter first (joulo run --quarter ...)")
    package = read_package(con, booking, submitted=False)
    if not on_disk_matches(folder, package):
        raise RuntimeError(f"the files in {folder} are not the current draft of {booking}: re-run the quarter, "
                           "upload the new files to the REV, then prepare again")
    return package


def _refuse_out_of_order(booking: BookingId, submitted: set[str], today) -> None:
    if booking.label in submitted:
        raise RuntimeError(f"{booking} is already submitted; a submitted booking never changes (late data "
                           "becomes an amendment in the next open quarter)")
    deadline = booking_deadline(booking.delivery_year)
    if today >= deadline:
        raise RuntimeError(f"bookings of delivery year {booking.delivery_year} closed after "
                           f"{last_booking_day(booking.delivery_year)}, the register's last day for them: "
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
                           "amendments land in the first open quarter")


def import_result(data_dir: DataDir, path: Path, imported_by: str | None = None) -> tuple[int, bool]:
    """Append the REV's issued units and ids from `path` to ledger.rev_results. Returns (rows, newly imported)."""
    rows = parse_result_file(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with ledger_writer(data_dir) as con:
        if con.execute("select count(*) from ledger.rev_results where import_sha256 = ?", [sha]).fetchone()[0]:
            return len(rows), False
        con.execute("create temp table result_rows (row_number integer, booking_id varchar, ean varchar, "
                    "units decimal(38, 12), connection_id varchar, delivery_id varchar, delivery_period_start date)")
        con.executemany("insert into result_rows values (?, ?, ?, ?, ?, ?, ?)",
                        [(r.row_number, r.booking_id, r.ean, r.units, r.connection_id, r.delivery_id, r.period_start)
                         for r in rows])
        problems = [f"row {n}: {problem}" for n, problem in con.execute(_RESULT_PROBLEMS_SQL).fetchall()]
        if problems:
            raise RuntimeError(f"{path.name} refused, nothing imported: " + "; ".join(problems))
        con.execute(
            """
            insert into ledger.rev_results by name
            select ? as import_sha256, ? as imported_at, ? as imported_by, ? as source_file,
                   row_number, booking_id, ean, delivery_period_start, units, connection_id, delivery_id
            from result_rows
            """, [sha, clock.now(), imported_by or getpass.getuser(), path.name])
    return len(rows), True


# Per result row, what does not fit the ledger: a booking not submitted, an EAN without a line in it, a
# period that is none of the EAN's lines, or a delivery id that names no single delivery line.
_RESULT_PROBLEMS_SQL = """
with matches as (
    select
        r.row_number, r.booking_id, r.ean, r.delivery_period_start, r.delivery_id,
        r.booking_id in (select booking_id from ledger.rev_submissions) as booking_known,
        count(l.line_number) as lines,
        count(l.line_number) filter (where r.delivery_period_start is null
                                     or l.delivery_period_start = r.delivery_period_start) as period_lines,
        count(l.line_number) filter (where l.kind = 'delivery' and (r.delivery_period_start is null
                                     or l.delivery_period_start = r.delivery_period_start)) as deliveries
    from result_rows as r
    left join ledger.rev_booking_lines as l on l.booking_id = r.booking_id and l.ean = r.ean
    group by all
)

select row_number, case
    when not booking_known then 'booking ' || booking_id || ' is not submitted'
    when lines = 0 then 'EAN ' || ean || ' has no line in booking ' || booking_id
    when period_lines = 0 then 'EAN ' || ean || ' has no line with period_start ' || delivery_period_start
        || ' in booking ' || booking_id
    when delivery_id is not null and deliveries = 0 then 'delivery_id ' || delivery_id || ': booking '
        || booking_id || ' registered no delivery of EAN ' || ean || ' (only an amendment)'
    when delivery_id is not null and deliveries > 1 then 'delivery_id ' || delivery_id || ': booking '
        || booking_id || ' holds ' || deliveries || ' deliveries of EAN ' || ean
        || '; say which with period_start (the delivery period''s begin)'
    end as problem
from matches
where problem is not null
order by row_number
limit 10
"""
