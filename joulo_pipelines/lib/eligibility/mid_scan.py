"""The MID scan: how many of a partner's charge points qualify for ERE as sold, after a check of the charger,
with an external MID meter, or not at all.

For a prospect (`joulo mid-scan charge_points.csv [--customers] [--sessions]`) it reads their exports in
the file contract's format without onboarding them; for an onboarded partner the Dagster asset feeds it
the warehouse's eligibility instead. Either way the result is one row per charge point (status, reasons,
actions, estimated annual kWh) written as mid_scan.csv (for Dutch Excel: `;`, decimal comma, BOM), and a
self-contained mid_scan.html for sales, in the partner's brand and in Dutch or English (mid_scan_words.py).

A prospect has not mandated us yet, so the mandate and the payout IBAN are not scanned, and a meter serial
the prospect does not have yet is "to check at onboarding", not a gap: those come with onboarding. Money is
Decimal; ERE and euros are estimates, rounded to cents once, at the end.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import duckdb
import pandas as pd
from babel.numbers import format_decimal
from markupsafe import Markup, escape

from joulo_pipelines.lib import formatting, people_csv, templating, warehouse
from joulo_pipelines.lib.eligibility import mid_scan_words
from joulo_pipelines.lib.eligibility.mid_register import (
    UNMATCHED,
    match_pairs,
    mid_reason,
)
from joulo_pipelines.lib.eligibility.rules import (
    ean_problem,
    is_dutch_postal_code,
    reasons,
    status_for,
)
from joulo_pipelines.lib.partners import Brand, load_registry
from joulo_pipelines.lib.paths import DataDir, write_if_changed
from joulo_pipelines.lib.reports.colours import text_on

TEMPLATES = Path(__file__).parent / "templates"
# Stated in the report when no sessions are given: a typical Dutch home charger's year [assumption].
TYPICAL_ANNUAL_KWH = Decimal("2500")
DEFAULT_PRICE_PER_ERE = Decimal("0.45")
# The four groups a sales team reads, in the page's order.
GROUPS = ("as_sold", "unit_check", "external_meter", "cannot_qualify")
UNIT_CHECK_REASONS = {"mid_unit_check_needed", "mid_evidence_missing"}
CSV_COLUMNS = ["charge_point_ref", "customer_ref", "brand", "model", "mid_status", "group", "status", "reasons",
               "actions", "to_check_at_onboarding", "annual_kwh", "kwh_basis"]
DEFAULT_BRAND = Brand(display_name="Joulo", sender_email="scan@joulo.nl")
CENT = Decimal("0.01")


class MidScanInputError(ValueError):
    pass


@dataclass
class ScanSummary:
    title: str
    delivery_year: int
    price_per_ere: Decimal
    ere_per_kwh: Decimal
    kwh_basis: str
    counts: dict[str, int]  # group -> charge points
    reason_counts: list[tuple[str, int]]  # (reason, charge points)
    unmatched: list[tuple[str, str, int]]  # (brand, model, charge points)
    annual: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # group -> kwh, ere, eur

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def ere_per_kwh_for(data_dir: DataDir, year: int) -> Decimal:
    """The delivery year's ERE per kWh as the warehouse computes it from the seed ere_parameters
    (marts.dim_ere_factors), so the scan estimates with the factor booking uses; a missing year is an error."""
    row = None
    if data_dir.warehouse.exists():
        with warehouse.connect(data_dir, read_only=True) as con:
            if warehouse.has_table(con, "marts", "dim_ere_factors"):
                row = con.execute("select ere_per_kwh from marts.dim_ere_factors where delivery_year = ?",
                                  [year]).fetchone()
    if row is None:
        raise MidScanInputError(
            f"no ERE factor for delivery year {year} in marts.dim_ere_factors of {data_dir.warehouse}: build the "
            f"warehouse (joulo run --quarter {year}-Q1), add the year (with its source) to "
            f"data/reference/ere_parameters.csv, or scan for a year that has one (--year)")
    return row[0]


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, table: str, required: list[str]) -> list[str]:
    """Load a contract-format CSV as text columns with lower-case names; the columns it has are returned."""
    if not path.is_file():
        raise MidScanInputError(f"{path}: file not found")
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        con.execute(f"create table {table}_raw as select * from read_csv(?, delim=?, header=true, all_varchar=true, "
                    f"normalize_names=false, encoding='utf-8')", [str(path), delimiter])
    except duckdb.Error as exc:
        raise MidScanInputError(f"{path}: cannot be read as CSV ({exc})") from None
    columns = [row[0] for row in con.execute(f"describe {table}_raw").fetchall()]
    names = {c: c.strip().lower().lstrip("\ufeff") for c in columns}
    missing = [c for c in required if c not in names.values()]
    if missing:
        raise MidScanInputError(f"{path}: required column(s) {', '.join(missing)} missing; the header has "
                                f"{', '.join(names.values())} (see the partner file contract)")
    select = ", ".join(f"nullif(trim(\"{c}\"), '') as \"{n}\"" for c, n in names.items())
    con.execute(f"create table {table} as select row_number() over () + 1 as line, {select} from {table}_raw")
    for column in required:
        empty = [line for (line,) in con.execute(
            f"select line from {table} where \"{column}\" is null order by line limit 5").fetchall()]
        if empty:
            raise MidScanInputError(f"{path}: row(s) {', '.join(map(str, empty))}: column {column} is empty; "
                                    f"it is required")
    con.execute(f"set variable {table}_decimal_comma = {str(delimiter == ';').lower()}")
    return list(names.values())


def scan_prospect(charge_points_csv: Path, customers_csv: Path | None = None, sessions_csv: Path | None = None,
                  typical_annual_kwh: Decimal = TYPICAL_ANNUAL_KWH) -> pd.DataFrame:
    """One row per charge point of a prospect's files: status, every reason, actions, annual kWh."""
    con = duckdb.connect()
    try:
        cp_columns = _read_csv(con, charge_points_csv, "charge_points", ["charge_point_ref", "brand", "model"])
        for optional in ("customer_ref", "meter_serial", "mid_certificate"):
            if optional not in cp_columns:
                con.execute(f"alter table charge_points add column {optional} varchar")
        points = con.execute("select charge_point_ref, customer_ref, brand, model, meter_serial, mid_certificate "
                             "from charge_points order by line").df()
        if points.empty:
            raise MidScanInputError(f"{charge_points_csv}: no charge points, only a header; nothing to scan")
        duplicates = points["charge_point_ref"][points["charge_point_ref"].duplicated()].unique().tolist()
        if duplicates:
            raise MidScanInputError(f"{charge_points_csv}: charge_point_ref repeated: {', '.join(duplicates[:5])}; "
                                    f"each charge point once")
        pairs = list(points[["brand", "model"]].drop_duplicates().itertuples(index=False, name=None))
        verdicts = {pair: m.mid_status for pair, m in zip(pairs, match_pairs(pairs))}
        points["mid_status"] = [verdicts[(b, m)] for b, m in zip(points["brand"], points["model"])]
        reasons_of = (mid_reason(status, certificate is not None)
                      for status, certificate in zip(points["mid_status"], points["mid_certificate"]))
        reason_lists: list[list[str]] = [[reason] if reason else [] for reason in reasons_of]
        points["to_check_at_onboarding"] = ["meter_serial" if serial is None else ""
                                            for serial in points["meter_serial"]]
        if customers_csv is not None:
            _add_customer_reasons(con, customers_csv, points, reason_lists)
        points["annual_kwh"], points["kwh_basis"] = _annual_kwh(con, sessions_csv, points, typical_annual_kwh)
    finally:
        con.close()
    catalogue = reasons()
    points["status"] = [status_for(r) for r in reason_lists]
    points["reasons"] = [";".join(r) for r in reason_lists]
    points["actions"] = ["; ".join(catalogue[code].action for code in r) for r in reason_lists]
    points["group"] = [group_for(status, reason) for status, reason in zip(points["status"], points["reasons"])]
    return points[CSV_COLUMNS]


def group_for(status: str, reason_codes: str) -> str:
    """The sales group of a charge point from its status and its reasons (';'-separated): what the MID meter
    needs decides it; other fixable gaps (an EAN, a customer) are listed beside it."""
    codes = set(reason_codes.split(";"))
    if status == "not_eligible":
        return "cannot_qualify"
    if "mid_external_meter_needed" in codes:
        return "external_meter"
    if codes & UNIT_CHECK_REASONS:
        return "unit_check"
    return "as_sold"


def _add_customer_reasons(con: duckdb.DuckDBPyConnection, path: Path, points: pd.DataFrame,
                          reason_lists: list[list[str]]) -> None:
    columns = _read_csv(con, path, "customers", ["customer_ref"])
    for optional in ("ean", "postal_code"):
        if optional not in columns:
            con.execute(f"alter table customers add column {optional} varchar")
    customers = con.execute(
        "select customer_ref, any_value(ean) as ean, any_value(postal_code) as postal_code, "
        "count(*) over (partition by any_value(ean)) as customers_on_ean from customers group by customer_ref").df()
    by_ref = {row.customer_ref: row for row in customers.itertuples(index=False)}
    for i, customer_ref in enumerate(points["customer_ref"]):
        customer = by_ref.get(customer_ref)
        if customer is None:
            reason_lists[i].append("customer_unknown")
            continue
        if ean_problem(customer.ean) is not None:
            reason_lists[i].append("ean_invalid")
        if not is_dutch_postal_code(customer.postal_code):
            reason_lists[i].append("postal_code_invalid")
        if customer.ean is not None and customer.customers_on_ean > 1:
            reason_lists[i].append("ean_claimed_twice")


def _annual_kwh(con: duckdb.DuckDBPyConnection, sessions_csv: Path | None, points: pd.DataFrame,
                typical: Decimal) -> tuple[list[Decimal], list[str]]:
    """kWh per year per charge point: the sessions' total scaled from the period they cover to 365 days,
    in SQL over all sessions at once; without sessions, the stated typical year."""
    if sessions_csv is None:
        return [typical] * len(points), ["typical"] * len(points)
    columns = _read_csv(con, sessions_csv, "sessions", ["charge_point_ref", "started_at", "ended_at"])
    for optional in ("meter_start_wh", "meter_stop_wh", "energy_kwh", "energy_export_kwh"):
        if optional not in columns:
            con.execute(f"alter table sessions add column {optional} varchar")
    number = "try_cast(replace({0}, ',', '.') as decimal(18, 6))" if con.execute(
        "select getvariable('sessions_decimal_comma')").fetchone()[0] else "try_cast({0} as decimal(18, 6))"
    per_point = con.execute(f"""
        with energy as (
            select charge_point_ref,
                   try_cast(started_at as timestamptz) as started_at,
                   try_cast(ended_at as timestamptz) as ended_at,
                   coalesce((try_cast(meter_stop_wh as bigint) - try_cast(meter_start_wh as bigint)) * 0.001,
                            {number.format('energy_kwh')}, 0)
                       - coalesce({number.format('energy_export_kwh')}, 0) as kwh
            from sessions
        ),
        span as (
            select greatest(date_diff('second', min(started_at), max(ended_at)) / 86400.0, 1) as days from energy
        )
        select charge_point_ref, cast(sum(kwh) * 365 / any_value(span.days) as decimal(18, 3)) as annual_kwh
        from energy cross join span
        group by charge_point_ref
    """).fetchall()
    annual = {ref: kwh for ref, kwh in per_point}
    return [annual.get(ref, Decimal("0.000")) for ref in points["charge_point_ref"]], ["sessions"] * len(points)


def summarise(scan: pd.DataFrame, title: str, delivery_year: int, ere_per_kwh: Decimal,
              price_per_ere: Decimal) -> ScanSummary:
    counts = {group: int((scan["group"] == group).sum()) for group in GROUPS}
    exploded = scan.assign(reason=scan["reasons"].str.split(";")).explode("reason")
    exploded = exploded[exploded["reason"].fillna("") != ""]
    reason_counts = sorted(((reason, int(n)) for reason, n in
                            exploded.groupby("reason")["charge_point_ref"].nunique().items()),
                           key=lambda item: (-item[1], item[0]))
    unmatched_rows = scan[scan["mid_status"] == UNMATCHED]
    unmatched = sorted((str(b), str(m), int(n)) for (b, m), n in
                       unmatched_rows.groupby(["brand", "model"])["charge_point_ref"].count().items())
    annual = {}
    for group in GROUPS:
        kwh = sum((Decimal(str(v)) for v in scan.loc[scan["group"] == group, "annual_kwh"]), Decimal(0))
        ere = kwh * ere_per_kwh
        annual[group] = {"kwh": kwh.quantize(Decimal(1)), "ere": ere.quantize(Decimal(1)),
                         "eur": (ere * price_per_ere).quantize(CENT, rounding=ROUND_HALF_EVEN)}
    basis = ", ".join(sorted(scan["kwh_basis"].unique())) or "typical"
    return ScanSummary(title, delivery_year, price_per_ere, ere_per_kwh, basis, counts, reason_counts, unmatched,
                       annual)


def _words(lang: str) -> dict:
    """The page's words and figure formats for one language."""
    if lang not in mid_scan_words.LANGUAGES:
        raise MidScanInputError(f"language {lang!r}; accepted: {', '.join(mid_scan_words.LANGUAGES)}")
    catalogue = reasons()
    reason_words = mid_scan_words.REASONS[lang]
    return {
        "t": mid_scan_words.PAGE[lang], "lang": lang,
        # Yearly estimates, rounded to whole kWh and ERE in summarise: written without decimals.
        "number": lambda value: formatting.number(value, 0, lang),
        "factor": lambda value: format_decimal(Decimal(value), format="0.######", locale=formatting.LOCALES[lang]),
        "eur": lambda value: formatting.eur(int(Decimal(value).scaleb(2)), lang),
        "price": lambda value: formatting.price_per_ere(value, lang),
        "seen": lambda code: reason_words.get(code, (catalogue[code].rule, ""))[0],
        "helps": lambda code: reason_words.get(code, ("", catalogue[code].action))[1],
    }


def write_scan(scan: pd.DataFrame, summary: ScanSummary, out_dir: Path, brand: Brand = DEFAULT_BRAND,
               lang: str = "en") -> tuple[Path, Path]:
    """mid_scan.csv (one row per charge point) and mid_scan.html (self-contained, in the partner's brand and
    the language asked) in out_dir."""
    words = _words(lang)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = out_dir / "mid_scan.csv", out_dir / "mid_scan.html"
    listed = scan.sort_values("charge_point_ref").astype(object)
    listed = listed.where(listed.notna(), None)
    listed["annual_kwh"] = [formatting.spreadsheet_number(Decimal(str(v)), formatting.KWH_PLACES)
                            for v in listed["annual_kwh"]]
    # unchanged figures (a late file of other charge points): the files keep their bytes and times
    write_if_changed(csv_path, people_csv.dutch_excel(list(listed.columns), listed.itertuples(index=False)))
    html = templating.environment(TEMPLATES).get_template("mid_scan.html.j2").render(
        summary=summary, charge_point_rows=_charge_point_rows(scan, words), groups=GROUPS, brand=brand,
        header_text=text_on(brand.colour), typical_annual_kwh=TYPICAL_ANNUAL_KWH, **words)
    write_if_changed(html_path, html.encode("utf-8"))
    return csv_path, html_path


def _charge_point_rows(scan: pd.DataFrame, words: dict) -> Markup:
    """The rows of the page's table of every charge point, by group, then reference. Written here rather than
    by a loop of the template: a national partner's table has hundreds of thousands of rows, and Jinja's
    escaping of each of their cells was most of the scan's time. A value that repeats (a charger, a group, a
    list of reasons, a yearly kWh) is escaped or formatted once."""
    t, order = words["t"], {group: i for i, group in enumerate(GROUPS)}
    groups = {group: (escape(group), escape(t[group])) for group in GROUPS}
    chargers = functools.cache(lambda brand, model: escape(f"{brand} {model}"))
    actions = functools.cache(lambda codes: escape(" ".join(words["helps"](code) for code in codes.split(";") if code)))
    kwh = functools.cache(lambda value: escape(words["number"](value)))
    at_onboarding = escape(t["at_onboarding"])
    rows = scan.assign(order=scan["group"].map(order)).sort_values(["order", "charge_point_ref"])
    html = []
    for ref, brand, model, group, reasons_, check, annual_kwh in zip(
            rows["charge_point_ref"], rows["brand"], rows["model"], rows["group"], rows["reasons"],
            rows["to_check_at_onboarding"], rows["annual_kwh"]):
        group_class, group_text = groups[group]
        html.append(f'\n  <tr class="{group_class}-row" data-group="{group_class}"><td>{escape(ref)}</td>'
                    f"<td>{chargers(brand, model)}</td><td>{group_text}</td>\n      <td>{actions(reasons_)}</td>\n"
                    f"      <td>{at_onboarding if 'meter_serial' in check else ''}</td>\n"
                    f'      <td class="num">{kwh(annual_kwh)}</td></tr>\n  ')
    return Markup("".join(html))


def scan_files(data_dir: DataDir, charge_points_csv: Path, customers_csv: Path | None, sessions_csv: Path | None,
               price_per_ere: Decimal, out_dir: Path, delivery_year: int, title: str | None = None,
               partner_id: str | None = None, lang: str = "en") -> ScanSummary:
    """The `joulo mid-scan` command: scan a prospect's files and write mid_scan.csv and mid_scan.html, at
    the ERE factor of the data dir's warehouse, branded for the partner who runs it (from the registry)."""
    brand = DEFAULT_BRAND
    if partner_id is not None:
        brand = load_registry(data_dir.partners_file).require(partner_id).brand
    _words(lang)  # an unknown language fails before any work
    scan = scan_prospect(charge_points_csv, customers_csv, sessions_csv)
    ere_per_kwh = ere_per_kwh_for(data_dir, delivery_year)
    summary = summarise(scan, title or charge_points_csv.stem, delivery_year, ere_per_kwh, price_per_ere)
    write_scan(scan, summary, out_dir, brand, lang)
    return summary
