"""XML 1.0 cannot hold most control characters, not even escaped. A customer name with \\x0b that reaches a
writer (past the intake, which refuses it on its own) is refused with a message naming the partner and the
customer_ref, never the name; in a quarter run such a customer is not eligible (customer_text_not_writable),
so the booking of every other customer and partner is written as usual."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, timezone
from decimal import Decimal

import duckdb
import pytest

from conftest import drop
from signing_records import signed
from joulo_pipelines import cli
from joulo_pipelines.lib.payouts.sepa import SepaValidationError, Transfer, credit_transfer, xml_schema
from joulo_pipelines.lib.payouts.settings import ClientFundsAccount
from joulo_pipelines.lib.registration.booking_ids import BookingId
from joulo_pipelines.lib.registration.export import render_package, validate_register_file
from joulo_pipelines.lib.xml_text import NotXmlText, check_xml_text, is_xml_text

EAN_A, EAN_B = "871685900000000011", "871685900000000035"


def booking_line(**changes) -> dict:
    line = {"line_number": 1, "kind": "delivery", "partner_id": "alpha", "customer_ref": "C1", "ean": EAN_A,
            "delivery_quarter_start": date(2026, 1, 1), "delivery_period_start": date(2026, 1, 1),
            "delivery_period_end": date(2026, 3, 31), "kwh": Decimal("12.500"), "previous_kwh": Decimal("0.000"),
            "amends_booking_id": None, "register_delivery_id": None, "ere_per_kwh": Decimal("0.1"),
            "ere_estimate": Decimal("1.250000000000"), "reason": None}
    return {**line, **changes}


def connection(**changes) -> dict:
    row = {"booking_id": "2026-Q1", "partner_id": "alpha", "customer_ref": "C1", "ean": EAN_A,
           "register_connection_id": None, "holder_name": "An Jansen", "street": "Kerkstraat", "house_number": "1",
           "postal_code": "1011AB", "city": "Amsterdam", "grid_operator": None, "mandate_issued_on": date(2025, 12, 1),
           "mandate_valid_from": date(2026, 1, 1), "mandate_valid_until": date(2026, 12, 31), "company_name": None,
           "kvk_number": None, "signatory_name": None}
    return {**row, **changes}


def test_xml_text_is_the_char_production_of_xml_1_0():
    assert all(is_xml_text(text) for text in ["An Jansen", "tab\tand\nline\rbreaks", "Ané Ölçü 😀", "", None])
    assert not any(is_xml_text(text) for text in ["An\x0bJansen", "nul\x00", "esc\x1b", "\ufffe", "lone\ud800"])
    with pytest.raises(NotXmlText, match=r"^partner alpha, name: character U\+000B at position 3 "):
        check_xml_text("An\x0bJansen", "partner alpha, name")


def test_the_rev_connections_xml_refuses_a_control_character_naming_partner_and_customer_ref_not_the_name():
    booking = BookingId.parse("2026-Q1")
    assert len(render_package(booking, [booking_line()], [connection()]).lines) == 1
    with pytest.raises(NotXmlText) as refused:
        render_package(booking, [booking_line()], [connection(holder_name="An\x0bJansen")])
    message = str(refused.value)
    assert f"connections.xml of 2026-Q1, EAN {EAN_A} (partner 'alpha', customer_ref 'C1'), holder_name" in message
    assert "U+000B" in message and "Jansen" not in message


def test_the_sepa_file_cleans_a_control_character_in_a_name_and_refuses_one_in_an_identifier():
    debtor = ClientFundsAccount(name="Joulo Derdengelden B.V.", iban="NL20INGB0001234567")
    at, on = datetime(2027, 1, 15, tzinfo=timezone.utc), date(2027, 1, 20)
    content = credit_transfer("pain.001.001.09", "MSG-1", at, debtor, None, on,
                              [Transfer("E2E-1", 1250, "An\x0bJansen", "NL91ABNA0417164300", "ERE 2026-Q1")])
    assert xml_schema("pain.001.001.09").is_valid(content.decode())
    assert b"\x0b" not in content
    with pytest.raises(SepaValidationError) as refused:
        credit_transfer("pain.001.001.09", "MSG-1", at, debtor, None, on,
                        [Transfer("E2E\x0b1", 1250, "An Jansen", "NL91ABNA0417164300", "ERE 2026-Q1",
                                  payee="partner alpha, customer_ref 'C1'")])
    assert str(refused.value).startswith("partner alpha, customer_ref 'C1': sepa_credit_transfer.xml, element "
                                         "EndToEndId: character U+000B")


CUSTOMERS_HEADER = ("customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,"
                    "mandate_valid_from,mandate_valid_until\n")
CHARGE_POINTS = ("charge_point_ref,customer_ref,brand,model,serial_number,meter_serial,installed_at\n"
                 "{cp},{customer},Tesla,Wall Connector Gen 3 MID,SN1,M1,2025-01-01\n")
SESSIONS = ("session_ref,charge_point_ref,started_at,ended_at,meter_start_wh,meter_stop_wh\n"
            "S1,{cp},2026-02-10T18:00:00Z,2026-02-10T20:00:00Z,1000,11000\n")


@pytest.fixture(scope="module")
def quarter_with_a_control_character(module_data_dir):
    """alpha's customer name gets a \\x0b in the landed rows (as if the intake had let it through)."""
    data_dir = module_data_dir
    for partner, customer, cp, ean in (("alpha", "CA1", "CPA1", EAN_A), ("beta", "CB1", "CPB1", EAN_B)):
        drop(data_dir, partner, "customers.csv", signed(data_dir, CUSTOMERS_HEADER + f"{customer},Name {customer},"
             f"{customer}@mail.example,NL91ABNA0417164300,Kerkstraat,1,1011 AB,Amsterdam,{ean},2025-12-01T10:00:00Z,"
             "2026-01-01,2026-12-31\n"), mtime="2026-01-02T06:00:00+00:00")
        drop(data_dir, partner, "charge_points.csv", CHARGE_POINTS.format(cp=cp, customer=customer),
             mtime="2026-01-02T06:00:00+00:00")
        drop(data_dir, partner, "sessions.csv", SESSIONS.format(cp=cp), mtime="2026-03-02T06:00:00+00:00")
    assert cli.main(["ingest"]) == 0
    [landed] = (data_dir.landing / "alpha" / "customers").glob("*.parquet")
    with duckdb.connect() as con:
        con.execute(f"copy (select * replace (replace(name, ' ', chr(11)) as name) from read_parquet('{landed}')) "
                    f"to '{landed}.new' (format parquet)")
    landed.with_name(landed.name + ".new").replace(landed)
    assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
    return data_dir


def test_a_customer_whose_name_xml_cannot_hold_is_not_eligible_and_the_others_are_booked(
        quarter_with_a_control_character):
    data_dir = quarter_with_a_control_character
    for name in ("deliveries.xml", "connections.xml"):
        xml = (data_dir.exports / "2026-Q1" / "rev" / name).read_bytes()
        validate_register_file(name, xml)
        assert [e.text for e in ET.fromstring(xml).iter() if e.tag.endswith("}ean")] == [EAN_B]
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        rows = con.execute("select partner_id, is_eligible, reasons from marts.fct_charge_point_eligibility "
                           "where quarter_start = '2026-01-01' order by partner_id").fetchall()
    assert rows == [("alpha", False, "customer_text_not_writable"), ("beta", True, None)]
