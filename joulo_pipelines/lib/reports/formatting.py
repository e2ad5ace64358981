"""How figures read on a report: Dutch (nl-NL) numbers and euros, Amsterdam local times.

Amounts arrive as integer cents or Decimal; nothing here goes through a float.

A national quarter formats ~15 figures on each of 600,000 statements, so numbers are formatted by
Decimal's own format with the separators swapped, not by babel (five times slower per figure). The nl-NL
pattern is simple enough for that: '.' groups thousands, ',' marks decimals, '-' leads, and both round
half to even. tests/test_reports_formatting.py holds the two to the same output as babel's nl_NL."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from joulo_pipelines.lib.clock import AMSTERDAM

_DUTCH_SEPARATORS = str.maketrans({",": ".", ".": ","})
_NBSP = "\xa0"


def eur(cents: int | None) -> str:
    """1234567 -> '€ 12.345,67' (a no-break space after the sign, as nl-NL writes it)."""
    if cents is None:
        return "–"
    return f"€{_NBSP}{number(Decimal(cents).scaleb(-2), 2)}"


def number(value: Decimal | int | None, places: int = 0) -> str:
    """Thousands with '.', decimals with ',': 68466.944309 -> '68.467' (places=0) or '68.466,944' (3)."""
    if value is None:
        return "–"
    return format(Decimal(value), f",.{places}f").translate(_DUTCH_SEPARATORS)


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
