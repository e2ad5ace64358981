"""The file-drop contract (shared/contracts/partner-files.md) as data: datasets, columns, types.

The intake parser and the landing Parquet schema are both generated from these specs, so the contract
we publish and the code that enforces it cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["text", "ref", "email", "timestamp", "date", "integer", "decimal", "language"]

# The C0 control characters and DEL, as a regex character range that Python, pydantic and DuckDB (RE2) all
# read alike. No value may hold one, whether it comes by file or by API: XML 1.0 cannot carry most of them
# (the REV booking), a line break splits a one-line record and a NUL ends a string in C.
CONTROL_CHARACTERS = r"\x00-\x1f\x7f"
TEXT_PATTERN = rf"^[^{CONTROL_CHARACTERS}]+$"

# A customer_ref names files (statements, payout emails), so it holds only what a file name keeps as is:
# two refs that differ give two names (`X/../x` is refused rather than mapped onto `X_.._x`).
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
REF_MAX_LENGTH = 64
_EMAIL_PART = rf"[^@\s{CONTROL_CHARACTERS}]+"
EMAIL_PATTERN = rf"^{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}$"
# No line of a partner file comes near these; past them a file is refused whole, with the line it failed on,
# before a CSV reader that would skip such a line (DuckDB's, silently) or fail on it sees it.
MAX_LINE_BYTES = 1 << 20
MAX_HEADER_BYTES = 64 << 10


def visible(text: str) -> str:
    """Text for a report or a terminal, its control characters written out (\\x0b) rather than raw."""
    return re.sub(f"[{CONTROL_CHARACTERS}]", lambda m: f"\\x{ord(m.group()):02x}", text)


# DuckDB type of each contract type once parsed; decimals keep 6 places so kWh sums stay exact.
DUCKDB_TYPES: dict[ColumnType, str] = {
    "text": "VARCHAR",
    "ref": "VARCHAR",
    "email": "VARCHAR",
    "language": "VARCHAR",
    "timestamp": "TIMESTAMPTZ",
    "date": "DATE",
    "integer": "BIGINT",
    "decimal": "DECIMAL(18,6)",
}

# What a reader of an error report is told is accepted, per type.
ACCEPTED: dict[ColumnType, str] = {
    "text": "text on one line without control characters",
    "ref": f"up to {REF_MAX_LENGTH} letters, digits, '.', '_' or '-', starting with a letter or digit",
    "email": "an email address like name@example.nl",
    "language": "nl or en",
    "timestamp": "ISO 8601 with UTC offset (2026-03-29T01:30:00+01:00 or ...Z), or Europe/Amsterdam local time",
    "date": "an ISO date like 2026-01-01",
    "integer": "a whole number like 123456",
    "decimal": "a number like 12.5 (12,5 in a ;-separated file)",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = "text"
    required: bool = False
    personal: bool = False  # never shown in logs or Dagster metadata


@dataclass(frozen=True)
class RowRule:
    """A rule over several columns of one row, as a SQL condition on the parsed values that must hold."""

    column: str  # the column an error is reported against
    condition: str
    reason: str


@dataclass(frozen=True)
class Dataset:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    row_rules: tuple[RowRule, ...] = ()

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="customers",
            key=("customer_ref",),
            columns=(
                Column("customer_ref", "ref", required=True),
                Column("name", required=True, personal=True),
                Column("email", "email", required=True, personal=True),
                Column("iban", personal=True),
                Column("account_holder", personal=True),
                Column("street", required=True, personal=True),
                Column("house_number", required=True, personal=True),
                Column("postal_code", required=True),
                Column("city", required=True),
                Column("ean", required=True),
                Column("mandate_signed_at", "timestamp", required=True),
                Column("mandate_valid_from", "date", required=True),
                Column("mandate_valid_until", "date", required=True),
                Column("revoked_at", "timestamp"),
                Column("kvk_number"),
                Column("language", "language"),
                # The signing record (a simple electronic signature): which consent text the customer ticked
                # (version and the SHA-256 of its bytes, config/consent_texts/), who the partner had
                # authenticated and how, and the client as the partner saw it; the moment is
                # mandate_signed_at. Without a complete one the mandate is not booked (action_needed).
                Column("consent_text_version"),
                Column("consent_text_sha256"),
                Column("signer_user_id", personal=True),
                Column("signer_authentication"),
                Column("signer_ip", personal=True),
                Column("signer_user_agent", personal=True),
            ),
            row_rules=(
                RowRule(
                    "mandate_valid_until",
                    "mandate_valid_until >= mandate_valid_from",
                    "mandate_valid_until is before mandate_valid_from",
                ),
            ),
        ),
        Dataset(
            name="charge_points",
            key=("charge_point_ref",),
            columns=(
                Column("charge_point_ref", required=True),
                Column("customer_ref", "ref", required=True),
                Column("brand", required=True),
                Column("model", required=True),
                Column("serial_number", required=True),
                Column("meter_serial"),
                Column("mid_certificate"),
                Column("installed_at", "date"),
            ),
        ),
        Dataset(
            name="sessions",
            key=("session_ref",),
            columns=(
                Column("session_ref", required=True),
                Column("charge_point_ref", required=True),
                Column("started_at", "timestamp", required=True),
                Column("ended_at", "timestamp", required=True),
                Column("meter_start_wh", "integer"),
                Column("meter_stop_wh", "integer"),
                Column("energy_kwh", "decimal"),
                Column("energy_export_kwh", "decimal"),
            ),
            row_rules=(
                RowRule(
                    "meter_start_wh",
                    "(meter_start_wh is not null and meter_stop_wh is not null) or energy_kwh is not null",
                    "needs meter_start_wh and meter_stop_wh, or energy_kwh",
                ),
                RowRule(
                    "meter_stop_wh",
                    "(meter_start_wh is null) = (meter_stop_wh is null)",
                    "meter_start_wh and meter_stop_wh come as a pair",
                ),
                RowRule("ended_at", "ended_at >= started_at", "ended_at is before started_at"),
            ),
        ),
        Dataset(
            name="meter_readings",
            key=("charge_point_ref", "read_at"),
            columns=(
                Column("charge_point_ref", required=True),
                Column("read_at", "timestamp", required=True),
                Column("register_wh", "integer", required=True),
            ),
        ),
    )
}

# The customers' columns that make up the signing record, beside mandate_signed_at (the moment).
SIGNING_RECORD_COLUMNS = ("consent_text_version", "consent_text_sha256", "signer_user_id", "signer_authentication",
                          "signer_ip", "signer_user_agent")

# Lineage columns every landed row carries, in front of the dataset's own columns.
LINEAGE_COLUMNS: dict[str, str] = {
    "partner_id": "VARCHAR",
    "file_sha256": "VARCHAR",
    "source_file": "VARCHAR",
    "received_at": "TIMESTAMPTZ",
    "line_number": "BIGINT",
}

_FILE_NAME = re.compile(r"^(?P<dataset>" + "|".join(DATASETS) + r")(_[^/]*)?\.csv$", re.IGNORECASE)


def dataset_for_file(file_name: str) -> Dataset | None:
    """`sessions_2026-03.csv` -> the sessions dataset; None for a name the contract does not know."""
    match = _FILE_NAME.match(file_name)
    return DATASETS[match.group("dataset").lower()] if match else None


def accepted_file_names() -> str:
    return ", ".join(f"{name}[_anything].csv" for name in DATASETS)
