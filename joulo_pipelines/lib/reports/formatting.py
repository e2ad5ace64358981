"""How figures read on a report: Dutch (nl-NL) numbers and euros by babel, Amsterdam local times.

Amounts arrive as integer cents or Decimal; nothing here goes through a float."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache

from babel import Locale
from babel.numbers import NumberPattern, format_currency, parse_pattern

from joulo_pipelines.lib.clock import AMSTERDAM

LOCALE = "nl_NL"
# Parsed once: a national quarter formats millions of figures, and babel would parse both on every call.
_LOCALE = Locale.parse(LOCALE)


@cache
def _decimal_pattern(places: int) -> NumberPattern:
    return parse_pattern("#,##0" + ("." + "0" * places if places else ""))


def eur(cents: int | None) -> str:
    """1234567 -> '€ 12.345,67'."""
    if cents is None:
        return "–"
    return format_currency(Decimal(cents).scaleb(-2), "EUR", locale=LOCALE)


def number(value: Decimal | int | None, places: int = 0) -> str:
    """Thousands with '.', decimals with ',': 68466.944309 -> '68.467' (places=0) or '68.466,944' (3)."""
    if value is None:
        return "–"
    return _decimal_pattern(places).apply(Decimal(value), _LOCALE)


def percent(share: Decimal | None, places: int = 1) -> str:
    """A share (0..1) as '45,7 %'."""
    if share is None:
        return "–"
    return f"{number(Decimal(share) * 100, places)} %"


def local_time(moment: datetime | None) -> str:
    if moment is None:
        return "–"
    return moment.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M")


def day(value: date | None) -> str:
    return value.strftime("%d-%m-%Y") if value else "–"


def text_on(colour: str) -> str:
    """The header's text colour on the brand colour: white, or near-black on a light brand colour."""
    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    # White as long as it keeps WCAG's 3:1 for large text (the header's title), as brand colours are meant.
    return "#ffffff" if 1.05 / (luminance + 0.05) >= 3 else "#1b1b1b"
