"""Retention: nothing a year's bookings rest on is deleted until five years after the year's verification.

What they rest on is recorded when the population is exported (verification.retained_items): per file the
year's booking lines trace back to (the sessions' files and the mandates' and charge points' files) its raw
bytes (landing/raw/<sha256>.<ext>, whose name is its hash), its landed rows and its intake manifest entry;
per ledger table and booking the rows. The first recording of an item stands: a later export adds new items
and never replaces a recorded hash. `check` proves each is still there and unchanged.

`prune` deletes only raw bytes of the year's files, once the year's retention has ended (never for a year
without a recorded statement), and only those no other year still under retention (or not yet verified)
rests on: the landed rows and the ledger stay."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.verification.store import latest_event

RETENTION_YEARS = 5
LEDGER_TABLES = ("rev_preparations", "rev_submissions", "rev_booking_lines", "rev_connections", "rev_results")

# Every file a year's booking lines rest on, by partner and SHA-256 of the delivered bytes.
_LINEAGE = """
    with lines as (
        select distinct partner_id, customer_ref, ean from ledger.rev_booking_lines where delivery_year = {year}
    )

    select sessions.partner_id, sessions.file_sha256
    from marts.fct_charging_sessions as sessions
    semi join lines using (partner_id, ean)
    where sessions.file_sha256 is not null
        and timezone('Europe/Amsterdam', sessions.started_at) < make_timestamp({year} + 1, 1, 1, 0, 0, 0)
        and timezone('Europe/Amsterdam', sessions.ended_at) >= make_timestamp({year}, 1, 1, 0, 0, 0)
    union
    select partner_id, file_sha256 from intermediate.int_customers_latest semi join lines using (partner_id, customer_ref)
    union
    select partner_id, file_sha256 from intermediate.int_charge_points_latest semi join lines using (partner_id, customer_ref)
"""


@dataclass(frozen=True)
class Problem:
    item_kind: str
    item: str
    what: str


def lineage_files(con: duckdb.DuckDBPyConnection, year: int) -> list[tuple[str, str]]:
    """(partner_id, file_sha256) of every file the year's booking lines rest on."""
    return con.execute(_LINEAGE.format(year=int(year)) + " order by all").fetchall()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files_of(data_dir: DataDir, partner_id: str, sha: str) -> list[tuple[str, str, Path | None, str | None]]:
    """(kind, item, path or None when missing, expected SHA-256 or None to take the file's own)."""
    raw = sorted(data_dir.raw.glob(f"{sha}.*"))
    landed = sorted(path for path in (data_dir.landing / partner_id).glob(f"*/{sha}.parquet"))
    manifest = data_dir.landing / partner_id / "manifest" / f"{sha}.json"
    return [("raw_file", f"landing/raw/{sha}", raw[0] if raw else None, sha),
            ("intake_manifest", f"landing/{partner_id}/manifest/{sha}.json", manifest if manifest.exists() else None, None),
            *[("landed_rows", path.relative_to(data_dir.root).as_posix(), path, None) for path in landed]]


def record(con: duckdb.DuckDBPyConnection, data_dir: DataDir, year: int) -> int:
    """Add what the year's bookings rest on and is not recorded yet; returns the items added. A file missing
    already is recorded without a hash, so that the check reports it."""
    items = []
    for partner_id, sha in lineage_files(con, year):
        for kind, item, path, expected in _files_of(data_dir, partner_id, sha):
            items.append((kind, item, expected or (_sha256(path) if path else None), None))
    for table in LEDGER_TABLES:
        items += [("ledger_rows", f"ledger.{table}:{booking}", None, count) for booking, count in con.execute(
            f"select booking_id, count(*) from ledger.{table} where booking_id in "
            "(select booking_id from ledger.rev_submissions where delivery_year = ?) group by all", [year]).fetchall()]
    con.execute("create or replace temp table new_items (item_kind varchar, item varchar, sha256 varchar, "
                "row_count bigint)")
    con.executemany("insert into new_items values (?, ?, ?, ?)", items)
    added = con.execute(
        """
        insert into verification.retained_items by name
        select distinct ? as delivery_year, ? as recorded_at, item_kind, item, sha256, row_count
        from new_items  -- the same bytes dropped by two partners are one raw file
        anti join (select item_kind, item from verification.retained_items where delivery_year = ?)
            using (item_kind, item)
        """, [year, clock.now(), year]).fetchone()[0]
    return added


def check(con: duckdb.DuckDBPyConnection, data_dir: DataDir, year: int) -> tuple[int, list[Problem]]:
    """(items checked, problems): every recorded file is there with its hash, every ledger count reached."""
    recorded = con.execute("select item_kind, item, sha256, row_count from verification.retained_items "
                           "where delivery_year = ? order by item_kind, item", [year]).fetchall()
    problems = []
    for kind, item, sha, rows in recorded:
        if kind == "ledger_rows":
            table, booking = item.split(":", 1)
            if table.removeprefix("ledger.") not in LEDGER_TABLES:  # the name goes into SQL: only ours
                problems.append(Problem(kind, item, f"not a ledger table; known: {', '.join(LEDGER_TABLES)}"))
                continue
            now = con.execute(f"select count(*) from {table} where booking_id = ?", [booking]).fetchone()[0]
            if now < rows:
                problems.append(Problem(kind, item, f"{rows} row(s) recorded, {now} present"))
            continue
        path = _path_of(data_dir, kind, item)
        if sha is None:
            problems.append(Problem(kind, item, "was already missing when the year's population was exported"))
        elif path is None:
            problems.append(Problem(kind, item, f"missing (recorded SHA-256 {sha})"))
        elif _sha256(path) != sha:
            problems.append(Problem(kind, item, f"changed: SHA-256 {_sha256(path)}, recorded {sha}"))
    return len(recorded), problems


def _path_of(data_dir: DataDir, kind: str, item: str) -> Path | None:
    if kind == "raw_file":
        found = sorted(data_dir.root.glob(f"{item}.*"))
        return found[0] if found else None
    path = data_dir.root / item
    return path if path.exists() else None


def prune_allowed_from(con: duckdb.DuckDBPyConnection, year: int) -> tuple[date, bool]:
    """(the first day the year's records may be pruned, whether that date is final). Five whole years after
    the verification year, the year the statement was recorded; without a statement yet, the earliest it can
    be (a statement is due in the year after delivery), which moves with a late one."""
    statement = latest_event(con, year, "statement_issued")
    if statement is None:
        return date(year + 1 + RETENTION_YEARS + 1, 1, 1), False
    verified_in = statement[0].astimezone(clock.AMSTERDAM).year
    return date(verified_in + RETENTION_YEARS + 1, 1, 1), True


class PruneRefused(RuntimeError):
    pass


def prune(con: duckdb.DuckDBPyConnection, data_dir: DataDir, year: int) -> list[Path]:
    """Delete the year's raw files once allowed; refuses, naming the date, before then."""
    allowed_from, final = prune_allowed_from(con, year)
    if not final:  # a year never verified is never pruned
        raise PruneRefused(f"records of delivery year {year} are kept until {allowed_from.isoformat()} at the "
                           "earliest (its verifier's statement is not recorded yet; five years after the "
                           "verification year): nothing pruned")
    if clock.today() < allowed_from:
        raise PruneRefused(f"records of delivery year {year} are kept until {allowed_from.isoformat()} (five years "
                           "after its verification): nothing pruned")
    protected = set()
    for (other,) in con.execute("select distinct delivery_year from ledger.rev_booking_lines where delivery_year <> ?",
                                [year]).fetchall():
        other_from, other_final = prune_allowed_from(con, other)
        if not other_final or clock.today() < other_from:
            protected |= {sha for _, sha in lineage_files(con, other)}
    deleted = []
    for (item,) in con.execute("select distinct item from verification.retained_items "
                               "where delivery_year = ? and item_kind = 'raw_file' order by item", [year]).fetchall():
        path = _path_of(data_dir, "raw_file", item)
        if path is not None and item.rsplit("/", 1)[-1] not in protected:
            path.unlink()
            deleted.append(path)
    return deleted
