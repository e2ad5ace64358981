"""Payouts on the demo world, through the CLI: for the direct partner and the partner_account partner the
SEPA files validate, statements, SEPA files and emails agree to the cent with the bookings and the price,
and approving a quarter twice changes nothing."""

from __future__ import annotations

import email
import email.policy
import re
import xml.etree.ElementTree as ET
from decimal import ROUND_HALF_UP, Decimal

import duckdb

from joulo_pipelines import cli
from joulo_pipelines.lib.payouts.sepa import xml_schema
from payouts_world import issue

PRICE = Decimal("0.41")  # the demo's first ERE sale of 2026 (400,000 ERE), first in, first out: more than this world's
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}


def files_of(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_demo_payouts_validate_agree_to_the_cent_and_approving_twice_changes_nothing(demo_world_copy, capsys):
    data_dir = demo_world_copy
    issue(data_dir, "2026-Q1", "2026-Q2")
    for quarter in ("2026-Q1", "2026-Q2"):
        for partner_id in ("voltnet", "laadwerk"):
            for step, by in (("prepare", "preparer"), ("approve", "approver")):
                assert cli.main(["payouts", step, quarter, "--partner", partner_id, "--by", by]) == 0, \
                    capsys.readouterr().out
    before = files_of(data_dir.exports / "2026-Q1" / "payouts")
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        ledger_before = con.execute("select * from ledger.payout_lines order by all").fetchall()
    assert cli.main(["payouts", "approve", "2026-Q1", "--partner", "voltnet", "--by", "approver"]) == 0
    assert "already approved, nothing changed" in capsys.readouterr().out
    assert files_of(data_dir.exports / "2026-Q1" / "payouts") == before
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        assert con.execute("select * from ledger.payout_lines order by all").fetchall() == ledger_before
        # Q1 only: later quarters add adjustments, so Q1's gross per customer is its own bookings x price.
        expected = dict(con.execute("""
            select partner_id, sum(round(units * ?, 2))
            from (select partner_id, customer_ref, sum(units) as units from ledger.booked_units
                  where booking_quarter_start = date '2026-01-01' and units_source = 'rev_issued' group by all)
            group by partner_id
        """, [PRICE]).fetchall())

    for partner_id, transactions in (("voltnet", None), ("laadwerk", 1)):
        folder = data_dir.exports / "2026-Q1" / "payouts" / partner_id
        rows = [line.split(",") for line in (folder / "statement.csv").read_text().splitlines()[1:]]
        assert rows, f"no payout lines for {partner_id}"
        gross = sum(Decimal(r[5]) for r in rows)
        assert gross == Decimal(expected[partner_id]).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert all(Decimal(r[5]) == Decimal(r[6]) + Decimal(r[7]) + Decimal(r[8]) for r in rows)
        paid = sum(Decimal(r[11]) for r in rows)

        document = (folder / "sepa_credit_transfer.xml").read_text()
        assert xml_schema("pain.001.001.09").is_valid(document)
        root = ET.fromstring(document)
        amounts = [Decimal(e.text) for e in root.iterfind(".//p:InstdAmt", NS)]
        assert Decimal(root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS)) == sum(amounts) == paid
        assert len(amounts) == (transactions or sum(1 for r in rows if Decimal(r[11]) > 0))

        emailed = Decimal(0)
        for eml in (folder / "emails").glob("*.eml"):
            text = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default).get_body(("plain",))
            # nl '€ -1.234,56', en '-€1,234.56' (lib/formatting.py)
            label, sign, value = re.search(r"^(Uitbetaald|Paid out)\s+(-?)€\xa0?(-?[\d.,]+)", text.get_content(),
                                           re.MULTILINE).groups()
            digits = value.replace(".", "").replace(",", ".") if label == "Uitbetaald" else value.replace(",", "")
            emailed += Decimal(sign + digits)
        assert emailed == paid
