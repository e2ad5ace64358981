"""Quarters as people say them (2026-Q1) and as Dagster keys them (2026-01-01)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_LABEL = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> "Quarter":
        """Accepts `2026-Q1`, `2026Q1` or the partition key `2026-01-01` (a quarter's first day)."""
        match = _LABEL.match(text.strip())
        if match:
            return cls(int(match.group(1)), int(match.group(2)))
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a quarter; use 2026-Q1 or its first day 2026-01-01") from None
        if day.day != 1 or day.month not in (1, 4, 7, 10):
            raise ValueError(f"{text!r} is not the first day of a quarter (01-01, 04-01, 07-01 or 10-01); use 2026-Q1 or 2026-01-01")
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def containing(cls, day: date) -> "Quarter":
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def start(self) -> date:
        return date(self.year, 3 * (self.number - 1) + 1, 1)

    @property
    def end(self) -> date:
        """First day after the quarter (half-open window)."""
        return self.next().start

    @property
    def partition_key(self) -> str:
        return self.start.isoformat()

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.number}"

    def next(self) -> "Quarter":
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    def __str__(self) -> str:
        return self.label
