"""Text on its way into Dagster's event log and compute logs, with personal data and the data dir's absolute
path taken out.

Partner files reach DuckDB and dbt, whose error messages quote what they choke on: DuckDB's CSV reader
prints the whole offending line (a customer's name, email and IBAN) and the file's absolute path, its
conversion errors the cell value. Every message, metadata value and exception that an asset hands to
Dagster passes through `scrub` (or `scrub_value`, `errors_scrubbed`) first; the full text stays where only
we read it: the quarantine report and dbt's own log under dbt_project/target/.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

# DuckDB's CSV errors: "Original Line: <the row as delivered>".
_ORIGINAL_LINE = re.compile(r"^[ \t]*Original Line:.*$\n?", re.MULTILINE)
# In DuckDB's messages ("Conversion Error: Could not convert string 'x' to INT64", "Constraint Error:
# Duplicate key "ref: x" ...") single quotes hold a value; on other lines they may hold a partner id.
_DUCKDB_ERROR_LINE = re.compile(r"^.*\b[A-Z][a-z]+(?: [A-Z][a-z]+)* Error: .*$", re.MULTILINE)
_QUOTED_VALUE = re.compile(r"'(?:[^'\n]|'')*'")
_DUPLICATE_KEY = re.compile(r'Duplicate key "[^"\n]*"')
# Whatever else slipped through: anything shaped like an email address or an IBAN.
_EMAIL = re.compile(r"[^\s@'\"<>(),;:]+@[^\s@'\"<>(),;:]+\.[A-Za-z]{2,}")
_IBAN = re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b")


class ScrubbedError(RuntimeError):
    """An error whose message is safe for Dagster's logs. Raised `from None`, so Dagster does not record
    the original exception (and its message) as the cause or context."""


def scrub(text: str, data_dir: Path) -> str:
    """`text` without DuckDB's quoted rows and values, email addresses and IBANs, with paths below the data
    dir made relative to it."""
    text = _ORIGINAL_LINE.sub("Original Line: (not shown: it holds the partner's data)\n", text)
    text = _DUCKDB_ERROR_LINE.sub(lambda line: _DUPLICATE_KEY.sub('Duplicate key "…"', _QUOTED_VALUE.sub(
        "'…'", line.group())), text)
    text = _EMAIL.sub("<email>", _IBAN.sub("<iban>", text))
    for root in {str(data_dir), str(data_dir.resolve())}:
        text = text.replace(root + "/", "").replace(root, "<data dir>")
    return text


def scrub_value(value: Any, data_dir: Path) -> Any:
    """`scrub` applied to every string inside metadata (dicts, lists, keys included)."""
    if isinstance(value, str):
        return scrub(value, data_dir)
    if isinstance(value, Path):
        return scrub(str(value), data_dir)
    if isinstance(value, dict):
        return {scrub_value(k, data_dir): scrub_value(v, data_dir) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_value(v, data_dir) for v in value]
    return value


def relative_path(path: Path, data_dir: Path) -> str:
    """A path as metadata shows it: relative to the data dir (else its name alone)."""
    path = Path(path)
    return path.relative_to(data_dir).as_posix() if path.is_relative_to(data_dir) else path.name


@contextmanager
def errors_scrubbed(data_dir: Path) -> Iterator[None]:
    """Any exception raised inside leaves as a ScrubbedError carrying the scrubbed message."""
    try:
        yield
    except ScrubbedError:
        raise
    except Exception as exc:  # whatever it is, its text may quote partner data
        raise ScrubbedError(f"{type(exc).__name__}: {scrub(str(exc), data_dir)}") from None


class _ScrubbingStream:
    def __init__(self, target, data_dir: Path):
        self._target, self._data_dir = target, data_dir

    def write(self, text: str) -> int:
        return self._target.write(scrub(text, self._data_dir))

    def flush(self) -> None:
        self._target.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno...: the stream's own
        return getattr(self._target, name)


@contextmanager
def stdout_scrubbed(data_dir: Path) -> Iterator[None]:
    """What is printed inside reaches stdout (and so Dagster's compute log) scrubbed: dagster-dbt prints
    every dbt log line there, error messages included."""
    with redirect_stdout(_ScrubbingStream(sys.stdout, data_dir)):
        yield
