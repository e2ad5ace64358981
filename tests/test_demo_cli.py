"""`joulo demo` itself, at a small scale in an empty data dir: what it prints, and that the booking, payouts
and reports it names are on disk and say the same. The ERE and euro amounts are recomputed here from the
files (kWh x the 2026 factor 0.332694, units x price rounded to cents), not read back from the warehouse."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from cli_tables import table

ERE_PER_KWH_2026 = Decimal("0.332694")  # 0.505 x 183 g/MJ x 3.6 MJ/kWh / 1000 (data/reference/ere_parameters.csv)
PARTNERS = {"voltnet": "VoltNet", "laadwerk": "Laadwerk", "groenstroom": "GroenStroom"}
REV = "{urn:joulo:rev:deliveries:1}"
SEPA = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def demo(joulo_demo):
    """`joulo demo --scale 0.06` run once in an empty data dir (tests/conftest.py, shared with the demo
    world): (data dir, exit code, what it printed)."""
    return joulo_demo.root, joulo_demo.code, joulo_demo.printed


def test_the_demo_succeeds_and_says_where_it_writes(demo):
    root, code, printed = demo
    assert code == 0
    assert printed.splitlines()[0] == (f"demo: writing partner file drops to {root / 'inbox'} "
                                       "(seed 2026, scale 0.06, as of 2027-01-15)")
    for quarter in ("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"):
        assert f"run {quarter}: succeeded" in printed
        assert f"outputs: {root / 'exports' / quarter}/ (" in printed
    named = dict(re.findall(r"^(warehouse|landing|quarantine|reports|dagster):\s+(\S+)", printed, re.MULTILINE))
    assert named == {"warehouse": str(root / "warehouse.duckdb"), "landing": str(root / "landing"),
                     "quarantine": str(root / "quarantine"), "reports": f"{root / 'exports'}/<YYYY>-Q<n>/reports/<partner>/",
                     "dagster": str(root / "dagster_home")}
    for name in ("warehouse", "landing", "quarantine", "dagster"):
        assert Path(named[name]).exists(), name


def test_the_demo_keeps_its_clock_in_the_data_dir_for_every_later_command(demo):
    root, _, _ = demo
    assert (root / "config" / "as_of").read_text() == "2027-01-15\n"


@pytest.mark.parametrize("quarter", ["2026-Q1", "2026-Q2", "2026-Q3"])
def test_each_submitted_booking_is_the_deliveries_it_prints_with_ere_at_the_2026_factor(demo, quarter):
    root, _, printed = demo
    assert re.search(rf"^rev submit {quarter}: prepared .* by demo-preparer at 2027-01-15 00:00 CET; upload the "
                     "files", printed, re.MULTILINE)
    said = re.search(rf"^rev approve {quarter}: submitted (\d+) delivery\(ies\), 0 amendment\(s\), (\d+) connection"
                     rf"\(s\), (\d+) EAN\(s\), ([\d.]+) kWh, ~([\d,.]+) ERE; prepared by demo-preparer, approved "
                     r"2027-01-15 00:00 CET by demo-approver; deliveries.xml sha256 ([0-9a-f]{12})\.\.\.$",
                     printed, re.MULTILINE)
    assert said, printed
    deliveries, connections, eans, kwh, ere, sha_prefix = said.groups()
    folder = root / "exports" / quarter / "rev"
    assert hashlib.sha256((folder / "deliveries.xml").read_bytes()).hexdigest().startswith(sha_prefix)
    booked = [(delivery.findtext(f"{REV}ean"), Decimal(delivery.findtext(f"{REV}kWh")))
              for delivery in ET.parse(folder / "deliveries.xml").getroot().iter(f"{REV}delivery")]
    assert len(booked) == int(deliveries) > 25 and len({ean for ean, _ in booked}) == int(eans)
    assert sum(k for _, k in booked) == Decimal(kwh)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["connections"] == int(connections) and manifest["status"] == "submitted"
    estimates = {line["ean"]: Decimal(line["ere_estimate"]) for line in manifest["lines"]}
    assert all(estimates[ean] == k * ERE_PER_KWH_2026 for ean, k in booked)
    assert sum(estimates.values()).quantize(CENT, ROUND_HALF_UP) == Decimal(ere.replace(",", ""))  # '1,234.56'


def test_the_late_q1_data_becomes_q4_amendments_and_q4_stays_a_draft(demo):
    _, _, printed = demo
    bookings = table(printed[printed.index("REV bookings of 2026"):], "booking", "status", "kind", "EANs", "kWh",
                     "ERE (estimate)")
    rows = {(row["booking"], row["status"], row["kind"]) for row in bookings}
    assert rows == {("2026-Q1", "submitted", "delivery"), ("2026-Q2", "submitted", "delivery"),
                    ("2026-Q3", "submitted", "delivery"), ("2026-Q4", "draft", "delivery"),
                    ("2026-Q4", "draft", "amendment")}
    assert "REV: late data for 2026-Q1 arrives (inbox/groenstroom/sessions_2026-Q1_late.csv)" in printed


@pytest.mark.parametrize("quarter", ["2026-Q1", "2026-Q2", "2026-Q3"])
def test_the_register_issues_each_submitted_booking_and_its_payouts_pay_those_units(demo, quarter):
    root, _, printed = demo
    assert re.search(rf"^rev import-result rev_result_{quarter}.csv: \d+ issued unit row\(s\) imported", printed,
                     re.MULTILINE), printed
    kwh: dict[str, Decimal] = {}
    for delivery in ET.parse(root / "exports" / quarter / "rev" / "deliveries.xml").getroot().iter(f"{REV}delivery"):
        ean = delivery.findtext(f"{REV}ean")
        kwh[ean] = kwh.get(ean, Decimal(0)) + Decimal(delivery.findtext(f"{REV}kWh"))
    with (root / "rev_results" / f"rev_result_{quarter}.csv").open(encoding="utf-8") as handle:
        issued = {row["ean"]: Decimal(row["units"]) for row in csv.DictReader(handle)}
    assert issued == {ean: (k * ERE_PER_KWH_2026).quantize(Decimal("0.001"), ROUND_HALF_UP) for ean, k in kwh.items()}
    paid_units = Decimal(0)
    for partner in PARTNERS:
        with (root / "exports" / quarter / "payouts" / partner / "statement.csv").open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert {row["units_source"] for row in rows if Decimal(row["units"])} == {"rev_issued"}
        paid_units += sum(Decimal(row["units"]) for row in rows)
    assert paid_units == sum(issued.values())


def test_the_draft_q4_is_not_paid(demo):
    root, _, printed = demo
    assert not re.search(r"^payouts 2026-Q4", printed, re.MULTILINE)
    assert not list((root / "exports" / "2026-Q4" / "payouts").rglob("statement.csv"))  # a proposal.csv at most


@pytest.mark.parametrize("quarter", ["2026-Q1", "2026-Q2", "2026-Q3"])
@pytest.mark.parametrize("partner", list(PARTNERS))
def test_each_approved_payout_is_the_statement_and_sepa_file_it_prints(demo, quarter, partner):
    root, _, printed = demo
    said = re.search(rf"^payouts {quarter} {partner}: approved (\d+) customer\(s\), gross €([\d,.]+), "
                     r"fee €([\d,.]+), partner share €([\d,.]+), paid €([\d,.]+) to (\d+) customer\(s\)",
                     printed, re.MULTILINE)
    assert said, printed
    customers, paid_lines = said.group(1), said.group(6)
    gross, fee, share, paid = (amount.replace(",", "") for amount in said.group(2, 3, 4, 5))  # '€1,234.56
    folder = root / "exports" / quarter / "payouts" / partner
    with (folder / "statement.csv").open(encoding="utf-8") as handle:
        statement = list(csv.DictReader(handle))
    assert len(statement) == int(customers) > 0
    for row in statement:
        units = Decimal(row["units"])  # what the register issued: test_the_register_issues_each_submitted_...
        price = Decimal(row["price_eur_per_ere"] or 0)  # none for a customer with nothing due
        assert Decimal(row["gross_eur"]) == (units * price).quantize(CENT, ROUND_HALF_UP), row["customer_ref"]
    assert sum(Decimal(r["gross_eur"]) for r in statement) == Decimal(gross)
    assert sum(Decimal(r["fee_eur"]) for r in statement) == Decimal(fee)
    assert sum(Decimal(r["partner_share_eur"]) for r in statement) == Decimal(share)
    assert sum(Decimal(r["paid_eur"]) for r in statement) == Decimal(paid)
    assert sum(1 for r in statement if Decimal(r["paid_eur"]) > 0) == int(paid_lines)

    sepa = ET.parse(folder / "sepa_credit_transfer.xml").getroot()
    amounts = [Decimal(e.text) for e in sepa.iterfind(".//p:InstdAmt", SEPA)]
    assert Decimal(sepa.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=SEPA)) == sum(amounts) == Decimal(paid)
    creditors = [e.text for e in sepa.iterfind(".//p:CdtrAcct/p:Id/p:IBAN", SEPA)]
    if partner == "laadwerk":  # pays one partner account, not its customers
        assert creditors == ["NL91ABNA0417164300"]
    else:
        assert len(creditors) == int(paid_lines)


@pytest.mark.parametrize("quarter", ["2026-Q1", "2026-Q3"])
@pytest.mark.parametrize("partner", list(PARTNERS))
def test_each_partners_report_shows_its_brand_and_the_approved_payout(demo, quarter, partner):
    root, _, printed = demo
    paid = re.search(rf"^payouts {quarter} {partner}: approved .* paid €([\d,.]+) to", printed,
                     re.MULTILINE).group(1).replace(",", "")
    folder = root / "exports" / quarter / "reports" / partner
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert PARTNERS[partner] in page
    dutch = f"{int(Decimal(paid)):,}".replace(",", ".") + "," + f"{Decimal(paid):.2f}"[-2:]
    assert dutch in page, f"the approved payout €{paid} ({dutch}) is not on the report"
    assert not (folder / "customers").exists(), "the quarter run writes no statements: the dashboard renders them"
