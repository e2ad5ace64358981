"""A customer's account within a partner: an advance on a submitted booking settled when the register issues
its units, a holdback released by the year's verifier statement, and a clawback by netting when a paid EAN
turns out ineligible; a negative balance is carried, never collected and never in a SEPA file.

The small payout world of payouts_world.py (no quarter build): the register's issue is a row of
`ledger.booked_units` turning `rev_issued`. One sale at 0.44, so every amount is units x 0.44, and alpha's
customers keep 80 % of the gross (15 % fee, 5 % partner share), beta's 80 % (20 % fee)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from email import message_from_bytes, policy

import duckdb
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from joulo_pipelines.lib.partners import Partner, load_registry
from joulo_pipelines.lib.payouts.amounts import Booking, ContractBook, Customer, History, PriceBook, Terms, \
    customer_accounts, quarter_value
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.reports import queries
from joulo_pipelines.lib.reports.statements import StatementBatch, write_batch
from joulo_pipelines.lib.verification.statement import record_statement
from joulo_pipelines.lib.verification.store import ensure_verification, record_event
from payouts_world import PARTNERS, add_bookings, booking, build_world, customer, prepare_and_approve

Q1, Q2, Q3 = Quarter(2026, 1), Quarter(2026, 2), Quarter(2026, 3)
GOOD_IBAN = "NL02ABNA0123456789"
units = st.decimals(min_value=0, max_value=5000, places=3)


def with_payouts(data_dir, partner_id: str, payouts: dict) -> None:
    partners = [{**p, "payouts": payouts} if p["id"] == partner_id else p for p in PARTNERS]
    data_dir.partners_file.write_text(yaml.safe_dump({"partners": partners}, sort_keys=False))


ALPHA_ACCOUNT = "NL91ABNA0417164300"


def with_alpha_account_from_q2(data_dir, payouts: dict | None = None) -> None:
    """Alpha's contract from Q2: paid through its own account at 10 % fee and no share (90 % net), after Q1's
    direct payment at 15 % + 5 % (80 % net)."""
    alpha = {k: v for k, v in PARTNERS[0].items() if k not in ("payout_model", "service_fee_pct", "partner_share_pct")}
    alpha["contracts"] = [
        {"valid_from": "2026-01-01", "payout_model": "direct", "service_fee_pct": "15", "partner_share_pct": "5"},
        {"valid_from": "2026-04-01", "payout_model": "partner_account", "partner_iban": ALPHA_ACCOUNT,
         "service_fee_pct": "10", "partner_share_pct": "0"}]
    alpha |= {"payouts": payouts} if payouts else {}
    data_dir.partners_file.write_text(yaml.safe_dump({"partners": [alpha, PARTNERS[1]]}, sort_keys=False))


def contracts_recorded(data_dir) -> list[tuple]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute("select quarter_start, payout_model, service_fee_pct from ledger.payout_contracts "
                           "where partner_id = 'alpha' order by quarter_start").fetchall()


def line(data_dir, quarter: Quarter, ref: str, partner_id: str = "alpha") -> tuple:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute("select net_cents, adjustment_cents, carried_in_cents, paid_cents, carried_out_cents, "
                           "status from ledger.payout_lines where partner_id = ? and quarter_start = ? and "
                           "customer_ref = ?", [partner_id, quarter.start, ref]).fetchone()


def entries(data_dir, quarter: Quarter, partner_id: str = "alpha") -> list[tuple]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute("select customer_ref, entry_kind, for_quarter_start, amount_cents from "
                           "ledger.payout_entries where partner_id = ? and quarter_start = ? order by all",
                           [partner_id, quarter.start]).fetchall()


def statement(data_dir, quarter: Quarter, partner_id: str = "alpha") -> dict[str, dict]:
    path = data_dir.exports / quarter.label / "payouts" / partner_id / "statement.csv"
    return {row["customer_ref"]: row for row in csv.DictReader(io.StringIO(path.read_text()))}


def email_text(data_dir, quarter: Quarter, ref: str, partner_id: str = "alpha") -> str:
    path = data_dir.exports / quarter.label / "payouts" / partner_id / "emails" / f"{ref}.eml"
    return message_from_bytes(path.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()


def customer_statement(data_dir, quarter: Quarter, ref: str, partner_id: str = "alpha") -> str:
    """The customer's quarterly statement page as the partner report writes it, from the approved batch."""
    partner = load_registry(data_dir.partners_file).get(partner_id)
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        payouts = queries.payouts(con, data_dir, partner_id, quarter, partner.contract_in_force(quarter).payout_model)
    zero = Decimal(0)
    row = {"customer_ref": ref, "customer_name": "Jan de Vries", "ean": "871687000000000000", "language": "nl",
           "mandate_valid_from": date(2026, 1, 1), "mandate_valid_until": date(2030, 12, 31), "revoked_at": None,
           "kwh": zero, "sessions": 0, "eligible_kwh": zero, "ere_estimate": zero, "booking": None,
           "status": "eligible", "reasons": "", "iban_masked": "NL02 **** **** 6789", "file": f"customers/{ref}.html",
           "payout": payouts.lines.get(ref), "charge_points": [],
           "months": [{"month": date(quarter.year, quarter.start.month + i, 1), "kwh": zero, "eligible_kwh": zero,
                       "ere": zero} for i in range(3)]}
    (data_dir.root / "report" / "customers").mkdir(parents=True)
    write_batch(StatementBatch(data_dir.root / "report", partner, quarter, date(2027, 1, 15), payouts, [row]))
    return (data_dir.root / "report" / row["file"]).read_text()


def test_an_advance_followed_by_a_lower_settlement_is_netted_and_the_negative_balance_carried(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN),
                           customer("alpha", "A2", "Els Bos", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "100", source="estimate")])  # submitted, not issued
    with_payouts(data_dir, "alpha", {"advance_pct": "80"})
    prepare_and_approve(data_dir, Q1, "alpha")
    # The estimate: 100 ERE x 0.44 = 44.00 gross, 35.20 net; 80 % of it in advance: 28.16.
    assert entries(data_dir, Q1) == [("A1", "advance", Q1.start, 2816)]
    assert line(data_dir, Q1, "A1") == (0, 2816, 0, 2816, 0, "paid")
    assert "Voorschot 2026-Q1" in email_text(data_dir, Q1, "A1")

    with duckdb.connect(str(data_dir.warehouse)) as con:  # the register issues only 50 ERE; A2 books Q2
        con.execute("update ledger.booked_units set units = 50, units_source = 'rev_issued'")
        add_bookings(con, [booking("alpha", "A2", "2026-04-01", "100")])
    prepare_and_approve(data_dir, Q2, "alpha")
    # The settlement: 50 x 0.44 = 22.00 gross, 17.60 net; less the advance 28.16: -10.56, carried, not collected.
    assert entries(data_dir, Q2) == [("A1", "advance_settled", Q1.start, -2816), ("A1", "settlement", Q1.start, 1760),
                                     ("A2", "settlement", Q2.start, 3520)]
    assert line(data_dir, Q2, "A1") == (0, -1056, 0, 0, -1056, "netted")
    assert statement(data_dir, Q2)["A1"]["entries"] == "advance_settled 2026-Q1 -28.16; settlement 2026-Q1 17.60"
    assert statement(data_dir, Q2)["A1"]["carried_over_eur"] == "-10.56"
    text = email_text(data_dir, Q2, "A1")
    for shown in ("Verrekend voorschot 2026-Q1", "€\xa0-28,16", "Afrekening 2026-Q1", "€\xa017,60", "€\xa0-10,56"):
        assert shown in text
    sepa = (data_dir.exports / "2026-Q2" / "payouts" / "alpha" / "sepa_credit_transfer.xml").read_text()
    assert "<NbOfTxs>1</NbOfTxs>" in sepa and "<CtrlSum>35.20</CtrlSum>" in sepa and "Jan de Vries" not in sepa
    page = customer_statement(data_dir, Q2, "A1")
    assert 'data-entry="advance_settled 2026-Q1"><td>Verrekend voorschot 2026-Q1</td><td class="num">' in page
    assert 'data-entry="settlement 2026-Q1"><td>Afrekening 2026-Q1</td>' in page

    with duckdb.connect(str(data_dir.warehouse)) as con:
        add_bookings(con, [booking("alpha", "A1", "2026-07-01", "100")])
    prepare_and_approve(data_dir, Q3, "alpha")
    # Q3's 35.20 net less the -10.56 carried in: 24.64 paid.
    assert line(data_dir, Q3, "A1") == (3520, 0, -1056, 2464, 0, "paid")


def test_a_holdback_is_released_after_the_years_verifier_statement(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "100"), booking("alpha", "A1", "2026-04-01", "50")])
    with_payouts(data_dir, "alpha", {"holdback_pct": "10"})
    prepare_and_approve(data_dir, Q1, "alpha")
    # 100 x 0.44 = 44.00 gross, 35.20 net; 10 % held until the statement: 3.52, 31.68 paid.
    assert entries(data_dir, Q1) == [("A1", "holdback", Q1.start, -352), ("A1", "settlement", Q1.start, 3520)]
    assert line(data_dir, Q1, "A1") == (3520, -352, 0, 3168, 0, "paid")

    with duckdb.connect(str(data_dir.warehouse)) as con:
        ensure_verification(con)
        record_event(con, 2026, "population_sent", "verification-lead")
        record_statement(con, 2026, "VS-2026-0042", "verification-lead")
    prepare_and_approve(data_dir, Q2, "alpha")
    # Q2's 50 x 0.44 = 22.00 gross, 17.60 net, nothing held any more; Q1's 3.52 released: 21.12 paid.
    assert entries(data_dir, Q2) == [("A1", "holdback_release", Q1.start, 352), ("A1", "settlement", Q2.start, 1760)]
    assert line(data_dir, Q2, "A1") == (1760, 352, 0, 2112, 0, "paid")
    assert "Vrijgegeven na de verificatie van 2026 (2026-Q1)" in email_text(data_dir, Q2, "A1")
    assert statement(data_dir, Q2)["A1"]["entries"] == "holdback_release 2026-Q1 3.52; settlement 2026-Q2 17.60"


def test_a_second_claimant_after_q1_was_paid_gives_an_amendment_netted_against_the_next_payout(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "100")])
    prepare_and_approve(data_dir, Q1, "alpha")
    assert line(data_dir, Q1, "A1") == (3520, 0, 0, 3520, 0, "paid")  # 100 x 0.44 x 80 %
    with duckdb.connect(str(data_dir.warehouse)) as con:
        # An earlier mandate claims the EAN: Q2's booking amends the paid delivery to a total of 0 kWh (the
        # register takes its 100 ERE back); A1's other charger delivered 150 ERE in Q2.
        add_bookings(con, [booking("alpha", "A1", "2026-04-01", "-100", kwh="-1000", kind="amendment",
                                   delivery_period_start="2026-01-01"),
                           {**booking("alpha", "A1", "2026-04-01", "150"), "ean": "871687000000000017"}])
    prepare_and_approve(data_dir, Q2, "alpha")
    # 150 x 0.44 = 66.00 gross, 52.80 net; Q1's clawback -35.20 nets against it: 17.60 paid.
    assert entries(data_dir, Q2) == [("A1", "clawback", Q1.start, -3520), ("A1", "settlement", Q2.start, 5280)]
    assert line(data_dir, Q2, "A1") == (5280, -3520, 0, 1760, 0, "paid")
    assert line(data_dir, Q1, "A1") == (3520, 0, 0, 3520, 0, "paid")  # the paid quarter is never rewritten
    folder = data_dir.exports / "2026-Q2" / "payouts" / "alpha"
    assert statement(data_dir, Q2)["A1"]["entries"] == "clawback 2026-Q1 -35.20; settlement 2026-Q2 52.80"
    assert "Terugvordering 2026-Q1" in email_text(data_dir, Q2, "A1")
    assert "we schrijven nooit iets af van uw rekening" in email_text(data_dir, Q2, "A1")
    # Reported to the partner: its account entries export holds the clawback.
    report = list(csv.DictReader(io.StringIO((folder / "account_entries.csv").read_text())))
    assert {k: report[0][k] for k in ("customer_ref", "entry", "quarter", "line_kind", "amount_eur")} == {
        "customer_ref": "A1", "entry": "clawback", "quarter": "2026-Q1", "line_kind": "amendment",
        "amount_eur": "-35.20"}


def test_lines_approved_without_their_entries_stop_that_partners_payout_rather_than_pay_twice(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN), customer("beta", "B1", "Els Bos", None)],
                [booking("alpha", "A1", "2026-01-01", "100"), booking("beta", "B1", "2026-04-01", "10")])
    prepare_and_approve(data_dir, Q1, "alpha")
    with duckdb.connect(str(data_dir.warehouse)) as con:  # a ledger from before the entries were kept
        con.execute("delete from ledger.payout_entries")
    alpha, beta = prepare_and_approve(data_dir, Q2)
    assert alpha.state == "not_computed" and "without their entries" in alpha.message
    assert beta.state == "approved_now"  # 10 x 0.44 = 4.40, 3.52 net: below the minimum, carried
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from ledger.payout_lines where quarter_start = ?",
                           [Q2.start]).fetchone()[0] == 1


def test_a_negative_balance_is_carried_and_never_in_a_sepa_file(data_dir):
    build_world(data_dir, [customer("beta", "B1", "Jan de Vries", None), customer("beta", "B2", "Els Bos", None)],
                [booking("beta", "B1", "2026-01-01", "100")])
    [outcome] = prepare_and_approve(data_dir, Q1, "beta")
    assert outcome.totals["paid_cents"] == 3520  # 100 x 0.44 = 44.00, 80 % after beta's 20 % fee
    with duckdb.connect(str(data_dir.warehouse)) as con:  # B1's EAN was not eligible: amended to zero
        add_bookings(con, [booking("beta", "B1", "2026-04-01", "-100", kwh="-1000", kind="amendment",
                                   delivery_period_start="2026-02-01"),
                           booking("beta", "B2", "2026-04-01", "50")])
    [outcome] = prepare_and_approve(data_dir, Q2, "beta")
    assert line(data_dir, Q2, "B1", "beta") == (0, -3520, 0, 0, -3520, "netted")
    assert (outcome.totals["clawback_lines"], outcome.totals["clawback_cents"]) == (1, -3520)
    folder = data_dir.exports / "2026-Q2" / "payouts" / "beta"
    sepa = (folder / "sepa_credit_transfer.xml").read_text()
    # One transfer to beta of B2's 50 x 0.44 x 80 % = 17.60; B1's -35.20 is nowhere in it.
    assert "<CtrlSum>17.60</CtrlSum>" in sepa and "<NbOfTxs>1</NbOfTxs>" in sepa and "35.20" not in sepa
    assert "B1" not in (folder / "payout_breakdown.csv").read_text()
    with duckdb.connect(str(data_dir.warehouse)) as con:
        add_bookings(con, [booking("beta", "B1", "2026-07-01", "100")])
    prepare_and_approve(data_dir, Q3, "beta")
    # Q3 earns 35.20 and the -35.20 carried in takes all of it: nothing paid, nothing carried, never a debit.
    assert line(data_dir, Q3, "B1", "beta") == (3520, 0, -3520, 0, 0, "nothing_due")


def test_a_clawback_takes_back_at_the_contract_of_the_quarter_it_amends_and_is_paid_by_the_new_one(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "100")])
    with_alpha_account_from_q2(data_dir)
    prepare_and_approve(data_dir, Q1, "alpha")
    assert line(data_dir, Q1, "A1") == (3520, 0, 0, 3520, 0, "paid")  # 100 x 0.44 x 80 %, to A1
    with duckdb.connect(str(data_dir.warehouse)) as con:  # Q1's EAN was claimed earlier; another delivers in Q2
        add_bookings(con, [booking("alpha", "A1", "2026-04-01", "-100", kwh="-1000", kind="amendment",
                                   delivery_period_start="2026-01-01"),
                           {**booking("alpha", "A1", "2026-04-01", "150"), "ean": "871687000000000017"}])
    prepare_and_approve(data_dir, Q2, "alpha")
    # The clawback is what Q1 paid, -35.20 at Q1's 80 % (not -39.60 at Q2's 90 %); Q2's 150 x 0.44 = 66.00
    # at 90 %: 59.40; 24.20 paid, to alpha's account as Q2's contract says.
    assert entries(data_dir, Q2) == [("A1", "clawback", Q1.start, -3520), ("A1", "settlement", Q2.start, 5940)]
    assert line(data_dir, Q2, "A1") == (5940, -3520, 0, 2420, 0, "paid")
    sepa = (data_dir.exports / "2026-Q2" / "payouts" / "alpha" / "sepa_credit_transfer.xml").read_text()
    assert "<NbOfTxs>1</NbOfTxs>" in sepa and "<CtrlSum>24.20</CtrlSum>" in sepa and ALPHA_ACCOUNT in sepa
    assert GOOD_IBAN not in sepa
    assert contracts_recorded(data_dir) == [(Q1.start, "direct", Decimal(15)), (Q2.start, "partner_account",
                                                                                 Decimal(10))]


def test_an_advance_is_valued_and_settled_at_its_booking_quarters_contract(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "100", source="estimate")])
    with_alpha_account_from_q2(data_dir, {"advance_pct": "50"})
    prepare_and_approve(data_dir, Q1, "alpha")
    # The estimate's 44.00 at Q1's 80 %: 35.20; half of it in advance.
    assert entries(data_dir, Q1) == [("A1", "advance", Q1.start, 1760)]
    with duckdb.connect(str(data_dir.warehouse)) as con:  # the register issues Q1 as estimated; Q2 delivers 50
        con.execute("update ledger.booked_units set units_source = 'rev_issued'")
        add_bookings(con, [booking("alpha", "A1", "2026-04-01", "50")])
    prepare_and_approve(data_dir, Q2, "alpha")
    # Q1 settles at Q1's 80 % (35.20, not 39.60), less the advance; Q2's 22.00 at 90 %: 19.80. 37.40 paid.
    assert entries(data_dir, Q2) == [("A1", "advance_settled", Q1.start, -1760), ("A1", "settlement", Q1.start, 3520),
                                     ("A1", "settlement", Q2.start, 1980)]
    assert line(data_dir, Q2, "A1") == (1980, 1760, 0, 3740, 0, "paid")


@settings(max_examples=60, deadline=None)
@given(estimate=units, issued=units, later=units, amended=st.decimals(min_value=0, max_value=1, places=3),
       advance_pct=st.decimals(min_value=0, max_value=100, places=1),
       holdback_pct=st.decimals(min_value=0, max_value=50, places=1))
def test_over_a_year_the_account_pays_exactly_what_the_issued_units_are_worth_and_never_a_negative_amount(
        estimate, issued, later, amended, advance_pct, holdback_pct):
    """An advance on Q1's estimate, Q1 issued (higher or lower) with Q2, a Q3 amendment taking back a share of
    Q1, the verifier statement before Q4: whatever the numbers, the payments and the balance left add up to
    the issued units' value to the cent, and no quarter pays a negative amount. A new contract from Q3 (a
    higher fee) leaves Q1 and Q2 as their own contract valued them: the amendment of Q1 is taken back at Q1's
    fee, not Q3's."""
    terms = {"payout_model": "direct", "partner_share_pct": "5"}
    flat = {k: v for k, v in PARTNERS[0].items() if k not in ("payout_model", "service_fee_pct", "partner_share_pct")}
    partner = Partner.model_validate({
        **flat, "contracts": [{**terms, "service_fee_pct": "15"},
                              {**terms, "service_fee_pct": "25", "valid_from": "2026-07-01"}],
        "payouts": {"advance_pct": str(advance_pct), "holdback_pct": str(holdback_pct)}})
    contracts = ContractBook(partner, {})
    price = Decimal("0.44")
    q1, q2, q3, q4 = (Quarter(2026, n) for n in (1, 2, 3, 4))
    prices = PriceBook({(q.start, 2026): price for q in (q1, q2, q3, q4)}, {})
    issued_q1 = Booking("A1", q1.start, 2026, Decimal(0), issued, "rev_issued")
    amendment = Booking("A1", q3.start, 2026, Decimal(0), -(issued * amended).quantize(Decimal("0.001")),
                        "rev_issued", "amendment", q1.start)
    steps = [(q1, [], (Booking("A1", q1.start, 2026, Decimal(0), estimate, "estimate"),), frozenset()),
             (q2, [issued_q1, Booking("A1", q2.start, 2026, Decimal(0), later, "rev_issued")], (), frozenset()),
             (q3, [issued_q1, Booking("A1", q2.start, 2026, Decimal(0), later, "rev_issued"), amendment], (),
              frozenset()),
             (q4, [issued_q1, Booking("A1", q2.start, 2026, Decimal(0), later, "rev_issued"), amendment], (),
              frozenset({2026}))]
    customers = {"A1": Customer("A1", GOOD_IBAN, None, None)}
    past, paid = History(), 0
    for quarter, bookings, pending, verified in steps:
        [line], new = customer_accounts(quarter, contracts, bookings, customers, {"A1": past}, prices, 500,
                                        Terms(pending, {2026: price}, verified))
        assert line.paid_cents >= 0 and sum(e.amount_cents for e in new) == line.net_cents + line.adjustment_cents
        paid += line.paid_cents
        past = History(line.carried_out_cents, past.entries + tuple(new))
    worth = sum(quarter_value([b], prices, contracts.contract(about))[3]
                for b, about in ((issued_q1, q1.start), (steps[1][1][1], q2.start), (amendment, q1.start)))
    assert paid + past.carried_out_cents == worth
    assert sum(e.amount_cents for e in past.entries if e.kind in ("holdback", "holdback_release")) == 0
