"""How a figure reads to a person, in their language: Dutch (nl, nl-NL) or English (en, en-GB). Every page,
statement, email, scan and human summary writes its figures here, so a customer sees one number written one
way wherever they meet it. Files for the register and machine interfaces keep their own schemas and do not
use this.

The precision of each quantity is set once, below: kWh to 1 decimal, ERE to 2, euros to 2, a price per ERE to
2-4 (the price is stated to a millionth, PRICE_PLACES in payouts/money.py; a person reads it to a hundredth
of a cent, trailing zeros beyond the cents dropped), a share as a percentage to 1.

Amounts arrive as integer cents or Decimal; nothing here goes through a float.

A national quarter formats ~15 figures on each of 600,000 statements, so numbers are formatted by
Decimal's own format (with the separators swapped for Dutch), not by babel (five times slower per figure).
Both locales' patterns are simple enough for that: nl groups thousands with '.' and marks decimals with ',',
en the other way round, and both round half to even. tests/test_formatting.py holds every function to
babel's output for nl_NL and en_GB."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from joulo_pipelines.lib.clock import AMSTERDAM

LANGUAGES = ("nl", "en")
LOCALES = {"nl": "nl_NL", "en": "en_GB"}  # babel's locale of each language, the reference of the tests

KWH_PLACES = 1
ERE_PLACES = 2
EUR_PLACES = 2
PRICE_PLACES = (2, 4)  # at least the cents, at most a hundredth of a cent
PERCENT_PLACES = 1

NONE = "–"  # a figure that is not there
_NBSP = "\xa0"
_DUTCH_SEPARATORS = str.maketrans({",": ".", ".": ","})
_PRICE_STEP = Decimal(1).scaleb(-PRICE_PLACES[1])
_DATES = {"nl": "%d-%m-%Y", "en": "%Y-%m-%d"}


def _unknown(language: str) -> ValueError:
    return ValueError(f"language {language!r}; figures are written in: {', '.join(LANGUAGES)}")


def number(value: Decimal | int | None, places: int, language: str) -> str:
    """68466.944309 -> nl '68.466,9', en '68,466.9' (places=1): grouped thousands, rounded half to even."""
    if value is None:
        return NONE
    text = format(Decimal(value), f",.{places}f")
    if language == "nl":
        return text.translate(_DUTCH_SEPARATORS)
    if language == "en":
        return text
    raise _unknown(language)


def count(value: int | None, language: str) -> str:
    """A whole number of things (customers, sessions, charge points): 1234 -> nl '1.234', en '1,234'."""
    return number(value, 0, language)


def kwh(value: Decimal | None, language: str) -> str:
    return number(value, KWH_PLACES, language)


def ere(value: Decimal | None, language: str) -> str:
    return number(value, ERE_PLACES, language)


def _money(amount: Decimal, places: int, language: str) -> str:
    if language == "nl":  # '€ -72,94': the sign after the symbol and a no-break space
        return f"€{_NBSP}{number(amount, places, language)}"
    text = number(abs(amount), places, language)  # '-€72.94'
    return f"-€{text}" if amount < 0 and text.strip("0.,") else f"€{text}"


def eur(cents: int | None, language: str) -> str:
    """Integer cents: -7294 -> nl '€ -72,94' (no-break space), en '-€72.94'."""
    if cents is None:
        return NONE
    return _money(Decimal(cents).scaleb(-EUR_PLACES), EUR_PLACES, language)


def price_per_ere(price: Decimal | str | None, language: str) -> str:
    """A price per ERE to 2-4 decimals: 0.452345 -> nl '€ 0,4523', 0.45 -> '€ 0,45', 0.4550 -> '€ 0,455'."""
    if price is None:
        return NONE
    rounded = Decimal(price).quantize(_PRICE_STEP, rounding=ROUND_HALF_EVEN)
    places = max(PRICE_PLACES[0], -rounded.normalize().as_tuple().exponent)
    return _money(rounded, places, language)


def prices_per_ere(stated: str, language: str) -> str:
    """A payout line's price as the ledger states it, one price or one per delivery year:
    '2025:0.41;2026:0.4315' -> nl '2025: € 0,41; 2026: € 0,4315'; none stated (nothing was due): '–'."""
    if not stated:
        return NONE
    return "; ".join(f"{year}: {price_per_ere(price, language)}" if price else price_per_ere(year, language)
                     for year, _, price in (part.partition(":") for part in stated.split(";")))


def percent(share: Decimal | None, language: str) -> str:
    """A share (0..1) as nl '45,7%', en '45.7%'."""
    if share is None:
        return NONE
    return f"{number(Decimal(share) * 100, PERCENT_PLACES, language)}%"


def _date_format(language: str) -> str:
    if language not in _DATES:
        raise _unknown(language)
    return _DATES[language]


def day(value: date | None, language: str) -> str:
    """nl '15-01-2027', en '2027-01-15' (the unambiguous form for a reader of any English)."""
    return value.strftime(_date_format(language)) if value else NONE


def local_time(moment: datetime | None, language: str) -> str:
    """The moment in Amsterdam's time: nl '15-01-2027 14:05', en '2027-01-15 14:05'."""
    if moment is None:
        return NONE
    return moment.astimezone(AMSTERDAM).strftime(f"{_date_format(language)} %H:%M")


def spreadsheet_number(value: Decimal | int | None, places: int) -> str:
    """A figure in a CSV for Dutch Excel: decimal comma, no thousands separator (Excel then reads a number,
    where '1.234,5' could be taken for a date or text): 1234.56 -> '1234,6' (places=1)."""
    if value is None:
        return ""
    return format(Decimal(value), f".{places}f").replace(".", ",")
