"""A booking's package under exports/<booking>/rev/: the register files connections.xml, deliveries.xml and
amendments.xml (each validated against its schema in schemas/ before it is written) and manifest.json beside
them with everything internal (partner, customer reference, our ERE estimate, totals, the files' hashes).

Rendered from ledger or draft rows only, so a submitted booking renders from the ledger to the same bytes.
Nothing in the register files depends on the wall clock; lines come ordered by line number.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

import duckdb
import xmlschema

from joulo_pipelines.lib.paths import write_if_changed
from joulo_pipelines.lib.registration import rev_adapter
from joulo_pipelines.lib.registration.booking_ids import BookingId

REGISTER_FILES = list(rev_adapter.FILES)

# What manifest.json says of each line (the register files say only what the register needs).
MANIFEST_LINE_FIELDS = [
    "line_number", "kind", "partner_id", "customer_ref", "ean", "delivery_quarter_start", "delivery_period_start",
    "delivery_period_end", "kwh", "previous_kwh", "amends_booking_id", "register_delivery_id", "ere_per_kwh",
    "ere_estimate", "reason",
]


@dataclass(frozen=True)
class BookingPackage:
    files: dict[str, bytes]  # register file name -> bytes
    lines: list[dict]
    connections: list[dict]

    def sha256(self, name: str) -> str:
        return hashlib.sha256(self.files[name]).hexdigest()

    @property
    def hashes(self) -> dict[str, str]:
        return {name: self.sha256(name) for name in REGISTER_FILES}

    @property
    def kwh_change(self) -> Decimal:
        return sum((line["kwh"] - line["previous_kwh"] for line in self.lines), Decimal("0.000"))

    @property
    def ere_estimate(self) -> Decimal:
        return sum((line["ere_estimate"] for line in self.lines), Decimal("0E-12"))

    def count(self, kind: str) -> int:
        return sum(1 for line in self.lines if line["kind"] == kind)


def schemas_sha256() -> str:
    """One hash over the schema files the register files rest on, in a fixed order."""
    digest = hashlib.sha256()
    for name in rev_adapter.SCHEMA_FILES:
        digest.update(name.encode() + b"\0" + (rev_adapter.SCHEMA_DIR / name).read_bytes())
    return digest.hexdigest()


@cache
def _schema(name: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(rev_adapter.SCHEMA_DIR / rev_adapter.FILES[name][0]))


def validate_register_file(name: str, content: bytes, where: str | None = None) -> None:
    """Raise ValueError naming the file, the element and the rule when `content` breaks the schema of `name`."""
    errors = list(_schema(name).iter_errors(content.decode("utf-8")))
    if errors:
        first = errors[0]
        raise ValueError(f"{where or name} does not validate against {rev_adapter.FILES[name][0]} "
                         f"({len(errors)} error(s)); first at {first.path}: {first.reason}")


def read_rows(con: duckdb.DuckDBPyConnection, table: str, booking: BookingId, order: str) -> list[dict]:
    cursor = con.execute(f"select * from {table} where booking_id = ? order by {order}", [booking.label])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def read_package(con: duckdb.DuckDBPyConnection, booking: BookingId, submitted: bool) -> BookingPackage:
    """The booking's package from the ledger (`submitted`) or from its draft."""
    lines_table, connections_table = (("ledger.rev_booking_lines", "ledger.rev_connections") if submitted else
                                      ("registration.rev_booking_drafts", "registration.rev_connection_drafts"))
    return render_package(booking, read_rows(con, lines_table, booking, "line_number"),
                          read_rows(con, connections_table, booking, "ean"))


def render_package(booking: BookingId, lines: list[dict], connections: list[dict]) -> BookingPackage:
    negative = [line["line_number"] for line in lines if line["kwh"] < 0]
    if negative:
        raise ValueError(f"booking {booking}: line(s) {negative} have negative kWh; a change is an amendment to a "
                         "new total, never a negative delivery")
    rows = {"connections.xml": connections,
            "deliveries.xml": [line for line in lines if line["kind"] == "delivery"],
            "amendments.xml": [line for line in lines if line["kind"] == "amendment"]}
    files = {}
    for name in REGISTER_FILES:
        files[name] = rev_adapter.render(name, booking.label, rows[name])
        validate_register_file(name, files[name], f"{name} of {booking}")
    return BookingPackage(files=files, lines=lines, connections=connections)


def on_disk_matches(folder: Path, package: BookingPackage) -> bool:
    return all((folder / name).exists() and (folder / name).read_bytes() == package.files[name]
               for name in REGISTER_FILES)


def write_package(folder: Path, booking: BookingId, package: BookingPackage, status: dict) -> dict:
    """Write the register files and manifest.json into `folder` (exports/<booking>/rev/), only where their
    bytes changed. Returns the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "booking_id": booking.label,
        "booking_kind": booking.kind,
        "delivery_year": booking.delivery_year,
        "booking_quarter_start": booking.booking_quarter_start.isoformat(),
        **status,
        "ean_count": len({line["ean"] for line in package.lines}),
        "line_count": len(package.lines),
        "deliveries": package.count("delivery"),
        "amendments": package.count("amendment"),
        "connections": len(package.connections),
        "kwh_change": f"{package.kwh_change:.3f}",
        "ere_estimate": f"{package.ere_estimate:.12f}",
        "files": package.hashes,
        "schemas": {"files": rev_adapter.SCHEMA_FILES, "sha256": schemas_sha256()},
        "lines": [{field: _json(line[field]) for field in MANIFEST_LINE_FIELDS} for line in package.lines],
        "connections_sent": [{"ean": row["ean"], "partner_id": row["partner_id"], "customer_ref": row["customer_ref"]}
                             for row in package.connections],
    }
    for name in REGISTER_FILES:
        write_if_changed(folder / name, package.files[name])
    write_if_changed(folder / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())
    return manifest


def _json(value):
    if value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, Decimal):
        return f"{value:f}"
    return value.isoformat()

