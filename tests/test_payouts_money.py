"""Money: amounts split to the cent for any input, sales priced first in, first out, and a quarter without a
price (no sale, or fewer units sold than issued) is never valued at zero."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from joulo_pipelines.lib.partners import Partner
from joulo_pipelines.lib.payouts.amounts import Booking, ContractBook, Customer, PriceBook, payout_lines
from joulo_pipelines.lib.payouts.money import NoPriceError, allocate, cents_to_eur, fifo_prices, split_gross, to_cents
from joulo_pipelines.lib.payouts.settings import Sale
from joulo_pipelines.lib.quarters import Quarter

percentages = st.decimals(min_value=0, max_value=50, places=2)


@given(gross=st.integers(min_value=-10**9, max_value=10**9), fee=percentages, share=percentages)
def test_fee_partner_share_and_net_always_add_up_to_the_gross(gross, fee, share):
    parts = split_gross(gross, fee, share)
    assert sum(parts) == gross
    assert all(part * (1 if gross >= 0 else -1) >= 0 for part in parts)
    exact = [Decimal(gross) * pct / 100 for pct in (fee, share, 100 - fee - share)]
    assert all(abs(part - e) < 1 for part, e in zip(parts, exact))


@given(total=st.integers(min_value=0, max_value=10**9),
       weights=st.lists(st.decimals(min_value=0, max_value=1000, places=3), min_size=1, max_size=12)
       .filter(lambda w: sum(w) > 0))
def test_largest_remainder_allocation_sums_exactly_and_is_deterministic(total, weights):
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert parts == allocate(total, weights)


customer_units = st.lists(st.decimals(min_value=-50, max_value=5000, places=12), min_size=1, max_size=30)


@given(units=customer_units, fee=percentages, share=percentages,
       price=st.decimals(min_value=Decimal("0.01"), max_value=2, places=6))
def test_every_customers_lines_add_up_to_the_cent_for_random_bookings(units, fee, share, price):
    partner = Partner(id="p", name="P", brand={"display_name": "P", "sender_email": "a@p.example"},
                      payout_model="direct", service_fee_pct=fee, partner_share_pct=share)
    quarter = Quarter(2026, 1)
    bookings = [Booking(f"c{i}", quarter.start, 2026, Decimal(1), u, "estimate") for i, u in enumerate(units)]
    customers = {f"c{i}": Customer(f"c{i}", "NL91ABNA0417164300", None, None) for i in range(len(units))}
    lines = payout_lines(quarter, ContractBook(partner, {}), bookings, customers, {},
                         PriceBook({(quarter.start, 2026): price}, {}), 500)
    by_ref = {line.customer_ref: line for line in lines}
    for i, u in enumerate(units):
        line = by_ref[f"c{i}"]
        assert line.gross_cents == to_cents(u * price)
        assert line.fee_cents + line.partner_share_cents + line.net_cents == line.gross_cents
        assert line.paid_cents >= 0
        assert line.paid_cents + line.carried_out_cents == line.net_cents + line.adjustment_cents + line.carried_in_cents
    assert sum(l.gross_cents for l in lines) == sum(l.fee_cents + l.partner_share_cents + l.net_cents for l in lines)


def test_sales_are_taken_first_in_first_out_after_the_units_approved_payouts_took():
    sales = [Sale(date(2026, 8, 1), 2026, Decimal(3000), Decimal("0.48"), "b"),
             Sale(date(2026, 5, 1), 2026, Decimal(1000), Decimal("0.40"), "a"),
             Sale(date(2026, 9, 1), 2025, Decimal(9000), Decimal("0.10"), "other year"),
             Sale(date(2027, 2, 1), 2026, Decimal(9000), Decimal("0.10"), "not yet sold")]
    q1, q2, q3 = (Quarter(2026, n).start for n in (1, 2, 3))
    # 500 of a taken before; Q1's 1500: a's other 500 at 0.40 and 1000 of b at 0.48 = 680 / 1500 = 0.453333.
    # Q2 needs nothing: the next unit's price, b's. Q3's 2000 are the rest of b.
    assert fifo_prices(sales, 2026, date(2027, 1, 15), Decimal(500),
                       [(q1, Decimal(1500)), (q2, Decimal(0)), (q3, Decimal(2000))]) == \
        {q1: Decimal("0.453333"), q2: Decimal("0.48"), q3: Decimal("0.48")}
    with pytest.raises(NoPriceError, match="2001 ERE of delivery year 2026 to pay, but only 2000 sold"):
        fifo_prices(sales, 2026, date(2027, 1, 15), Decimal(2000), [(q1, Decimal(2001))])


def test_a_delivery_year_without_sales_has_no_price_rather_than_zero():
    with pytest.raises(NoPriceError, match="delivery year 2027"):
        fifo_prices([Sale(date(2026, 5, 1), 2026, Decimal(1), Decimal("0.4"), "a")], 2027, date(2027, 6, 1),
                    Decimal(0), [(date(2027, 1, 1), Decimal(1))])


def test_cents_are_rounded_half_away_from_zero_once_and_printed_exactly():
    assert to_cents(Decimal("0.125")) == 13
    assert to_cents(Decimal("-0.125")) == -13
    assert to_cents(Decimal("136.4045400")) == 13640
    assert [cents_to_eur(c) for c in (0, 5, -5, 123456)] == ["0.00", "0.05", "-0.05", "1234.56"]
