"""Write each partner's reports for a quarter: index.html (the quarter) and year.html (the year to date), under
exports/<YYYY>-Q<n>/reports/<partner_id>/; with statements, also customers/<customer_ref>.html (a printable
statement per customer) and the customer table in index.html that links them.

The quarter run writes no statements: the dashboard renders a customer's statement when asked for, and
600,000 files a quarter that nobody opens cost minutes. A partner who wants the files gets them with
`joulo reports <quarter> --partner <id>`.

Each partner's pages are built from its own queries only. Pages are self-contained (inline CSS, inline
SVG, no scripts, no external images), deterministic for the same warehouse and clock, and a partner whose
report fails does not stop the others."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
from babel.dates import get_month_names
from markupsafe import Markup

from joulo_pipelines.lib import labels, warehouse
from joulo_pipelines.lib.formatting import ERE_PLACES, KWH_PLACES
from joulo_pipelines.lib.partners import Partner, load_registry
from joulo_pipelines.lib.paths import DataDir, write_if_changed
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.reports import queries
from joulo_pipelines.lib.reports.charts import Series, bar_chart
from joulo_pipelines.lib.reports.environment import environment
from joulo_pipelines.lib.reports.statements import (
    OTHER_KWH_COLOUR,
    BatchResult,
    StatementWriters,
    batches,
)

MONTHS = get_month_names("abbreviated", locale="en")  # the partner report is in English
ERE_COLOUR = "#2b9348"
# A partner's report that fails with one of these does not stop the others.
FAILURES = (duckdb.Error, OSError, KeyError, ValueError, BrokenProcessPool)


@dataclass(frozen=True)
class PartnerReport:
    """What the Dagster metadata may show: counts and paths, never a customer."""
    partner_id: str
    state: str  # written | failed
    customers: int = 0
    statements: int = 0
    folder: str = ""
    message: str = ""


def report_folder(data_dir: DataDir, quarter: Quarter, partner_id: str) -> Path:
    return data_dir.exports / quarter.label / "reports" / partner_id


def quarters_to_date(quarter: Quarter) -> list[Quarter]:
    return [Quarter(quarter.year, number) for number in range(1, quarter.number + 1)]


def safe_name(customer_ref: str) -> str:
    """A customer_ref as a file name: anything but letters, digits, '-', '_' and '.' becomes '_'."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in customer_ref)


def write_reports(data_dir: DataDir, quarter: Quarter, as_of: date, partner_id: str | None = None,
                  statements: bool = False) -> list[PartnerReport]:
    """The reports of every partner, or of `partner_id` only; with `statements`, each customer's statement
    and the customer table too."""
    registry = load_registry(data_dir.partners_file)
    partners = registry.partners if partner_id is None else [registry.require(partner_id)]
    results: dict[str, PartnerReport] = {}
    started: dict[str, _StartedReport] = {}
    with warehouse.connect(data_dir, read_only=True) as con, StatementWriters() as writers:
        # Every partner's statements are under way before the first one is waited for.
        for partner in partners:
            try:
                started[partner.id] = start_partner_report(con, writers, data_dir, partner, quarter, as_of,
                                                           statements)
            except FAILURES as exc:
                results[partner.id] = _failed(partner.id, quarter, exc)
        for report in started.values():
            try:
                results[report.partner_id] = report.finish()
            except FAILURES as exc:
                results[report.partner_id] = _failed(report.partner_id, quarter, exc)
    return [results[partner.id] for partner in partners]


def _failed(partner_id: str, quarter: Quarter, exc: Exception) -> PartnerReport:
    # The type only: a database error can quote a row, and rows hold people.
    return PartnerReport(partner_id, "failed",
                         message=f"{type(exc).__name__} while building the {quarter} report of {partner_id}")


def _month_chart(chart_id: str, months: list[dict], partner: Partner, language: str) -> tuple:
    names = [MONTHS[row["month"].month] for row in months]
    kwh = bar_chart(f"{chart_id}-kwh", names, [
        Series("eligible_kwh", "eligible for ERE", partner.brand.colour, [row["eligible_kwh"] for row in months]),
        Series("other_kwh", "not eligible", OTHER_KWH_COLOUR,
               [row["kwh"] - row["eligible_kwh"] for row in months]),
    ], "kWh", language, places=KWH_PLACES)
    ere = bar_chart(f"{chart_id}-ere", names, [Series("ere", "ERE (estimate)", ERE_COLOUR,
                                                       [row["ere"] for row in months])], "ERE", language,
                    places=ERE_PLACES)
    return kwh, ere


def _quarter_figures(con: duckdb.DuckDBPyConnection, data_dir: DataDir, partner: Partner, quarter: Quarter,
                     payout_lines: bool = False) -> dict:
    """The quarter's figures; the payout lines of every customer only when asked (the customer table)."""
    counts, reasons = queries.charge_point_status(con, partner.id, quarter)
    return {
        "quarter": quarter,
        "customers": queries.customer_counts(con, partner.id, quarter),
        "charge_points": counts,
        "reasons": reasons,
        "energy": queries.quarter_energy(con, partner.id, quarter),
        "bookings": queries.bookings(con, partner.id, quarter),
        "payouts": queries.payouts(con, data_dir, partner.id, quarter,
                                   partner.contract_in_force(quarter).payout_model, lines=payout_lines),
    }


def start_partner_report(con: duckdb.DuckDBPyConnection, writers: StatementWriters, data_dir: DataDir,
                         partner: Partner, quarter: Quarter, as_of: date,
                         statements: bool = False) -> _StartedReport:
    """Write the year overview and, with `statements`, hand the partner's customers to the writers; the
    quarter's page waits for the rows of its customer table (_StartedReport.finish)."""
    folder = report_folder(data_dir, quarter, partner.id)
    folder.mkdir(parents=True, exist_ok=True)
    figures = _quarter_figures(con, data_dir, partner, quarter, payout_lines=statements)
    written: list[Future] = []
    if statements:
        customer_rows = queries.customers(con, partner.id, quarter)
        booked = queries.customer_bookings(con, partner.id, quarter)
        payouts = figures["payouts"]
        for row in customer_rows:
            row["booking"] = booked.get(row["customer_ref"])
            row["payout"] = payouts.lines.get(row["customer_ref"])
            row["file"] = f"customers/{safe_name(row['customer_ref'])}.html"
        (folder / "customers").mkdir(exist_ok=True)
        written = writers.write(batches(con, folder, partner, quarter, as_of, customer_rows, payouts))
    else:
        # Statements of an earlier `--partner` run would show figures this run may have changed.
        shutil.rmtree(folder / "customers", ignore_errors=True)
    index, year = _pages(con, data_dir, partner, quarter, as_of, figures)
    write_if_changed(folder / "year.html", year.encode())
    return _StartedReport(partner.id, folder, figures["customers"]["enrolled"], statements, written, index)


@dataclass(frozen=True)
class _StartedReport:
    partner_id: str
    folder: Path
    customers: int
    statements: bool
    written: list[Future]  # of BatchResult, one per batch of statements
    index: dict  # what index.html shows but its customer table

    def finish(self) -> PartnerReport:
        done: list[BatchResult] = [future.result() for future in self.written]
        names = {name for batch in done for name in batch.statements}
        html = environment.get_template("report.html.j2").render(
            self.index, statements=self.statements,
            customer_table_rows=Markup("").join(batch.table_rows for batch in done))
        write_if_changed(self.folder / "index.html", html.encode())
        if self.statements:
            # Customers who left must not keep a statement here. The others' files were just overwritten in
            # place: emptying the folder first would cost a partner of 50,000 as many deletions for nothing.
            for stale in {entry.name for entry in os.scandir(self.folder / "customers")} - names:
                (self.folder / "customers" / stale).unlink()
        return PartnerReport(self.partner_id, "written", customers=self.customers, statements=len(names),
                             folder=str(self.folder))


def _pages(con: duckdb.DuckDBPyConnection, data_dir: DataDir, partner: Partner, quarter: Quarter, as_of: date,
           figures: dict) -> tuple[dict, str]:
    """What index.html (the quarter) shows but its customer table, and year.html (the year to date)."""
    # One pass over the year's sessions serves both: a month's figures do not depend on the range asked.
    year_months = queries.monthly_energy(con, partner.id, date(quarter.year, 1, 1), quarter.end)
    index = quarter_page(con, data_dir, partner, quarter, as_of, figures, year_months)
    year = environment.get_template("year.html.j2").render(
        year_page(con, data_dir, partner, quarter, as_of, figures, year_months))
    return index, year


def _common(partner: Partner, quarter: Quarter, as_of: date, language: str) -> dict:
    return {"partner": partner, "brand": partner.brand, "quarter": quarter, "as_of": as_of, "language": language,
            "last_day": quarter.end - timedelta(days=1)}


def quarter_page(con: duckdb.DuckDBPyConnection, data_dir: DataDir, partner: Partner, quarter: Quarter,
                 as_of: date, figures: dict | None = None, year_months: list[dict] | None = None,
                 language: str = labels.DEFAULT_LANGUAGE) -> dict:
    """What the quarter's page (report.html.j2) shows but its customer table; the dashboard's overview too, in
    the dashboard's language (the report files are for Dutch partners)."""
    figures = figures or _quarter_figures(con, data_dir, partner, quarter)
    if year_months is None:
        year_months = queries.monthly_energy(con, partner.id, quarter.start, quarter.end)
    months = [row for row in year_months if row["month"] >= quarter.start]
    kwh_chart, ere_chart = _month_chart("quarter", months, partner, language)
    return {**_common(partner, quarter, as_of, language), **figures, "months": months, "kwh_chart": kwh_chart,
            "ere_chart": ere_chart, "adjustments": queries.adjustments(con, partner.id, quarter),
            "adjustment_reasons": queries.cleaning_reasons(con),
            "signed": queries.signed_energy(con, partner.id, quarter),
            "freshness": queries.freshness(data_dir, partner.id), "customer_status": labels.CUSTOMER_STATUS}


def year_page(con: duckdb.DuckDBPyConnection, data_dir: DataDir, partner: Partner, quarter: Quarter,
              as_of: date, figures: dict | None = None, year_months: list[dict] | None = None,
              language: str = labels.DEFAULT_LANGUAGE) -> dict:
    """What the year to date's page (year.html.j2) shows, in `language` as quarter_page."""
    if year_months is None:
        year_months = queries.monthly_energy(con, partner.id, date(quarter.year, 1, 1), quarter.end)
    year_quarters = [figures if figures and q == quarter else _quarter_figures(con, data_dir, partner, q)
                     for q in quarters_to_date(quarter)]
    year_kwh_chart, year_ere_chart = _month_chart("year", year_months, partner, language)
    return {
        **_common(partner, quarter, as_of, language), "quarters": year_quarters, "months": year_months,
        "kwh_chart": year_kwh_chart, "ere_chart": year_ere_chart,
        "year_kwh": sum((q["energy"]["kwh"] for q in year_quarters), Decimal(0)),
        "year_eligible_kwh": sum((q["energy"]["eligible_kwh"] for q in year_quarters), Decimal(0)),
        "year_ere": sum((q["energy"]["ere_estimate"] for q in year_quarters), Decimal(0)),
        # Proposals of later quarters hold what earlier unapproved ones would pay: only approved quarters add up.
        "year_paid": sum(q["payouts"].totals.get("paid_cents", 0) for q in year_quarters
                         if q["payouts"].state == "approved")}
