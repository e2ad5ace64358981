"""The verifier's own choices, imported: the sample of EANs whose evidence they examine and the list of
sites they visit (`joulo verification <year> import-sample FILE`, `... import-site-visits FILE`). We do not
choose them. CSV: `ean`, optionally `partner_id` and `location`. Every EAN must be in the year's population
(and booked for the partner, when one is named); otherwise the file is refused. The latest import of a list
is the one that counts; earlier ones stay in verification.verifier_lists."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.verification.population import population_eans
from joulo_pipelines.lib.verification.store import next_import_seq, record_event, transaction, who
from joulo_pipelines.lib.verification.verifier_csv import read_rows, refuse_if_any

LISTS = {"sample": "sample_received", "site_visits": "site_visits_received"}


def import_list(con: duckdb.DuckDBPyConnection, year: int, list_kind: str, path: Path, by: str | None) -> int:
    """Append the list; returns its EANs. The same bytes imported again add nothing."""
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    rows = read_rows(path, required=("ean",), optional=("partner_id", "location"))
    booked = population_eans(con, year)

    def problem(row: dict) -> tuple[str, str] | None:
        if row["ean"] not in booked:
            return "ean", (f"not in the population of {year} (exports/verification/{year}/population.csv); "
                           f"accepted: an EAN booked for delivery year {year}")
        if row["partner_id"] and row["partner_id"] not in booked[row["ean"]]:
            return "partner_id", (f"EAN {row['ean']} was booked for {', '.join(sorted(booked[row['ean']]))} "
                                  f"in {year}; accepted: one of those, or empty")
        return None

    refuse_if_any(path, rows, problem)
    current = current_list(con, year, list_kind)
    if current and current[0][4] == sha:
        return len(rows)
    with transaction(con):
        seq, at = next_import_seq(con), clock.now()
        con.executemany(
            "insert into verification.verifier_lists by name select ? as import_seq, ? as delivery_year, "
            "? as list_kind, ? as imported_at, ? as imported_by, ? as source_file, ? as file_sha256, ? as row_number, "
            "? as ean, ? as partner_id, ? as location",
            [(seq, year, list_kind, at, who(by), path.name, sha, number, row["ean"], row["partner_id"], row["location"])
             for number, row in rows])
        record_event(con, year, LISTS[list_kind], by, detail=f"{path.name}: {len(rows)} row(s)", file_sha256=sha)
    return len(rows)


def current_list(con: duckdb.DuckDBPyConnection, year: int, list_kind: str) -> list[tuple]:
    """The latest import of the list: (ean, partner_id, location, source_file, file_sha256) per row, in the
    file's order; empty before any import."""
    return con.execute(
        """
        select ean, partner_id, location, source_file, file_sha256 from verification.verifier_lists
        where delivery_year = ? and list_kind = ?
            and import_seq = (select max(import_seq) from verification.verifier_lists
                              where delivery_year = ? and list_kind = ?)
        order by row_number
        """, [year, list_kind, year, list_kind]).fetchall()
