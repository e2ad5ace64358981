"""The watches on a delivery year's two statements (deadline.py's `verifier_statement` and `nea_statement`):
quiet while a statement is recorded or its last day is far, a warning from `warn_days()` before it, a failure
once it has passed with the statement not recorded.

Whether a statement is recorded is the verification year's to say: `recorded_statements` is the one hook that
asks it, and the watches take the answer as a plain set of step names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from joulo_pipelines.lib.registration.deadline import DESCRIPTIONS, last_day, warn_days
from joulo_pipelines.lib.verification.status import year_status

STATEMENT_STEPS = ("verifier_statement", "nea_statement")


@dataclass(frozen=True)
class StatementWatch:
    step: str
    delivery_year: int
    last_day: date
    days_left: int  # to the last day: 0 on it, negative once it has passed
    recorded: bool

    @property
    def is_overdue(self) -> bool:
        return not self.recorded and self.days_left < 0

    @property
    def needs_attention(self) -> bool:
        return not self.recorded and self.days_left <= warn_days()

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.step]


def statement_watches(delivery_year: int, today: date, recorded: set[str]) -> list[StatementWatch]:
    """`recorded`: the steps of STATEMENT_STEPS whose statement is recorded for the year."""
    return [StatementWatch(step, delivery_year, last_day(step, delivery_year),
                           (last_day(step, delivery_year) - today).days, step in recorded)
            for step in STATEMENT_STEPS]


def recorded_statements(con: duckdb.DuckDBPyConnection, delivery_year: int) -> set[str]:
    """The statements recorded for the year, as the verification year's status says (none before it keeps any)."""
    status = year_status(con, delivery_year)
    return {step for step, done in (("verifier_statement", status.statement_issued),
                                    ("nea_statement", status.reported)) if done}
