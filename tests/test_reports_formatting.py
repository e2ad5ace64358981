"""The reports format figures without babel in the hot loop (formatting.py says why); babel's nl_NL
stays the reference they must agree with, for any amount and any number of places."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, format_decimal
from hypothesis import given
from hypothesis import strategies as st

from joulo_pipelines.lib.reports.formatting import eur, number

decimals = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False,
                       allow_infinity=False, places=6)


@given(cents=st.integers(min_value=-10**13, max_value=10**13))
def test_euros_read_as_babels_dutch_currency_format(cents):
    assert eur(cents) == format_currency(Decimal(cents).scaleb(-2), "EUR", locale="nl_NL")


@given(value=decimals, places=st.integers(min_value=0, max_value=3))
def test_numbers_read_as_babels_dutch_decimal_format_rounded_half_to_even(value, places):
    pattern = "#,##0" + ("." + "0" * places if places else "")
    assert number(value, places) == format_decimal(value, format=pattern, locale="nl_NL")


def test_halves_round_to_even_and_large_integers_group_by_thousands():
    assert [number(Decimal("0.5")), number(Decimal("1.5")), number(Decimal("2.25"), 1)] == ["0", "2", "2,2"]
    assert number(1234567890) == "1.234.567.890"
