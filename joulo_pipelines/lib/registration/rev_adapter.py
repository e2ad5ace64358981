"""The one mapping from our ledger rows to the register's upload files.

The REV keeps connections (aansluitingen) and deliveries (leveringen) as separate objects and takes either
as an XML upload; its schema is handed out on request, not published. Our files follow that object model in
schemas of our own (`schemas/rev_*.v1.xsd`). When the NEa's official form arrives it is a new mapping here
(and a new schema version), not a rewrite of the booking: nothing else knows element names or namespaces.

Only register data is mapped: never partner, customer reference, our ERE estimate or totals (those go to
manifest.json). A value XML 1.0 cannot hold is refused, naming the booking, line or EAN, partner and
customer reference, and the field, never the value.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

from joulo_pipelines.lib.xml_text import check_xml_text

SCHEMA_DIR = Path(__file__).with_name("schemas")
ENERGY_TYPE = "electricity for road transport"

# file name -> (schema file, namespace, root element)
FILES = {
    "connections.xml": ("rev_connections.v1.xsd", "urn:joulo:rev:connections:1", "connections"),
    "deliveries.xml": ("rev_deliveries.v1.xsd", "urn:joulo:rev:deliveries:1", "deliveries"),
    "amendments.xml": ("rev_amendments.v1.xsd", "urn:joulo:rev:amendments:1", "amendments"),
}
# Schemas the three files rest on (their hashes are recorded with a submission).
SCHEMA_FILES = ["rev_types.v1.xsd"] + [schema for schema, _, _ in FILES.values()]


def render(name: str, booking: str, rows: list[dict]) -> bytes:
    """The register file `name` of booking `booking`: connection rows for connections.xml, booking lines
    for the other two (each takes the lines of its kind)."""
    _, namespace, root_name = FILES[name]
    ET.register_namespace("", namespace)
    root = ET.Element(f"{{{namespace}}}{root_name}", {"schemaVersion": "1"})
    writer = {"connections.xml": _connection, "deliveries.xml": _delivery, "amendments.xml": _amendment}[name]
    for row in rows:
        _check_xml_text(name, booking, row)
        writer(_Builder(namespace), root, row)
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


class _Builder:
    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def __call__(self, parent: ET.Element, name: str, text=None, **attributes) -> ET.Element:
        element = ET.SubElement(parent, f"{{{self.namespace}}}{name}",
                                {key: _text(value) for key, value in attributes.items()})
        if text is not None:
            element.text = _text(text)
        return element


def _connection(child: _Builder, root: ET.Element, row: dict) -> None:
    connection = child(root, "connection")
    child(connection, "ean", row["ean"])
    if row["register_connection_id"]:
        child(connection, "registerConnectionId", row["register_connection_id"])
    child(connection, "holderName", row["holder_name"])
    address = child(connection, "address")
    for field, element in (("street", "street"), ("house_number", "houseNumber"), ("postal_code", "postalCode"),
                           ("city", "city")):
        child(address, element, row[field])
    if row["grid_operator"]:
        child(connection, "gridOperator", row["grid_operator"])
    child(connection, "mandate", issuedOn=row["mandate_issued_on"], validFrom=row["mandate_valid_from"],
          validUntil=row["mandate_valid_until"])
    if row["kvk_number"]:
        business = child(connection, "business")
        if row["company_name"]:
            child(business, "companyName", row["company_name"])
        child(business, "kvkNumber", row["kvk_number"])
        if row["signatory_name"]:
            child(business, "signatory", row["signatory_name"])


def _delivery(child: _Builder, root: ET.Element, line: dict) -> None:
    delivery = child(root, "delivery")
    child(delivery, "ean", line["ean"])
    child(delivery, "period", begin=line["delivery_period_start"], end=line["delivery_period_end"])
    child(delivery, "energyType", ENERGY_TYPE)
    child(delivery, "kWh", line["kwh"])
    if line["reason"]:
        child(delivery, "remark", line["reason"])


def _amendment(child: _Builder, root: ET.Element, line: dict) -> None:
    amendment = child(root, "amendment")
    child(amendment, "ean", line["ean"])
    child(amendment, "period", begin=line["delivery_period_start"], end=line["delivery_period_end"])
    if line["register_delivery_id"]:
        child(amendment, "registerDeliveryId", line["register_delivery_id"])
    child(amendment, "kWh", line["kwh"])
    child(amendment, "reason", line["reason"])


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def _check_xml_text(name: str, booking: str, row: dict) -> None:
    """NotXmlText naming the file, booking, line (or EAN), partner, customer_ref and field when a value
    cannot be written in XML 1.0 (eligibility keeps such customers out; this is the writer's own guard)."""
    where = f"line {row['line_number']}" if "line_number" in row else f"EAN {row['ean']}"
    for field, value in row.items():
        if isinstance(value, str):
            check_xml_text(value, f"{name} of {booking}, {where} (partner {row['partner_id']!a}, customer_ref "
                                  f"{row['customer_ref']!a}), {field}")
