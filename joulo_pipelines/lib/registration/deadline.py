"""The register's calendar for a delivery year Y, the one place its dates are computed:
- `booking`: deliveries of Y can be booked in the REV until the last working day before 1 March Y+1;
- `verifier_statement`: the verifier's statement is due before 1 April Y+1;
- `nea_statement`: the statement to the NEa, with the verifier's result, is due in the REV before 1 May Y+1.

A working day is a weekday that is not a Dutch public holiday (the `holidays` package's calendar for the
Netherlands): the REV is closed on the others. The sources say only "before" 1 April and 1 May; we hold those
two steps to the same rule as the booking, the last working day before the first of the month, because the
NEa statement is made in the same closed-at-weekends REV and the verifier's statement is its input. That is
never later than the calendar's "before", so no step is planned for a day that turns out to be too late.

Two kinds of date, never mixed: a step's *last day* is the last day on which it can still be done
(2026 bookings: Friday 26 February 2027); its *first closed day* is the day after (Saturday 27 February).
JOULO_REV_DEADLINE_WARN_DAYS: how many days before a last day the deadline watches warn (default 60).
"""

from __future__ import annotations

import os
from datetime import date, timedelta

import holidays

from joulo_pipelines.lib import clock

DEFAULT_WARN_DAYS = 60

# Per step, the month of Y+1 whose first day it must be done before.
DUE_BEFORE_MONTH = {"booking": 3, "verifier_statement": 4, "nea_statement": 5}
DESCRIPTIONS = {
    "booking": "booking the year's deliveries in the REV",
    "verifier_statement": "the verifier's statement on the year",
    "nea_statement": "the statement to the NEa with the verifier's result, in the REV",
}


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in holidays.country_holidays("NL", years=day.year)


def last_working_day_before(day: date) -> date:
    previous = day - timedelta(days=1)
    while not is_working_day(previous):
        previous -= timedelta(days=1)
    return previous


def last_day(step: str, delivery_year: int) -> date:
    """The last day on which `step` of `delivery_year` can still be done."""
    if step not in DUE_BEFORE_MONTH:
        raise ValueError(f"unknown deadline {step!r}; known: {', '.join(DUE_BEFORE_MONTH)}")
    return last_working_day_before(date(delivery_year + 1, DUE_BEFORE_MONTH[step], 1))


def deadlines(delivery_year: int) -> dict[str, date]:
    """Per step (booking, verifier_statement, nea_statement): its last day for `delivery_year`."""
    return {step: last_day(step, delivery_year) for step in DUE_BEFORE_MONTH}


def last_booking_day(delivery_year: int) -> date:
    return last_day("booking", delivery_year)


def booking_deadline(delivery_year: int) -> date:
    """The first day on which deliveries of `delivery_year` can no longer be booked (the day after the last
    booking day): callers compare `today >= booking_deadline(year)`."""
    return last_booking_day(delivery_year) + timedelta(days=1)


def warn_days() -> int:
    text = os.environ.get("JOULO_REV_DEADLINE_WARN_DAYS", str(DEFAULT_WARN_DAYS))
    if not text.isdigit():
        raise ValueError(f"JOULO_REV_DEADLINE_WARN_DAYS={text!r} is not a whole number of days, e.g. 60")
    return int(text)


def is_closed(delivery_year: int, today: date | None = None) -> bool:
    """True once the year's last booking day has passed by the platform clock: its kWh are reported, not booked."""
    return (today or clock.today()) >= booking_deadline(delivery_year)
