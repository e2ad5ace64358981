"""Figures are formatted without babel in the hot loop (lib/formatting.py says why); babel's nl_NL and en_GB
stay the reference they must agree with, for any amount and any figure, in both languages."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from babel import Locale
from babel.numbers import format_currency, format_decimal, format_percent
from hypothesis import given
from hypothesis import strategies as st

from joulo_pipelines.lib import formatting
from joulo_pipelines.lib.formatting import (
    count,
    day,
    ere,
    eur,
    kwh,
    local_time,
    number,
    percent,
    price_per_ere,
    prices_per_ere,
    spreadsheet_number,
)

decimals = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False,
                       allow_infinity=False, places=6)
languages = st.sampled_from(formatting.LANGUAGES)


def _locale(language: str) -> str:
    return formatting.LOCALES[language]


@given(cents=st.integers(min_value=-10**13, max_value=10**13), language=languages)
def test_euros_read_as_babels_currency_format_of_the_language(cents, language):
    assert eur(cents, language) == format_currency(Decimal(cents).scaleb(-2), "EUR", locale=_locale(language))


@given(value=decimals, places=st.integers(min_value=0, max_value=3), language=languages)
def test_numbers_read_as_babels_decimal_format_rounded_half_to_even(value, places, language):
    pattern = "#,##0" + ("." + "0" * places if places else "")
    assert number(value, places, language) == format_decimal(value, format=pattern, locale=_locale(language))


@given(price=st.decimals(min_value=Decimal("0"), max_value=Decimal("1000"), places=6), language=languages)
def test_a_price_per_ere_reads_as_babels_currency_with_two_to_four_decimals(price, language):
    standard = Locale.parse(_locale(language)).currency_formats["standard"].pattern
    assert price_per_ere(price, language) == format_currency(
        price, "EUR", format=standard.replace("0.00", "0.00##"), locale=_locale(language), currency_digits=False)


@given(share=st.decimals(min_value=Decimal("0"), max_value=Decimal("1"), places=6), language=languages)
def test_a_share_reads_as_babels_percent_to_one_decimal(share, language):
    assert percent(share, language) == format_percent(share, format="#,##0.0%", locale=_locale(language))


def test_each_quantity_has_its_own_precision_the_same_in_both_languages():
    figure = Decimal("3298.344309")
    assert [kwh(figure, "nl"), ere(figure, "nl"), count(3298, "nl")] == ["3.298,3", "3.298,34", "3.298"]
    assert [kwh(figure, "en"), ere(figure, "en"), count(3298, "en")] == ["3,298.3", "3,298.34", "3,298"]
    assert [eur(-7294, "nl"), eur(-7294, "en"), eur(0, "en")] == ["€\xa0-72,94", "-€72.94", "€0.00"]
    # the price is stated to a millionth; a person reads its cents and at most two decimals more
    assert [price_per_ere(Decimal("0.452345"), "nl"), price_per_ere(Decimal("0.450000"), "nl"),
            price_per_ere("0.455000", "en")] == ["€\xa00,4523", "€\xa00,45", "€0.455"]
    assert [percent(Decimal("0.456789"), "nl"), percent(Decimal("0.456789"), "en")] == ["45,7%", "45.7%"]
    assert [number(Decimal("0.5"), 0, "nl"), number(Decimal("2.25"), 1, "en")] == ["0", "2.2"]


def test_a_payout_lines_prices_read_one_per_delivery_year():
    assert prices_per_ere("0.431234", "nl") == "€\xa00,4312"
    assert prices_per_ere("2025:0.41;2026:0.4315", "en") == "2025: €0.41; 2026: €0.4315"
    assert prices_per_ere("", "nl") == "–"  # a line with nothing due has no price


def test_dates_and_times_read_per_language_in_amsterdams_time():
    moment = datetime(2027, 1, 15, 13, 5, tzinfo=timezone.utc)
    assert [day(date(2027, 1, 15), "nl"), day(date(2027, 1, 15), "en")] == ["15-01-2027", "2027-01-15"]
    assert [local_time(moment, "nl"), local_time(moment, "en")] == ["15-01-2027 14:05", "2027-01-15 14:05"]
    assert [eur(None, "nl"), kwh(None, "en"), day(None, "nl")] == ["–", "–", "–"]


def test_a_language_without_its_rules_is_refused_by_name():
    with pytest.raises(ValueError, match="'de'; figures are written in: nl, en"):
        eur(100, "de")


def test_a_spreadsheet_number_has_a_decimal_comma_and_no_grouping():
    assert [spreadsheet_number(Decimal("-1234.5678"), 2), spreadsheet_number(12, 1),
            spreadsheet_number(None, 2)] == ["-1234,57", "12,0", ""]
