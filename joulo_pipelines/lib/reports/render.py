"""Write each partner's reports for a quarter: index.html (the quarter), year.html (the year to date) and
customers/<customer_ref>.html (a printable statement per customer), under
exports/<YYYY>-Q<n>/reports/<partner_id>/.

Each partner's pages are built from its own queries only. Pages are self-contained (inline CSS, inline
SVG, no scripts, no external images), deterministic for the same warehouse and clock, and a partner whose
report fails does not stop the others."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
from babel.dates import get_month_names
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from joulo_pipelines.lib.partners import Partner, load_registry
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.reports import formatting, labels, queries
from joulo_pipelines.lib.reports.charts import Series, bar_chart

TEMPLATES = Path(__file__).parent / "templates"
MONTHS = get_month_names("abbreviated", locale="en")  # the partner report is in English
OTHER_KWH_COLOUR = "#c9ccd1"
ERE_COLOUR = "#2b9348"

_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                           undefined=StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
                           lstrip_blocks=True)
_environment.filters.update(eur=formatting.eur, number=formatting.number, percent=formatting.percent,
                            local_time=formatting.local_time, day=formatting.day,
                            sentence=lambda text: text[:1].upper() + text[1:], text_on=formatting.text_on)


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


def write_reports(data_dir: DataDir, quarter: Quarter, as_of: date) -> list[PartnerReport]:
    registry = load_registry(data_dir.partners_file)
    results = []
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        for partner in registry.partners:
            try:
                results.append(write_partner_report(con, data_dir, partner, quarter, as_of))
            except (duckdb.Error, OSError, KeyError, ValueError) as exc:
                # The type only: a database error can quote a row, and rows hold people.
                results.append(PartnerReport(partner.id, "failed", message=f"{type(exc).__name__} while building "
                                                                           f"the {quarter} report of {partner.id}"))
    return results


def _month_chart(chart_id: str, months: list[dict], partner: Partner) -> tuple:
    names = [MONTHS[row["month"].month] for row in months]
    kwh = bar_chart(f"{chart_id}-kwh", names, [
        Series("eligible_kwh", "eligible for ERE", partner.brand.colour, [row["eligible_kwh"] for row in months]),
        Series("other_kwh", "not eligible", OTHER_KWH_COLOUR, [row["kwh"] - row["eligible_kwh"] for row in months]),
    ], "kWh")
    ere = bar_chart(f"{chart_id}-ere", names, [Series("ere", "ERE (estimate)", ERE_COLOUR,
                                                       [row["ere"] for row in months])], "ERE")
    return kwh, ere


def _quarter_figures(con: duckdb.DuckDBPyConnection, data_dir: DataDir, partner: Partner, quarter: Quarter) -> dict:
    counts, reasons = queries.charge_point_status(con, partner.id, quarter)
    return {
        "quarter": quarter,
        "customers": queries.customer_counts(con, partner.id, quarter),
        "charge_points": counts,
        "reasons": reasons,
        "energy": queries.quarter_energy(con, partner.id, quarter),
        "bookings": queries.bookings(con, partner.id, quarter),
        "payouts": queries.payouts(con, data_dir, partner.id, quarter),
    }


def write_partner_report(con: duckdb.DuckDBPyConnection, data_dir: DataDir, partner: Partner, quarter: Quarter,
                         as_of: date) -> PartnerReport:
    folder = report_folder(data_dir, quarter, partner.id)
    figures = _quarter_figures(con, data_dir, partner, quarter)
    months = queries.monthly_energy(con, partner.id, quarter.start, quarter.end)
    customer_rows = queries.customers(con, partner.id, quarter)
    booked = queries.customer_bookings(con, partner.id, quarter)
    payouts = figures["payouts"]
    for row in customer_rows:
        row["booking"] = booked.get(row["customer_ref"])
        row["payout"] = payouts.lines.get(row["customer_ref"])
        row["file"] = f"customers/{safe_name(row['customer_ref'])}.html"
    kwh_chart, ere_chart = _month_chart("quarter", months, partner)
    common = {"partner": partner, "brand": partner.brand, "quarter": quarter, "as_of": as_of,
              "last_day": quarter.end - timedelta(days=1)}
    pages = {"index.html": _environment.get_template("report.html.j2").render(
        {**common, **figures}, months=months, kwh_chart=kwh_chart, ere_chart=ere_chart,
        adjustments=queries.adjustments(con, partner.id, quarter),
        adjustment_reasons=labels.ADJUSTMENT_REASONS,
        signed=queries.signed_energy(con, partner.id, quarter),
        freshness=queries.freshness(data_dir, partner.id),
        customer_rows=customer_rows, customer_status=labels.CUSTOMER_STATUS)}

    year_quarters = [figures if q == quarter else _quarter_figures(con, data_dir, partner, q)
                     for q in quarters_to_date(quarter)]
    year_months = queries.monthly_energy(con, partner.id, date(quarter.year, 1, 1), quarter.end)
    year_kwh_chart, year_ere_chart = _month_chart("year", year_months, partner)
    pages["year.html"] = _environment.get_template("year.html.j2").render(
        **common, quarters=year_quarters, months=year_months, kwh_chart=year_kwh_chart, ere_chart=year_ere_chart,
        year_kwh=sum((q["energy"]["kwh"] for q in year_quarters), Decimal(0)),
        year_eligible_kwh=sum((q["energy"]["eligible_kwh"] for q in year_quarters), Decimal(0)),
        year_ere=sum((q["energy"]["ere_estimate"] for q in year_quarters), Decimal(0)),
        # Proposals of later quarters hold what earlier unapproved ones would pay: only approved quarters add up.
        year_paid=sum(q["payouts"].totals.get("paid_cents", 0) for q in year_quarters
                      if q["payouts"].state == "approved"))

    statements = _statements(con, partner, quarter, as_of, customer_rows, payouts)
    if folder.exists():
        shutil.rmtree(folder)  # customers who left must not keep a statement here
    (folder / "customers").mkdir(parents=True)
    for name, html in {**pages, **statements}.items():
        (folder / name).write_text(html, encoding="utf-8")
    return PartnerReport(partner.id, "written", customers=len(customer_rows), statements=len(statements),
                         folder=str(folder))


def _statements(con: duckdb.DuckDBPyConnection, partner: Partner, quarter: Quarter, as_of: date,
                customer_rows: list[dict], payouts: queries.Payouts) -> dict[str, str]:
    points = queries.charge_points_by_customer(con, partner.id, quarter)
    monthly: dict[str, list] = {}
    for row in queries.monthly_energy(con, partner.id, quarter.start, quarter.end, by_customer=True):
        monthly.setdefault(row["customer_ref"], []).append(row)
    template = _environment.get_template("statement.html.j2")
    empty_months = [{"month": date(quarter.year, quarter.start.month + i, 1), "kwh": Decimal(0),
                     "eligible_kwh": Decimal(0), "ere": Decimal(0)} for i in range(3)]
    pages = {}
    for row in customer_rows:
        language = row["language"] if row["language"] in labels.STATEMENT else "nl"
        months = monthly.get(row["customer_ref"], empty_months)
        month_names = get_month_names("abbreviated", locale=language)
        chart = bar_chart("statement-kwh", [month_names[m["month"].month] for m in months], [
            Series("eligible_kwh", labels.STATEMENT[language]["eligible_kwh"], partner.brand.colour,
                   [m["eligible_kwh"] for m in months]),
            Series("other_kwh", labels.STATEMENT[language]["does_not_count"], OTHER_KWH_COLOUR,
                   [m["kwh"] - m["eligible_kwh"] for m in months])], "kWh", width=520, height=200)
        pages[row["file"]] = template.render(
            partner=partner, brand=partner.brand, quarter=quarter, as_of=as_of, last_day=quarter.end - timedelta(days=1),
            customer=row,
            charge_points=points.get(row["customer_ref"], []), chart=chart, payouts=payouts,
            iban=row["iban_masked"] if partner.payout_model == "direct" else None,
            t=labels.STATEMENT[language], reasons=labels.STATEMENT_REASONS[language], language=language)
    return pages
