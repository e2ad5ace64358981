"""Files for the register, the bank and partners' systems keep their schema byte for byte whatever people's
figures look like (lib/formatting.py is for people): the REV upload files, the SEPA credit transfer, and the
payout batch's statement.csv and account_entries.csv (comma-separated, amounts with a decimal point, full
precision, read by partners' systems). Rendered from fixed inputs; the hashes are those the writers gave before
figures for people were made per language."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone
from decimal import Decimal

from joulo_pipelines.lib.payouts import exports
from joulo_pipelines.lib.payouts.amounts import Entry, PayoutLine
from joulo_pipelines.lib.payouts.sepa import Transfer, credit_transfer
from joulo_pipelines.lib.payouts.settings import ClientFundsAccount
from joulo_pipelines.lib.registration import rev_adapter

LINES = [PayoutLine("VOL-C00001", Decimal("3298.344"), Decimal("13.193376123456"), "estimate", "0.452345", 597_79,
                    89_67, 29_89, 478_23, -551_17, 0, 0, -72_94, "carried_over", ""),
         PayoutLine("VOL-C00002", Decimal("1234.5"), Decimal("4.9"), "issued", "2025:0.41;2026:0.4315", 201_00,
                    30_15, 10_05, 160_80, 0, 12_34, 173_14, 0, "paid", "")]
ENTRIES = [Entry("VOL-C00001", "settlement", date(2026, 1, 1), 2026, "delivery", 478_23),
           Entry("VOL-C00001", "advance_settled", date(2025, 10, 1), 2025, "", -1029_40)]
DELIVERY = {"line_number": 1, "partner_id": "voltnet", "customer_ref": "VOL-C00001", "ean": "871685900000000011",
            "delivery_period_start": date(2026, 1, 1), "delivery_period_end": date(2026, 3, 31),
            "kwh": Decimal("3298.344"), "reason": "", "kind": "delivery", "register_delivery_id": None}


def machine_files() -> dict[str, bytes]:
    return {
        "statement.csv": exports.statement_csv(LINES, ENTRIES),
        "account_entries.csv": exports.entries_csv(ENTRIES),
        "deliveries.xml": rev_adapter.render("deliveries.xml", "2026-Q1", [DELIVERY]),
        "amendments.xml": rev_adapter.render("amendments.xml", "2026-Q1", [
            {**DELIVERY, "kind": "amendment", "kwh": Decimal("3100.125"), "register_delivery_id": "REV-1",
             "reason": "meter reading corrected"}]),
        "sepa_credit_transfer.xml": credit_transfer(
            "pain.001.001.09", "ERE-2026-Q1-voltnet", datetime(2026, 4, 20, 9, 30, tzinfo=timezone.utc),
            ClientFundsAccount(name="Joulo Stichting Derdengelden", iban="NL91ABNA0417164300"), "Voltnet",
            date(2026, 4, 30), [Transfer("E2E-1", 173_14, "Jan de Vries", "NL02ABNA0123456789",
                                         "ERE 2026-Q1 Voltnet VOL-C00002")]),
    }


EXPECTED_SHA256 = {
    "statement.csv": "ccbde02beae0390dd3bfbc5fbecae0e467165b16ba99ccb56e71bd9786cbe75d",
    "account_entries.csv": "67279e045f21553c59f6709f26e8756e5a9e08a1294c33cac637b74e343458e8",
    "deliveries.xml": "5ad4fab87623ccd3dcaedcfca9c3b603fdf38587035b78b2d7f9f5b228b9b49b",
    "amendments.xml": "0742cf755deb6280ac3a9bc363f83377fd8b89aca9e10166da98e4039155f15e",
    "sepa_credit_transfer.xml": "22e396e0ed41a2aa86b0aa025d5b63a0d92f6e2b6968d5df9113bf675d3665b0",
}


def test_files_for_the_register_the_bank_and_partners_systems_keep_their_bytes():
    assert {name: hashlib.sha256(content).hexdigest() for name, content in machine_files().items()} == \
        EXPECTED_SHA256
