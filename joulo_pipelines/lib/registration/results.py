"""Reading what the REV issued: units per EAN per booking, and the ids it gave connections and deliveries,
as CSV or XML.

CSV: header `booking_id,ean,units` and optionally `connection_id`, `delivery_id`, `period_start` (any order,
case-insensitive, `,` or `;`; with `;` a decimal comma is accepted). XML (parsed with defusedxml;
namespaces ignored; the same optional attributes connectionId, deliveryId, periodStart):
    <revResult><booking bookingId="2026-Q1">
        <issued ean="871..." units="123.456" connectionId="C-1" deliveryId="D-9" periodStart="2026-01-01"/>
    </booking></revResult>
connection_id is the register's id of the EAN's connection; delivery_id that of the delivery the booking
registered for the EAN. period_start (the delivery period's begin, YYYY-MM-DD) names the delivery when
the booking holds more than one of the EAN (a late delivery of an earlier period beside the quarter's own);
the units of an import's rows for one booking and EAN add up. Every problem is reported with file, row
(CSV line or XML element position), column and value, and the whole file is refused: a half-imported
result would reconcile against the wrong numbers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from defusedxml import ElementTree as SafeET

from joulo_pipelines.lib.ean import is_eighteen_digits
from joulo_pipelines.lib.registration.booking_ids import BookingId

REQUIRED = ("booking_id", "ean", "units")
OPTIONAL = ("connection_id", "delivery_id", "period_start")


@dataclass(frozen=True)
class IssuedUnits:
    row_number: int
    booking_id: str
    ean: str
    units: Decimal
    connection_id: str | None = None
    delivery_id: str | None = None
    period_start: date | None = None


class ResultFileError(ValueError):
    pass


def parse_result_file(path: Path) -> list[IssuedUnits]:
    content = path.read_bytes()
    stripped = content.lstrip(b"\xef\xbb\xbf \r\n\t")
    raw = _parse_xml(path, content) if stripped.startswith(b"<") else _parse_csv(path, content)
    errors, rows, seen = [], [], {}
    for row_number, where, booking_id, ean, units, optional in raw:
        problem = _check(booking_id, ean, units) or _check_optional(optional)
        if problem:
            errors.append(f"{path.name}, {where}: {problem}")
            continue
        ids = {name: (optional.get(name) or "").strip() or None for name in OPTIONAL}
        period = date.fromisoformat(ids["period_start"]) if ids["period_start"] else None
        key = (booking_id.strip().upper(), ean.strip(), period)
        if key in seen:
            errors.append(f"{path.name}, {where}: booking {key[0]} EAN {key[1]}"
                          + (f" period {period}" if period else "") + f" also at {seen[key]}; one row each")
            continue
        seen[key] = where
        rows.append(IssuedUnits(row_number, BookingId.parse(key[0]).label, key[1], _decimal(units),
                                ids["connection_id"], ids["delivery_id"], period))
    if errors:
        raise ResultFileError("; ".join(errors[:20]) + (f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""))
    if not rows:
        raise ResultFileError(f"{path.name}: no issued units found (expected rows of booking_id, ean, units)")
    return rows


def _decimal(text: str) -> Decimal:
    return Decimal(text.strip().replace(",", "."))


def _check(booking_id: str | None, ean: str | None, units: str | None) -> str | None:
    if not booking_id or not booking_id.strip():
        return "column booking_id is empty; expected a booking such as 2026-Q1 or 2026-S1"
    try:
        BookingId.parse(booking_id)
    except ValueError as exc:
        return f"column booking_id: {exc}"
    if not ean or not is_eighteen_digits(ean.strip()):
        return f"column ean, value {ean!r}: expected the 18-digit EAN of the booking line"
    try:
        value = _decimal(units or "")
    except InvalidOperation:
        return f"column units, value {units!r}: expected a decimal number of units (e.g. 123.456)"
    if not value.is_finite():
        return f"column units, value {units!r}: expected a finite decimal number"
    return None


def _check_optional(optional: dict) -> str | None:
    for name in ("connection_id", "delivery_id"):
        value = (optional.get(name) or "").strip()
        if value and (len(value) > 64 or any(character.isspace() for character in value)):
            return f"column {name}, value {value!r}: expected the register's id, up to 64 characters without spaces"
    period = (optional.get("period_start") or "").strip()
    if period:
        try:
            date.fromisoformat(period)
        except ValueError:
            return f"column period_start, value {period!r}: expected the delivery period's begin as YYYY-MM-DD"
    return None


def _parse_csv(path: Path, content: bytes):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ResultFileError(f"{path.name}: not UTF-8 ({exc})") from None
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    columns = {name.strip().lower(): name for name in reader.fieldnames or []}
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ResultFileError(f"{path.name}, row 1 (header): missing column(s) {', '.join(missing)}; "
                              f"expected {', '.join(REQUIRED)}")
    for line, record in enumerate(reader, start=2):
        units = record[columns["units"]]
        if delimiter == "," and units and "," in units:
            units = None  # a decimal comma only makes sense in a ';' file
        optional = {name: record[columns[name]] for name in OPTIONAL if name in columns}
        yield line, f"row {line}", record[columns["booking_id"]], record[columns["ean"]], units, optional


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_xml(path: Path, content: bytes):
    try:
        root = SafeET.fromstring(content)
    except SafeET.ParseError as exc:
        raise ResultFileError(f"{path.name}: not well-formed XML ({exc})") from None
    except Exception as exc:  # defusedxml refuses entities and DTD tricks
        raise ResultFileError(f"{path.name}: refused XML ({type(exc).__name__}: {exc})") from None
    if _local(root.tag) != "revResult":
        raise ResultFileError(f"{path.name}: root element <{_local(root.tag)}>, expected <revResult>")
    number = 0
    for booking_index, booking in enumerate((e for e in root if _local(e.tag) == "booking"), start=1):
        for issued_index, issued in enumerate((e for e in booking if _local(e.tag) == "issued"), start=1):
            number += 1
            where = f"booking element {booking_index} ({booking.get('bookingId')}), issued element {issued_index}"
            optional = {"connection_id": issued.get("connectionId"), "delivery_id": issued.get("deliveryId"),
                        "period_start": issued.get("periodStart")}
            yield number, where, booking.get("bookingId"), issued.get("ean"), issued.get("units"), optional
