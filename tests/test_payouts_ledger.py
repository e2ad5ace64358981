"""The payout ledger and its rules: four eyes (one person prepares, another approves what was prepared),
approve twice pays once, only units the register issued are paid (a submitted line waits for its result,
a draft is never paid), a change after approval becomes an adjustment next quarter, small amounts carry over, negative corrections net, bad IBANs are held, no price no payout."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest
import yaml

from joulo_pipelines import cli
from joulo_pipelines.lib.payouts import ledger
from joulo_pipelines.lib.payouts.service import run_quarter
from joulo_pipelines.lib.quarters import Quarter
from payouts_world import (APPROVER, PARTNERS, PREPARER, add_bookings, booking, build_world, customer,
                           prepare_and_approve)

Q1, Q2, Q3 = Quarter(2026, 1), Quarter(2026, 2), Quarter(2026, 3)
GOOD_IBAN = "NL02ABNA0123456789"


def lines(data_dir, partner_id: str = "alpha") -> list[tuple]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute("select quarter_start, customer_ref, net_cents, adjustment_cents, carried_in_cents, "
                           "paid_cents, carried_out_cents, status from ledger.payout_lines where partner_id = ? "
                           "order by quarter_start, customer_ref", [partner_id]).fetchall()


def line(data_dir, quarter: Quarter, ref: str) -> dict:
    names = ["quarter_start", "customer_ref", "net", "adjustment", "carried_in", "paid", "carried_out", "status"]
    return next(dict(zip(names, row)) for row in lines(data_dir) if row[0] == quarter.start and row[1] == ref)


def test_approving_a_quarter_twice_pays_once_and_rewrites_nothing(data_dir, capsys):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "300")])
    assert cli.main(["payouts", "prepare", "2026-Q1", "--partner", "alpha", "--by", PREPARER]) == 0
    assert cli.main(["payouts", "approve", "2026-Q1", "--partner", "alpha", "--by", APPROVER]) == 0
    sepa = data_dir.exports / "2026-Q1" / "payouts" / "alpha" / "sepa_credit_transfer.xml"
    first = sepa.read_bytes()
    assert cli.main(["payouts", "approve", "2026-Q1", "--partner", "alpha", "--by", APPROVER]) == 0
    assert "already approved, nothing changed" in capsys.readouterr().out
    assert sepa.read_bytes() == first
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from ledger.payout_batches").fetchone()[0] == 1
        assert con.execute("select count(*), sum(paid_cents) from ledger.payout_lines").fetchone() == (1, 10560)
    assert first.count(b"<CdtTrfTxInf>") == 1


def test_only_issued_units_are_paid_and_a_result_imported_later_is_paid_once_by_the_next_payout(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN),
                           customer("alpha", "A2", "Els Bakker", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "100"),
                 booking("alpha", "A1", "2026-01-01", "200", source="estimate", n=1),  # submitted, not issued yet
                 booking("alpha", "A1", "2026-01-01", "50", source="estimate", status="draft", n=2),
                 booking("alpha", "A2", "2026-01-01", "40", source="estimate")])
    prepare_and_approve(data_dir, Q1, "alpha")
    # Only A1's 100 issued ERE: 100 x 0.44 = 44.00 gross; alpha keeps 15 % fee and 5 % share, A1 gets 35.20.
    assert lines(data_dir) == [(Q1.start, "A1", 3520, 0, 0, 3520, 0, "paid")]

    with duckdb.connect(str(data_dir.warehouse)) as con:  # the register issues Q1's submitted lines
        con.execute("update ledger.booked_units set units = case customer_ref when 'A1' then 190 else 40 end, "
                    "units_source = 'rev_issued' where status = 'submitted' and units_source = 'estimate'")
    prepare_and_approve(data_dir, Q2, "alpha")
    prepare_and_approve(data_dir, Q2, "alpha")
    # Q2 books nothing new; it pays what Q1's results added: A1 190 x 0.44 = 83.60 gross, 66.88 net;
    # A2 40 x 0.44 = 17.60 gross, 14.08 net. The draft's 50 ERE are never paid.
    assert lines(data_dir)[1:] == [(Q2.start, "A1", 0, 6688, 0, 6688, 0, "paid"),
                                   (Q2.start, "A2", 0, 1408, 0, 1408, 0, "paid")]
    prepare_and_approve(data_dir, Q3, "alpha")
    assert [row[5] for row in lines(data_dir) if row[0] == Q3.start] == [0, 0]  # nothing paid twice


def test_a_new_sale_at_another_price_between_two_approvals_changes_only_the_later_payout(data_dir):
    sales = "sale_date,delivery_year,units,price_eur_per_ere,reference\n2026-04-20,2026,150,0.40,S-1\n"
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN), customer("beta", "B1", "Els Bos", None)],
                [booking("alpha", "A1", "2026-01-01", "100"), booking("alpha", "A1", "2026-04-01", "100"),
                 booking("beta", "B1", "2026-01-01", "10")], sales=sales)
    prepare_and_approve(data_dir, Q1, "alpha")
    statement = (data_dir.exports / "2026-Q1" / "payouts" / "alpha" / "statement.csv").read_bytes()
    # 100 ERE of S-1 at 0.40 = 40.00 gross; alpha's customers get 80 %: 32.00.
    assert line(data_dir, Q1, "A1")["net"] == 3200

    (data_dir.config / "ere_sales.csv").write_text(sales + "2026-12-01,2026,1000,0.50,S-2\n")
    prepare_and_approve(data_dir, Q2, "alpha")
    prepare_and_approve(data_dir, Q1, "beta")
    run_quarter(data_dir, Q1)
    assert (data_dir.exports / "2026-Q1" / "payouts" / "alpha" / "statement.csv").read_bytes() == statement
    assert line(data_dir, Q1, "A1")["net"] == 3200
    # Q2's 100 ERE take S-1's last 50 at 0.40 and S-2's first 50 at 0.50: price 0.45, 45.00 gross, 36.00 net.
    assert (line(data_dir, Q2, "A1")["net"], line(data_dir, Q2, "A1")["adjustment"]) == (3600, 0)
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        # beta's 10 ERE come after alpha's 200: S-2 at 0.50, 5.00 gross, 80 % net after beta's 20 % fee.
        assert con.execute("select net_cents from ledger.payout_lines where partner_id = 'beta'").fetchall() == [(400,)]
        assert con.execute("select partner_id, quarter_start, price_eur_per_ere from ledger.payout_prices "
                           "order by all").fetchall() == [("alpha", Q1.start, Decimal("0.4")),
                                                          ("alpha", Q2.start, Decimal("0.45")),
                                                          ("beta", Q1.start, Decimal("0.5"))]


def test_units_beyond_what_was_sold_are_not_paid_and_the_run_says_why(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "100")],
                sales="sale_date,delivery_year,units,price_eur_per_ere,reference\n2026-04-20,2026,99.5,0.40,S-1\n")
    [outcome] = prepare_and_approve(data_dir, Q1, "alpha")
    assert outcome.state == "not_computed"
    assert "100 ERE of delivery year 2026 to pay, but only 99.5 sold" in outcome.message
    assert lines(data_dir) == []


def test_a_booking_changed_after_approval_becomes_an_adjustment_in_the_next_quarter(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "300")])
    prepare_and_approve(data_dir, Q1, "alpha")
    statement = (data_dir.exports / "2026-Q1" / "payouts" / "alpha" / "statement.csv").read_bytes()
    with duckdb.connect(str(data_dir.warehouse)) as con:  # the register's corrected result: fewer units for Q1
        con.execute("update ledger.booked_units set units = 250")
        add_bookings(con, [booking("alpha", "A1", "2026-04-01", "100")])
    prepare_and_approve(data_dir, Q2, "alpha")
    prepare_and_approve(data_dir, Q1, "alpha")
    assert (data_dir.exports / "2026-Q1" / "payouts" / "alpha" / "statement.csv").read_bytes() == statement
    q1, q2 = line(data_dir, Q1, "A1"), line(data_dir, Q2, "A1")
    # 300 ERE x 0.44 = 132.00 gross, 80 % net = 105.60; at 250 ERE 88.00: 17.60 too much, taken from Q2.
    assert (q1["net"], q1["paid"]) == (10560, 10560)
    assert (q2["net"], q2["adjustment"], q2["paid"]) == (3520, -1760, 1760)


def test_small_amounts_carry_over_until_the_minimum_and_are_paid_when_the_mandate_ends(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN),
                           customer("alpha", "A2", "Els Bos", GOOD_IBAN, valid_until="2026-06-30")],
                [booking("alpha", "A1", "2026-01-01", "10"), booking("alpha", "A1", "2026-04-01", "10"),
                 booking("alpha", "A2", "2026-01-01", "5")])
    prepare_and_approve(data_dir, Q1, "alpha")
    prepare_and_approve(data_dir, Q2, "alpha")
    assert line(data_dir, Q1, "A1") | {"quarter_start": None} == {
        "quarter_start": None, "customer_ref": "A1", "net": 352, "adjustment": 0, "carried_in": 0, "paid": 0,
        "carried_out": 352, "status": "carried_over"}
    assert (line(data_dir, Q2, "A1")["carried_in"], line(data_dir, Q2, "A1")["paid"]) == (352, 704)
    assert line(data_dir, Q1, "A2")["status"] == "carried_over"
    assert (line(data_dir, Q2, "A2")["paid"], line(data_dir, Q2, "A2")["status"]) == (176, "paid")


def test_a_negative_correction_nets_against_later_payouts_and_is_never_a_negative_transfer(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "100"),
                 booking("alpha", "A1", "2026-04-01", "-150", kind="correction"),
                 booking("alpha", "A1", "2026-07-01", "200")])
    for quarter in (Q1, Q2, Q3):
        prepare_and_approve(data_dir, quarter, "alpha")
    assert (line(data_dir, Q2, "A1")["paid"], line(data_dir, Q2, "A1")["carried_out"]) == (0, -5280)
    assert line(data_dir, Q2, "A1")["status"] == "netted"
    assert (line(data_dir, Q3, "A1")["carried_in"], line(data_dir, Q3, "A1")["paid"]) == (-5280, 1760)
    q2_folder = data_dir.exports / "2026-Q2" / "payouts" / "alpha"
    assert not (q2_folder / "sepa_credit_transfer.xml").exists()


def test_an_invalid_iban_is_held_with_the_reason_and_left_out_of_the_sepa_file(data_dir):
    broken = GOOD_IBAN[:2] + "00" + GOOD_IBAN[4:]
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN), customer("alpha", "A2", "Els Bos", broken)],
                [booking("alpha", "A1", "2026-01-01", "100"), booking("alpha", "A2", "2026-01-01", "100")])
    prepare_and_approve(data_dir, Q1, "alpha")
    folder = data_dir.exports / "2026-Q1" / "payouts" / "alpha"
    statement = (folder / "statement.csv").read_text()
    assert "A2," in statement and ",held,invalid IBAN" in statement
    assert broken not in statement
    sepa = (folder / "sepa_credit_transfer.xml").read_text()
    assert "Els Bos" not in sepa and broken not in sepa and "<NbOfTxs>1</NbOfTxs>" in sepa


def test_without_a_price_the_payout_is_not_computed_and_the_run_says_why(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "100", delivery_year=2026)],
                sales="sale_date,delivery_year,units,price_eur_per_ere,reference\n2026-04-20,2025,10,0.41,S-1\n")
    [outcome] = prepare_and_approve(data_dir, Q1, "alpha")
    assert outcome.state == "not_computed"
    assert "no ERE sales for delivery year 2026" in outcome.message
    assert lines(data_dir) == []


def test_an_earlier_quarter_cannot_be_approved_after_a_later_one_paid_its_amounts(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "100"), booking("alpha", "A1", "2026-04-01", "100")])
    prepare_and_approve(data_dir, Q2, "alpha")
    assert line(data_dir, Q2, "A1")["paid"] == 7040  # Q1's bookings were paid with Q2
    with pytest.raises(ledger.LedgerError, match="approve quarters in order"):
        prepare_and_approve(data_dir, Q1, "alpha")


def test_a_crash_while_recording_a_batch_leaves_no_trace_and_the_next_approval_pays_once(data_dir, monkeypatch):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN), customer("alpha", "A2", "Els Bos", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "100"), booking("alpha", "A2", "2026-01-01", "100")])

    def crash(*args):
        raise RuntimeError("power cut")

    with monkeypatch.context() as patched:
        patched.setattr(ledger, "end_to_end_id", crash)
        with pytest.raises(RuntimeError):
            prepare_and_approve(data_dir, Q1, "alpha")
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from ledger.payout_batches").fetchone()[0] == 0
    prepare_and_approve(data_dir, Q1, "alpha")
    assert [row[5] for row in lines(data_dir)] == [3520, 3520]


def batches(data_dir) -> list[tuple]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute("select partner_id, prepared_by, prepared_at is not null, approved_by, "
                           "approved_at is not null from ledger.payout_batches order by all").fetchall()


def test_the_person_who_prepared_a_payout_cannot_approve_it(data_dir, capsys):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "300")])
    [outcome] = run_quarter(data_dir, Q1, "alpha", approve_by=APPROVER)
    assert (outcome.state, "nothing prepared to approve" in outcome.message) == ("refused", True)
    assert cli.main(["payouts", "prepare", "2026-Q1", "--partner", "alpha", "--by", PREPARER]) == 0
    assert "prepared 1 customer(s), gross €132.00" in capsys.readouterr().out
    # The same person, however the name is typed, is refused in one line and nothing is paid.
    assert cli.main(["payouts", "approve", "2026-Q1", "--partner", "alpha", "--by", f" {PREPARER.upper()}"]) == 2
    [refusal] = capsys.readouterr().out.splitlines()
    assert "refused" in refusal and "cannot also approve it (four eyes)" in refusal
    assert batches(data_dir) == []
    assert not (data_dir.exports / "2026-Q1" / "payouts" / "alpha" / "sepa_credit_transfer.xml").exists()
    assert cli.main(["payouts", "approve", "2026-Q1", "--partner", "alpha", "--by", APPROVER]) == 0
    assert batches(data_dir) == [("alpha", PREPARER, True, APPROVER, True)]


def test_a_proposal_that_changed_since_it_was_prepared_is_not_approved_until_prepared_again(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "300")])
    run_quarter(data_dir, Q1, "alpha", prepare_by=PREPARER)
    with duckdb.connect(str(data_dir.warehouse)) as con:  # the REV issued fewer units than were prepared
        con.execute("update ledger.booked_units set units = 250, units_source = 'rev_issued'")
    [outcome] = run_quarter(data_dir, Q1, "alpha", approve_by=APPROVER)
    assert outcome.state == "refused"
    assert f"the proposal changed since {PREPARER} prepared it" in outcome.message
    assert "prepare it again" in outcome.message
    assert batches(data_dir) == []
    run_quarter(data_dir, Q1, "alpha", prepare_by=PREPARER)
    [outcome] = run_quarter(data_dir, Q1, "alpha", approve_by=APPROVER)
    assert outcome.state == "approved_now" and outcome.totals["gross_cents"] == 11000  # 250 ERE x 0.44


def test_a_one_person_trial_may_prepare_and_approve_alone_when_the_registry_says_so(data_dir):
    build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", GOOD_IBAN)],
                [booking("alpha", "A1", "2026-01-01", "300")])
    trial = [{**PARTNERS[0], "payouts": {"four_eyes": False}}, PARTNERS[1]]
    data_dir.partners_file.write_text(yaml.safe_dump({"partners": trial}, sort_keys=False))
    run_quarter(data_dir, Q1, "alpha", prepare_by=PREPARER)
    [outcome] = run_quarter(data_dir, Q1, "alpha", approve_by=PREPARER)
    assert outcome.state == "approved_now"
    assert batches(data_dir) == [("alpha", PREPARER, True, PREPARER, True)]
