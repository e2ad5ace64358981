"""Contracts with dates: each quarter is paid by the partner's contract in force in it (fee, share, payout
model, partner IBAN), an approval records the contracts it used, and a registry changed afterwards changes
neither the approved payout nor its files and emails, only the quarters still to come."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from email import message_from_bytes, policy

import duckdb
import yaml

from joulo_pipelines.lib.payouts.service import run_quarter
from joulo_pipelines.lib.quarters import Quarter
from payouts_world import PARTNERS, booking, build_world, customer, prepare_and_approve

Q1, Q2, Q3 = Quarter(2026, 1), Quarter(2026, 2), Quarter(2026, 3)
GOOD_IBAN = "NL02ABNA0123456789"
ALPHA_ACCOUNT, ALPHA_NEW_ACCOUNT = "NL91ABNA0417164300", "DE89370400440532013000"
# direct at 15 % fee and 5 % share; from Q2 alpha's own account at 10 % and no share; from Q3 direct again at
# 12 % and 3 %.
CONTRACTS = [
    {"valid_from": "2026-01-01", "payout_model": "direct", "service_fee_pct": "15", "partner_share_pct": "5"},
    {"valid_from": "2026-04-01", "payout_model": "partner_account", "partner_iban": ALPHA_ACCOUNT,
     "service_fee_pct": "10", "partner_share_pct": "0"},
    {"valid_from": "2026-07-01", "payout_model": "direct", "service_fee_pct": "12", "partner_share_pct": "3"},
]


def write_alpha_contracts(data_dir, contracts: list[dict]) -> None:
    alpha = {k: v for k, v in PARTNERS[0].items()
             if k not in ("payout_model", "service_fee_pct", "partner_share_pct")} | {"contracts": contracts}
    data_dir.partners_file.write_text(yaml.safe_dump({"partners": [alpha, PARTNERS[1]]}, sort_keys=False))


def alpha_lines(data_dir, quarter: Quarter) -> dict[str, tuple]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        rows = con.execute("select customer_ref, gross_cents, fee_cents, partner_share_cents, net_cents, "
                           "adjustment_cents, carried_in_cents, paid_cents, carried_out_cents, status "
                           "from ledger.payout_lines where partner_id = 'alpha' and quarter_start = ? "
                           "order by customer_ref", [quarter.start]).fetchall()
    return {row[0]: row[1:] for row in rows}


def folder(data_dir, quarter: Quarter):
    return data_dir.exports / quarter.label / "payouts" / "alpha"


def transfers(data_dir, quarter: Quarter) -> list[tuple[str, Decimal]]:
    """(creditor IBAN, amount) of each transfer in the quarter's SEPA file."""
    xml = (folder(data_dir, quarter) / "sepa_credit_transfer.xml").read_text()
    return [(iban, Decimal(amount)) for amount, iban in re.findall(
        r'<InstdAmt Ccy="EUR">([\d.]+)</InstdAmt>.*?<CdtrAcct>\s*<Id>\s*<IBAN>(\w+)</IBAN>', xml, re.S)]


def email_text(data_dir, quarter: Quarter, ref: str) -> str:
    message = message_from_bytes((folder(data_dir, quarter) / "emails" / f"{ref}.eml").read_bytes(),
                                 policy=policy.default)
    return message.get_body(("plain",)).get_content()


def files(data_dir, quarter: Quarter) -> dict[str, bytes]:
    return {str(p.relative_to(folder(data_dir, quarter))): p.read_bytes()
            for p in sorted(folder(data_dir, quarter).rglob("*")) if p.is_file()}


def test_a_fee_and_payout_model_change_mid_year_pay_each_quarter_by_its_contract_and_never_repay_an_approved_one(
        data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN),
                           customer("alpha", "A2", "Els Bos", None)],  # no IBAN: paid only through alpha
                [booking("alpha", "A1", "2026-01-01", "100"), booking("alpha", "A2", "2026-01-01", "25"),
                 booking("alpha", "A1", "2026-04-01", "200"), booking("alpha", "A2", "2026-04-01", "50"),
                 booking("alpha", "A1", "2026-07-01", "100"), booking("alpha", "A2", "2026-07-01", "25")])
    write_alpha_contracts(data_dir, CONTRACTS)

    prepare_and_approve(data_dir, Q1, "alpha")
    prepare_and_approve(data_dir, Q2, "alpha")
    # Q1, direct at 15 % + 5 %: A1 100 x 0.44 = 44.00 gross, 6.60 fee, 2.20 share, 35.20 net, paid to A1's
    # IBAN; A2 25 x 0.44 = 11.00 gross, 1.65 fee, 0.55 share, 8.80 net, held (no IBAN) and carried over.
    assert alpha_lines(data_dir, Q1) == {"A1": (4400, 660, 220, 3520, 0, 0, 3520, 0, "paid"),
                                         "A2": (1100, 165, 55, 880, 0, 0, 0, 880, "held")}
    assert transfers(data_dir, Q1) == [(GOOD_IBAN, Decimal("35.20"))]
    assert "Wij maken" in email_text(data_dir, Q1, "A1")
    # Q2, alpha's account at 10 %: A1 200 x 0.44 = 88.00 gross, 8.80 fee, 79.20 net; A2 50 x 0.44 = 22.00
    # gross, 2.20 fee, 19.80 net plus Q1's 8.80 = 28.60, paid although A2 has no IBAN. One transfer to alpha.
    assert alpha_lines(data_dir, Q2) == {"A1": (8800, 880, 0, 7920, 0, 0, 7920, 0, "paid"),
                                         "A2": (2200, 220, 0, 1980, 0, 880, 2860, 0, "paid")}
    assert transfers(data_dir, Q2) == [(ALPHA_ACCOUNT, Decimal("107.80"))]
    breakdown = (folder(data_dir, Q2) / "payout_breakdown.csv").read_text()
    assert ";79,20;" in breakdown and ";28,60;" in breakdown  # for Dutch Excel
    assert "AlphaCharge betaalt u" in email_text(data_dir, Q2, "A2")
    approved = {quarter: files(data_dir, quarter) for quarter in (Q1, Q2)}

    # The registry is changed afterwards, Q1's and Q2's terms too: what was approved stays as it was.
    changed = [CONTRACTS[0] | {"service_fee_pct": "20", "payout_model": "partner_account",
                               "partner_iban": ALPHA_NEW_ACCOUNT},
               CONTRACTS[1] | {"partner_iban": ALPHA_NEW_ACCOUNT, "service_fee_pct": "30"}, CONTRACTS[2]]
    write_alpha_contracts(data_dir, changed)
    for quarter in (Q1, Q2):
        assert run_quarter(data_dir, quarter, "alpha")[0].state == "approved_before"
        assert files(data_dir, quarter) == approved[quarter]

    prepare_and_approve(data_dir, Q3, "alpha")
    # Q3, direct again at 12 % + 3 %: A1 44.00 gross, 5.28 fee, 1.32 share, 37.40 net, with no adjustment
    # (Q1 and Q2 keep the terms they were approved with); A2 11.00 gross, 1.32 fee, 0.33 share, 9.35 held.
    assert alpha_lines(data_dir, Q3) == {"A1": (4400, 528, 132, 3740, 0, 0, 3740, 0, "paid"),
                                         "A2": (1100, 132, 33, 935, 0, 0, 0, 935, "held")}
    assert transfers(data_dir, Q3) == [(GOOD_IBAN, Decimal("37.40"))]
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        recorded = con.execute("select quarter_start, valid_from, payout_model, partner_iban, service_fee_pct, "
                               "partner_share_pct from ledger.payout_contracts where partner_id = 'alpha' "
                               "order by quarter_start").fetchall()
    assert recorded == [(Q1.start, Q1.start, "direct", None, 15, 5),
                        (Q2.start, Q2.start, "partner_account", ALPHA_ACCOUNT, 10, 0),
                        (Q3.start, Q3.start, "direct", None, 12, 3)]


def test_a_revoked_mandates_last_payout_is_paid_below_the_minimum_through_the_contract_in_force(data_dir):
    revoked = customer("alpha", "R1", "Piet Smit", GOOD_IBAN) | {
        "revoked_at": datetime(2026, 5, 15, 10, 0, tzinfo=timezone.utc)}
    build_world(data_dir, [revoked], [booking("alpha", "R1", "2026-01-01", "10"),
                                      booking("alpha", "R1", "2026-04-01", "2.5")])
    write_alpha_contracts(data_dir, CONTRACTS)
    prepare_and_approve(data_dir, Q1, "alpha")
    prepare_and_approve(data_dir, Q2, "alpha")
    # Q1, direct: 10 x 0.44 = 4.40 gross, 0.66 fee, 0.22 share, 3.52 net: below the 5.00 minimum, carried.
    assert alpha_lines(data_dir, Q1) == {"R1": (440, 66, 22, 352, 0, 0, 0, 352, "carried_over")}
    # Q2, alpha's account at 10 %: 2.5 x 0.44 = 1.10 gross, 0.11 fee, 0.99 net; with 3.52 carried in 4.51,
    # below the minimum but the mandate ended in the quarter: the last payout, through alpha.
    assert alpha_lines(data_dir, Q2) == {"R1": (110, 11, 0, 99, 0, 352, 451, 0, "paid")}
    assert transfers(data_dir, Q2) == [(ALPHA_ACCOUNT, Decimal("4.51"))]
    assert "mandate ended: final payout" in (folder(data_dir, Q2) / "statement.csv").read_text()
