"""Reading the CSV files a verifier sends us (their sample, site-visit list, findings): a header with the
named columns (any order, case-insensitive, `,` or `;`), UTF-8. Every problem names the file, row, column and
value and what is accepted, and the whole file is refused: half a sample is a different sample."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path


class VerifierFileError(ValueError):
    pass


def read_rows(path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[tuple[int, dict]]:
    """(row number, {column: stripped value or None}) per data row; row 1 is the header."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise VerifierFileError(f"{path.name}: not UTF-8 ({exc})") from None
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    columns = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    accepted = ", ".join(required + tuple(f"{name} (optional)" for name in optional))
    missing = [name for name in required if name not in columns]
    unknown = [name for name in columns if name not in required + optional]
    if missing or unknown:
        problem = (f"missing column(s) {', '.join(missing)}" if missing else
                   f"unknown column(s) {', '.join(unknown)}")
        raise VerifierFileError(f"{path.name}, row 1 (header): {problem}; accepted: {accepted}")
    rows = []
    for number, record in enumerate(reader, start=2):
        rows.append((number, {name: (record.get(columns.get(name, "")) or "").strip() or None
                              for name in required + optional}))
    if not rows:
        raise VerifierFileError(f"{path.name}: no rows after the header (expected {accepted})")
    return rows


def refuse_if_any(path: Path, rows: list[tuple[int, dict]], problem_of: Callable[[dict], tuple[str, str] | None]
                  ) -> None:
    """`problem_of(row)` gives (column, what is wrong and accepted) or None; every problem is listed."""
    errors = []
    for number, row in rows:
        problem = problem_of(row)
        if problem:
            column, what = problem
            errors.append(f"{path.name}, row {number}, column {column}, value {row.get(column)!r}: {what}")
    if errors:
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        raise VerifierFileError("; ".join(errors[:20]) + more + "; nothing imported")
