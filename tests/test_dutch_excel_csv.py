"""CSV files for people open in Dutch Excel: a UTF-8 byte order mark (or Excel garbles accented names), `;`
between cells and a decimal comma (or Excel reads text, or a date), and still no formula can hide in a cell."""

from __future__ import annotations

from decimal import Decimal

from joulo_pipelines.lib.payouts.amounts import PayoutLine
from joulo_pipelines.lib.payouts.exports import breakdown_csv
from joulo_pipelines.lib.people_csv import dutch_excel


def line(ref: str, paid_cents: int) -> PayoutLine:
    return PayoutLine(ref, Decimal("3298.344"), Decimal("13.19"), "estimate", "0.45", 0, 0, 0, 0, 0, 0, paid_cents,
                      0, "paid", "")


def test_the_payout_breakdown_for_a_partner_opens_in_dutch_excel():
    content = breakdown_csv([(line("VOL-C00001", 1_234_56), "Jan Ébène", "NL02 **** **** 6789", "E2E-1"),
                             (line("VOL-C00002", 5), "=HYPERLINK(\"x\")", None, "E2E-2")])
    assert content == ("\ufeffcustomer_ref;account_holder;iban_masked;amount_eur;end_to_end_id\n"
                       "VOL-C00001;Jan Ébène;NL02 **** **** 6789;1234,56;E2E-1\n"
                       "VOL-C00002;\"'=HYPERLINK(\"\"x\"\")\";;0,05;E2E-2\n").encode("utf-8")


def test_a_negative_amount_with_a_decimal_comma_stays_a_number_and_a_cell_with_a_semicolon_is_quoted():
    assert dutch_excel(["amount", "note"], [["-12,50", "a;b"], ["-1+1", "x"]]).decode("utf-8") == (
        "\ufeffamount;note\n-12,50;\"a;b\"\n'-1+1;x\n")
