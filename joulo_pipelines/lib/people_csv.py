"""CSV files meant for people, who open them in a spreadsheet. A text cell beginning with `=`, `+`, `-`, `@`,
a tab or a carriage return is run there as a formula (CSV injection, OWASP), so such a cell gets a leading
apostrophe, which spreadsheets show as text and do not evaluate. A cell that is a plain decimal number (a
negative amount `-12.50`, or `-12,50` with a decimal comma) cannot be a formula and stays a number.

Files a Dutch person opens by double-clicking (dutch_excel) are written as Dutch Excel reads them: `;` between
cells, a decimal comma (lib/formatting.py's spreadsheet_number) and a UTF-8 byte order mark, without which
Excel takes the file for Windows-1252 and garbles every accented name.

Machine-read files (what lands in a partner's inbox, rejected lines kept as delivered, files we read back)
must not use this: the apostrophe would change their values."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from itertools import chain
from pathlib import Path

import duckdb

from joulo_pipelines.lib.paths import write_if_changed

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+([.,]\d+)?")
BOM = "\ufeff"


def safe_cell(value: object) -> object:
    """The value as a spreadsheet may show it: text that would start a formula is prefixed with `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def render(header: Sequence[str], rows: Iterable[Sequence[object]], delimiter: str = ",") -> str:
    """A CSV document (comma or `delimiter`, minimal quoting, \\n line ends) with every cell made safe."""
    # The csv module quotes a cell holding a character of its line terminator: with "\r\n" a cell holding a
    # carriage return is quoted too (with "\n" alone it would not be, and a spreadsheet would start a new row
    # there, where the apostrophe no longer protects). Each row's own "\r\n" then becomes "\n" again.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", delimiter=delimiter)
    lines = []
    for row in chain([header], rows):
        writer.writerow([safe_cell(value) for value in row])
        lines.append(buffer.getvalue()[:-2] + "\n")
        buffer.seek(0)
        buffer.truncate()
    return "".join(lines)


def dutch_excel(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The CSV as Dutch Excel opens it (`;`, BOM, UTF-8); numbers must come as spreadsheet_number text."""
    return (BOM + render(header, rows, delimiter=";")).encode("utf-8")


def copy_query(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> int:
    """DuckDB's `copy (query) to target (header)`, with every cell made safe; returns the rows written.
    Values are DuckDB's own text for them (as COPY writes them), null an empty cell. The same bytes as the
    file holds: left as it is, its time too (paths.write_if_changed)."""
    cursor = con.execute(f"select columns(*)::varchar from ({query})")
    header = [column[0] for column in cursor.description]
    rows = cursor.fetchall()
    write_if_changed(target, render(header, rows).encode("utf-8"))
    return len(rows)
