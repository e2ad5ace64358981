"""The bank's calendar for our SEPA payments: a bank day is a weekday on which TARGET2 settles euro
payments (not one of the ECB's TARGET closing days: New Year, Good Friday, Easter Monday, 1 May, Christmas
and the day after). A payment promised on a closing day would arrive a day or more late."""

from __future__ import annotations

from datetime import date, timedelta

import holidays


def is_bank_day(day: date) -> bool:
    return day.weekday() < 5 and day not in holidays.financial_holidays("ECB", years=day.year)


def on_or_after(day: date) -> date:
    """`day` if it is a bank day, else the next bank day: the one rule for execution and promised dates."""
    while not is_bank_day(day):
        day += timedelta(days=1)
    return day
