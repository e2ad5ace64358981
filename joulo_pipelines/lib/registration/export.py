"""The booking files: rev_booking.xml (validated against rev_booking.xsd), rev_booking.csv and
summary.json, rendered from booking lines only, so a submitted booking renders from the ledger to the same
bytes. Nothing in them depends on the wall clock; lines come ordered by line number."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

import duckdb
import xmlschema

from joulo_pipelines.lib import people_csv
from joulo_pipelines.lib.registration.booking_ids import BookingId
from joulo_pipelines.lib.xml_text import check_xml_text

XSD_PATH = Path(__file__).with_name("rev_booking.xsd")
NAMESPACE = "urn:joulo:rev-booking:1"

CSV_COLUMNS = [
    "line_number", "kind", "partner_id", "customer_ref", "ean", "delivery_period_start", "delivery_period_end",
    "kwh", "connection_name", "street", "house_number", "postal_code", "city", "mandate_issued_on",
    "mandate_valid_from", "mandate_valid_until", "ere_per_kwh", "ere_estimate", "reason",
]


@dataclass(frozen=True)
class BookingFiles:
    xml: bytes
    csv: bytes
    line_count: int
    ean_count: int
    kwh: Decimal
    ere_estimate: Decimal

    @property
    def xml_sha256(self) -> str:
        return hashlib.sha256(self.xml).hexdigest()

    @property
    def csv_sha256(self) -> str:
        return hashlib.sha256(self.csv).hexdigest()


def xsd_sha256() -> str:
    return hashlib.sha256(XSD_PATH.read_bytes()).hexdigest()


@cache
def _schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD_PATH))


def validate_booking_xml(xml: bytes, name: str = "rev_booking.xml") -> None:
    """Raise ValueError naming the element, the value and the rule when `xml` breaks rev_booking.xsd."""
    errors = list(_schema().iter_errors(xml.decode("utf-8")))
    if errors:
        first = errors[0]
        raise ValueError(f"{name} does not validate against {XSD_PATH.name} ({len(errors)} error(s)); first at "
                         f"{first.path}: {first.reason}")


def read_lines(con: duckdb.DuckDBPyConnection, table: str, booking: BookingId) -> list[dict]:
    """The lines of one booking from `ledger.rev_booking_lines` or `registration.rev_booking_drafts`."""
    cursor = con.execute(f"select * from {table} where booking_id = ? order by line_number", [booking.label])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def render_booking(booking: BookingId, lines: list[dict]) -> BookingFiles:
    kwh = sum((line["kwh"] for line in lines), Decimal("0.000"))
    ere = sum((line["ere_estimate"] for line in lines), Decimal("0E-12"))
    xml = _render_xml(booking, lines, kwh, ere)
    validate_booking_xml(xml, f"rev_booking.xml of {booking}")
    return BookingFiles(xml=xml, csv=_render_csv(lines), line_count=len(lines),
                        ean_count=len({line["ean"] for line in lines}), kwh=kwh, ere_estimate=ere)


def write_booking(folder: Path, booking: BookingId, files: BookingFiles, status: dict) -> dict:
    """Write the three files into `folder` (exports/<booking>/rev/), only where their bytes changed.
    Returns the summary."""
    folder.mkdir(parents=True, exist_ok=True)
    summary = {
        "booking_id": booking.label,
        "booking_kind": booking.kind,
        "delivery_year": booking.delivery_year,
        "booking_quarter_start": booking.booking_quarter_start.isoformat(),
        **status,
        "ean_count": files.ean_count,
        "line_count": files.line_count,
        "kwh": f"{files.kwh:.3f}",
        "ere_estimate": f"{files.ere_estimate:.12f}",
        "files": {"rev_booking.xml": files.xml_sha256, "rev_booking.csv": files.csv_sha256},
        "schema": {"file": XSD_PATH.name, "sha256": xsd_sha256()},
    }
    _write_if_changed(folder / "rev_booking.xml", files.xml)
    _write_if_changed(folder / "rev_booking.csv", files.csv)
    _write_if_changed(folder / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
    return summary


def _write_if_changed(path: Path, content: bytes) -> None:
    if path.exists() and path.read_bytes() == content:
        return
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    partial.replace(path)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def _render_csv(lines: list[dict]) -> bytes:
    return people_csv.render(CSV_COLUMNS, [[_text(line[column]) for column in CSV_COLUMNS] for line in lines]).encode()


def _check_xml_text(booking: BookingId, line: dict) -> None:
    """NotXmlText naming the booking, line, partner, customer_ref and field when a value of the line cannot be
    written in XML 1.0 (eligibility keeps such customers out; this is the writer's own guard)."""
    for field, value in line.items():
        if isinstance(value, str):
            check_xml_text(value, f"rev_booking.xml of {booking}, line {line['line_number']} (partner "
                                  f"{line['partner_id']!a}, customer_ref {line['customer_ref']!a}), {field}")


def _render_xml(booking: BookingId, lines: list[dict], kwh: Decimal, ere: Decimal) -> bytes:
    ET.register_namespace("", NAMESPACE)

    def tag(name: str) -> str:
        return f"{{{NAMESPACE}}}{name}"

    def child(parent: ET.Element, name: str, text=None, **attributes) -> ET.Element:
        element = ET.SubElement(parent, tag(name), {key: _text(value) for key, value in attributes.items()})
        if text is not None:
            element.text = _text(text)
        return element

    root = ET.Element(tag("revBooking"), {
        "schemaVersion": "1", "bookingId": booking.label, "bookingKind": booking.kind,
        "deliveryYear": str(booking.delivery_year),
    })
    for line in lines:
        _check_xml_text(booking, line)
        element = child(root, "line", number=line["line_number"], kind=line["kind"])
        child(element, "ean", line["ean"])
        child(element, "deliveryPeriod", start=line["delivery_period_start"], end=line["delivery_period_end"])
        child(element, "kWh", line["kwh"])
        connection = child(element, "connection")
        child(connection, "holderName", line["connection_name"])
        child(connection, "street", line["street"])
        child(connection, "houseNumber", line["house_number"])
        child(connection, "postalCode", line["postal_code"])
        child(connection, "city", line["city"])
        child(element, "mandate", issuedOn=line["mandate_issued_on"], validFrom=line["mandate_valid_from"],
              validUntil=line["mandate_valid_until"])
        child(element, "partner", line["partner_id"])
        child(element, "customerRef", line["customer_ref"])
        child(element, "ereEstimate", line["ere_estimate"])
        if line["reason"]:
            child(element, "remark", line["reason"])
    child(root, "totals", lines=len(lines), kWh=f"{kwh:.3f}", ereEstimate=f"{ere:.12f}")
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"
