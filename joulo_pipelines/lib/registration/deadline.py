"""The booking deadline of a delivery year: deliveries of year Y can be booked until 1 March Y+1.

Configurable because the NEa's practice is "the last working day before": JOULO_REV_DEADLINE=MM-DD (the
day in Y+1 from which year Y is closed, default 03-01) and JOULO_REV_DEADLINE_WARN_DAYS (how long before
it the deadline watch warns, default 60).
"""

from __future__ import annotations

import os
from datetime import date

from joulo_pipelines.lib import clock

DEFAULT_DEADLINE = "03-01"
DEFAULT_WARN_DAYS = 60


def booking_deadline(delivery_year: int) -> date:
    """The first day on which deliveries of `delivery_year` can no longer be booked."""
    text = os.environ.get("JOULO_REV_DEADLINE", DEFAULT_DEADLINE)
    try:
        month, day = (int(part) for part in text.split("-"))
        return date(delivery_year + 1, month, day)
    except ValueError:
        raise ValueError(f"JOULO_REV_DEADLINE={text!r} is not a month and day (MM-DD), e.g. 03-01") from None


def warn_days() -> int:
    text = os.environ.get("JOULO_REV_DEADLINE_WARN_DAYS", str(DEFAULT_WARN_DAYS))
    if not text.isdigit():
        raise ValueError(f"JOULO_REV_DEADLINE_WARN_DAYS={text!r} is not a whole number of days, e.g. 60")
    return int(text)


def is_closed(delivery_year: int, today: date | None = None) -> bool:
    """True once the year's deadline has passed by the platform clock: its kWh are reported, not booked."""
    return (today or clock.today()) >= booking_deadline(delivery_year)
