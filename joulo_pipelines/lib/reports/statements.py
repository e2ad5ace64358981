"""What a report holds per customer, rendered in worker processes: the quarterly statement
(customers/<customer_ref>.html) and the customer's row in the partner's customer table (index.html).

A national quarter has ~600,000 customers: their statements and rows take ~0.3 ms of Python each, too much
for one core. A partner's customers go out in batches to worker processes, which write the statements and
send the table rows back, while the parent goes on with the next partner's queries and pages. A partner
with a single batch is done in the parent: starting a worker would cost more than its customers take."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import duckdb
from babel.dates import get_month_names
from jinja2 import Template
from markupsafe import Markup

from joulo_pipelines.lib import labels
from joulo_pipelines.lib.formatting import KWH_PLACES
from joulo_pipelines.lib.partners import Partner
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.reports import queries
from joulo_pipelines.lib.reports.charts import Series, bar_chart
from joulo_pipelines.lib.reports.environment import environment

STATEMENTS_PER_BATCH = 5_000
OTHER_KWH_COLOUR = "#c9ccd1"


@dataclass(frozen=True)
class StatementBatch:
    """What one batch of statements shows, and nothing of the partner's other customers."""
    folder: Path
    partner: Partner
    quarter: Quarter
    as_of: date
    payouts: queries.Payouts  # holding the lines of this batch's customers only
    customers: list[dict]  # report rows, each with its "charge_points" and "months"


def batches(con: duckdb.DuckDBPyConnection, folder: Path, partner: Partner, quarter: Quarter, as_of: date,
            customer_rows: list[dict], payouts: queries.Payouts) -> list[StatementBatch]:
    points = queries.charge_points_by_customer(con, partner.id, quarter)
    monthly: dict[str, list] = {}
    for row in queries.monthly_energy(con, partner.id, quarter.start, quarter.end, by_customer=True):
        monthly.setdefault(row["customer_ref"], []).append(row)
    result = []
    for first in range(0, len(customer_rows), STATEMENTS_PER_BATCH):
        rows = customer_rows[first:first + STATEMENTS_PER_BATCH]
        refs = [row["customer_ref"] for row in rows]
        result.append(StatementBatch(
            folder, partner, quarter, as_of,
            replace(payouts, lines={ref: payouts.lines[ref] for ref in refs if ref in payouts.lines}),
            [{**row, "charge_points": points.get(row["customer_ref"], []),
              "months": monthly.get(row["customer_ref"], empty_months(quarter))} for row in rows]))
    return result


def empty_months(quarter: Quarter) -> list[dict]:
    """The statement's months of a customer without sessions in the quarter."""
    return [{"month": date(quarter.year, quarter.start.month + i, 1), "kwh": Decimal(0),
             "eligible_kwh": Decimal(0), "ere": Decimal(0)} for i in range(3)]


class StatementWriters:
    """Hands batches to worker processes, started on first need and shared by all partners of a run."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> StatementWriters:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def write(self, statement_batches: list[StatementBatch]) -> list[Future]:
        """Futures of each batch's result (write_batch); a single batch is written before this returns."""
        cores = len(os.sched_getaffinity(0))
        if len(statement_batches) < 2 or cores < 2:
            return [_done(write_batch(batch)) for batch in statement_batches]
        if self._pool is None:
            # Spawned, not forked: the parent holds a DuckDB connection and its threads.
            self._pool = ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("spawn"))
        return [self._pool.submit(write_batch, batch) for batch in statement_batches]


def _done(result: BatchResult) -> Future:
    future: Future = Future()
    future.set_result(result)
    return future


@cache
def _month_names(language: str) -> dict:
    return get_month_names("abbreviated", locale=language)


@dataclass(frozen=True)
class BatchResult:
    statements: list[str]  # the file names written, relative to customers/
    table_rows: Markup  # the batch's rows of the customer table


def write_batch(batch: StatementBatch) -> BatchResult:
    """Write the batch's statements and render its rows of the customer table."""
    names = []
    for row in batch.customers:
        html = render_statement(batch.partner, batch.quarter, batch.as_of, row, batch.payouts)
        _overwrite(batch.folder / row["file"], html.encode())
        names.append(row["file"].removeprefix("customers/"))
    table_rows = environment.get_template("_customer_rows.html.j2").render(
        customer_rows=batch.customers, customer_status=labels.CUSTOMER_STATUS)
    return BatchResult(names, Markup(table_rows))


def render_statement(partner: Partner, quarter: Quarter, as_of: date, row: dict, payouts: queries.Payouts,
                     template: Template | None = None, **extra) -> str:
    """A customer's statement: `row` is their report row with its "charge_points" and "months"; the dashboard
    renders it on demand in a template extending statement.html.j2, with what that one shows in `extra`."""
    language = labels.language(row["language"])
    months = row["months"]
    month_names = _month_names(language)
    chart = bar_chart("statement-kwh", [month_names[m["month"].month] for m in months], [
        Series("eligible_kwh", labels.STATEMENT[language]["eligible_kwh"], partner.brand.colour,
               [m["eligible_kwh"] for m in months]),
        Series("other_kwh", labels.STATEMENT[language]["does_not_count"], OTHER_KWH_COLOUR,
               [m["kwh"] - m["eligible_kwh"] for m in months])], "kWh", language, places=KWH_PLACES, width=520,
        height=200)
    return (template or environment.get_template("statement.html.j2")).render(
        partner=partner, brand=partner.brand, quarter=quarter, as_of=as_of,
        last_day=quarter.end - timedelta(days=1), customer=row, charge_points=row["charge_points"],
        chart=chart, payouts=payouts, iban=row["iban_masked"] if payouts.payout_model == "direct" else None,
        t=labels.STATEMENT[language], reasons=labels.STATEMENT_REASONS[language], language=language,
        next_steps=next_steps(row, language), **extra)


def next_steps(row: dict, language: str) -> list[str]:
    """What the customer can do, once per reason, when their status is action_needed: the reasons of their
    charge points that one fix would make count (every reason of such a point can be fixed)."""
    if row["status"] != "action_needed":
        return []
    codes = dict.fromkeys(code for point in row["charge_points"] if point["eligibility_status"] == "action_needed"
                          for code in point["reasons"].split(";") if code)
    return [labels.STATEMENT_NEXT_STEPS[language][code] for code in codes]


def _overwrite(path: Path, content: bytes) -> None:
    """Write over the file in place and cut what is left of the old one. A rebuild finds most statements
    there already, and emptying a file before writing it again costs the file system several times more."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as file:
        file.write(content)
        file.truncate()
