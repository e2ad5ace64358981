"""Booking ids: `2026-Q1` for a quarter's booking, `2026-S1`, `2026-S2` ... for supplementary bookings of
delivery year 2026 (amendments and late deliveries that arrive once every quarter of the year has been submitted)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from joulo_pipelines.lib.quarters import Quarter

_SUPPLEMENTARY = re.compile(r"^(\d{4})-S([1-9]\d*)$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class BookingId:
    delivery_year: int
    quarter_number: int | None = None
    supplementary_number: int | None = None

    @classmethod
    def parse(cls, text: str) -> "BookingId":
        match = _SUPPLEMENTARY.match(text.strip())
        if match:
            return cls(int(match.group(1)), supplementary_number=int(match.group(2)))
        try:
            quarter = Quarter.parse(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a booking; use a quarter (2026-Q1) or a supplementary "
                             "booking of a year (2026-S1)") from None
        return cls.for_quarter(quarter)

    @classmethod
    def for_quarter(cls, quarter: Quarter) -> "BookingId":
        return cls(quarter.year, quarter_number=quarter.number)

    @classmethod
    def supplementary(cls, year: int, number: int) -> "BookingId":
        return cls(year, supplementary_number=number)

    @property
    def is_supplementary(self) -> bool:
        return self.supplementary_number is not None

    @property
    def kind(self) -> str:
        return "supplementary" if self.is_supplementary else "quarter"

    @property
    def quarter(self) -> Quarter | None:
        return None if self.is_supplementary else Quarter(self.delivery_year, self.quarter_number)

    @property
    def booking_quarter_start(self) -> date:
        """The quarter the booking is made in: its own quarter, or for a supplementary booking the first
        quarter after the delivery year (every quarter of the year is submitted; the deadline is 1 March)."""
        return Quarter(self.delivery_year + 1, 1).start if self.is_supplementary else self.quarter.start

    @property
    def label(self) -> str:
        if self.is_supplementary:
            return f"{self.delivery_year}-S{self.supplementary_number}"
        return self.quarter.label

    def __str__(self) -> str:
        return self.label
