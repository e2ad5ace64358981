"""SEPA credit transfers: valid against the official pain.001 XSD (.09 and .03), control sums that equal
the transactions, unique deterministic end-to-end ids, the partner as ultimate debtor, and no file at all
when the document would not validate."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from joulo_pipelines.lib.payouts.proposal import payment_date
from joulo_pipelines.lib.payouts.sepa import SepaValidationError, Transfer, credit_transfer, validate, xml_schema
from joulo_pipelines.lib.payouts.service import run_quarter
from joulo_pipelines.lib.payouts.settings import ClientFundsAccount, load_payment_settings
from joulo_pipelines.lib.quarters import Quarter
from payouts_world import booking, build_world, customer, prepare_and_approve

DEBTOR = ClientFundsAccount(name="Joulo Stichting Derdengelden", iban="NL20INGB0001234567")
IBANS = ["NL02ABNA0123456789", "NL91ABNA0417164300", "NL20INGB0001234567"]


def amounts(document: bytes, schema: str) -> dict:
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{schema}"}
    root = ET.fromstring(document)
    return {
        "group_sum": Decimal(root.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", ns).text),
        "group_count": int(root.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", ns).text),
        "payment_sum": Decimal(root.find(".//p:PmtInf/p:CtrlSum", ns).text),
        "transactions": [Decimal(e.text) for e in root.iterfind(".//p:CdtTrfTxInf/p:Amt/p:InstdAmt", ns)],
        "end_to_end_ids": [e.text for e in root.iterfind(".//p:EndToEndId", ns)],
        "ultimate_debtor": root.findtext(".//p:PmtInf/p:UltmtDbtr/p:Nm", namespaces=ns),
    }


@pytest.mark.parametrize("schema", ["pain.001.001.09", "pain.001.001.03"])
def test_a_credit_transfer_validates_against_the_xsd_and_its_control_sums_equal_its_transactions(schema):
    transfers = [Transfer(f"E2E-{i}", cents, f"Klant {i} & Zn", IBANS[i % 3], "ERE 2026-Q1 VoltNet")
                 for i, cents in enumerate([1, 99, 10_000, 123_456_78])]
    document = credit_transfer(schema, "MSG-1", datetime(2027, 1, 15, tzinfo=timezone.utc), DEBTOR, "VoltNet",
                               date(2027, 1, 15), transfers)
    assert xml_schema(schema).is_valid(document.decode())
    found = amounts(document, schema)
    assert found["transactions"] == [Decimal("0.01"), Decimal("0.99"), Decimal("100.00"), Decimal("123456.78")]
    assert found["group_sum"] == found["payment_sum"] == sum(found["transactions"]) == Decimal("123557.78")
    assert found["group_count"] == 4
    assert found["ultimate_debtor"] == "VoltNet"


def test_a_document_that_would_not_validate_raises_and_names_the_problem():
    with pytest.raises(SepaValidationError, match="IBAN"):
        credit_transfer("pain.001.001.09", "MSG-1", datetime(2027, 1, 15, tzinfo=timezone.utc), DEBTOR, None,
                        date(2027, 1, 15), [Transfer("E2E-1", 100, "Klant", "not an iban", "ERE")])
    with pytest.raises(SepaValidationError):
        validate(b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.001.001.09'/>", "pain.001.001.09")
    with pytest.raises(SepaValidationError, match="positive"):
        credit_transfer("pain.001.001.09", "MSG-1", datetime(2027, 1, 15, tzinfo=timezone.utc), DEBTOR, None,
                        date(2027, 1, 15), [Transfer("E2E-1", -100, "Klant", IBANS[0], "ERE")])


@pytest.mark.parametrize("schema", ["pain.001.001.09", "pain.001.001.03"])
def test_both_partner_models_get_a_valid_file_that_pays_exactly_the_statement(data_dir, schema):
    build_world(data_dir, [customer("alpha", f"A{i}", f"Klant {i}", IBANS[i % 2]) for i in range(5)]
                + [customer("beta", f"B{i}", f"Klant {i}", None) for i in range(3)],
                [booking("alpha", f"A{i}", "2026-01-01", f"{37 + i * 101}.123456789012") for i in range(5)]
                + [booking("beta", f"B{i}", "2026-01-01", f"{55 + i}.5") for i in range(3)],
                payments={"sepa_schema": schema})
    prepare_and_approve(data_dir, Quarter(2026, 1))
    for partner_id, transactions in (("alpha", 5), ("beta", 1)):
        folder = data_dir.exports / "2026-Q1" / "payouts" / partner_id
        document = (folder / "sepa_credit_transfer.xml").read_bytes()
        assert xml_schema(schema).is_valid(document.decode())
        found = amounts(document, schema)
        paid = sum(Decimal(row.split(",")[11]) for row in (folder / "statement.csv").read_text().splitlines()[1:])
        assert found["group_sum"] == sum(found["transactions"]) == paid
        assert len(found["transactions"]) == transactions
        assert len(set(found["end_to_end_ids"])) == transactions
    beta = (data_dir.exports / "2026-Q1" / "payouts" / "beta")
    assert "NL91ABNA0417164300" in (beta / "sepa_credit_transfer.xml").read_text()  # the partner's account
    assert len((beta / "payout_breakdown.csv").read_text().splitlines()) == 4


def test_rewriting_an_approved_batch_gives_byte_identical_files(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Klant", IBANS[0])], [booking("alpha", "A1", "2026-01-01", "100")])
    prepare_and_approve(data_dir, Quarter(2026, 1))
    folder = data_dir.exports / "2026-Q1" / "payouts" / "alpha"
    before = {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    run_quarter(data_dir, Quarter(2026, 1))
    assert {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_a_payment_date_on_a_target2_closing_day_moves_to_the_next_bank_day(data_dir, monkeypatch):
    # 2026-Q4 is paid 25 days after its end (Tuesday 26 January 2027) but never before its approval: approved
    # on Easter Monday 29 March 2027, when TARGET2 is closed, it is paid on Tuesday 30 March, the next bank day.
    build_world(data_dir, [customer("alpha", "A1", "Klant", IBANS[0])],
                [booking("alpha", "A1", "2026-10-01", "100", )])
    monkeypatch.setenv("JOULO_AS_OF", "2027-03-29")
    prepare_and_approve(data_dir, Quarter(2026, 4), "alpha")
    document = (data_dir.exports / "2026-Q4" / "payouts" / "alpha" / "sepa_credit_transfer.xml").read_bytes()
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
    assert "".join(ET.fromstring(document).find(".//p:PmtInf/p:ReqdExctnDt", ns).itertext()).strip() == "2027-03-30"
    settings = load_payment_settings(data_dir.config / "payments.yaml")
    # Good Friday 26 March 2027, then the weekend and Easter Monday: the next bank day is again Tuesday.
    assert payment_date(Quarter(2026, 4), settings, date(2027, 3, 26)) == date(2027, 3, 30)
    assert payment_date(Quarter(2026, 4), settings, date(2027, 1, 20)) == date(2027, 1, 26)
