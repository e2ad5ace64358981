"""Partner reports on the demo world, rendered in headless Chromium: the figures on the page equal the
warehouse's (queried here independently), a customer's statement (written by `joulo reports Q --partner P`
only: the quarter run leaves statements to the dashboard) shows that customer's figures and prints, and no
partner's report folder holds a customer, EAN, name, email or IBAN of another partner."""

from __future__ import annotations

import csv
import re
import shutil
from datetime import date
from decimal import Decimal
from html import unescape
from pathlib import Path

import duckdb

from chromium import dump_dom, run_chromium, screenshot
from joulo_pipelines import cli
from joulo_pipelines.lib.payouts.service import run_quarter
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.reports.render import write_reports
from payouts_world import issue

QUARTER, START = "2026-Q2", "2026-04-01"
PARTNERS = ("voltnet", "laadwerk", "groenstroom")


def figures(dom: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="([a-z_]+)" data-value="([^"]*)"', dom))


def rows(dom: str, key: str) -> dict[str, dict[str, str]]:
    """Elements with data-<key>="X" and their other data-* attributes, by X."""
    found = {}
    for attributes in re.findall(rf'<[a-z]+ (data-{key}="[^"]*"[^>]*)>', dom):
        values = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', attributes))
        found.setdefault(unescape(values[key]), {}).update(values)
    return found


def warehouse(data_dir):
    return duckdb.connect(str(data_dir.warehouse), read_only=True)


def folder(data_dir, partner_id: str, quarter: str = QUARTER) -> Path:
    return data_dir.exports / quarter / "reports" / partner_id


def issue_and_report(data_dir, partner: str, *bookings: str) -> None:
    """Only issued units are paid: the bookings submitted and issued by the register, then the payouts
    stage's proposal and the partner's reports of the quarter written again, with its statements."""
    issue(data_dir, *bookings)
    run_quarter(data_dir, Quarter.parse(QUARTER))
    assert cli.main(["reports", QUARTER, "--partner", partner]) == 0


def test_the_quarter_report_in_chromium_shows_the_warehouses_figures(demo_world_copy, tmp_path):
    data_dir, partner = demo_world_copy, "voltnet"
    issue_and_report(data_dir, partner, "2026-Q1")  # the quarter's proposal pays Q1's issued units
    page = folder(data_dir, partner) / "index.html"
    width, height = screenshot(page, tmp_path / "report.png", tmp_path / "profile")
    assert (width, height) == (1280, 2400)
    assert (tmp_path / "report.png").stat().st_size > 60_000, "the screenshot is blank or nearly so"
    dom = dump_dom(page, tmp_path / "profile")
    shown = figures(dom)
    params = {"partner": partner, "start": START}
    with warehouse(data_dir) as con:
        def one(sql):
            return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).fetchone()

        kwh, = one("select sum(kwh) from marts.fct_charge_point_quarter_energy "
                   "where partner_id = $partner and quarter_start = $start")
        eligible_kwh, ere = one("select sum(eligible_kwh), sum(eligible_ere_estimate) from marts.fct_ean_quarter_energy "
                                "where partner_id = $partner and quarter_start = $start")
        enrolled, = one("select count(*) from intermediate.int_customers_latest where partner_id = $partner")
        statuses = dict(con.execute("select eligibility_status, count(*) from marts.fct_charge_point_eligibility "
                                    "where partner_id = $partner and quarter_start = $start group by 1", params)
                        .fetchall())
        reasons = dict(con.execute("""
            select reason, count(*) from (
                select unnest(string_split(reasons, ';')) as reason from marts.fct_charge_point_eligibility
                where partner_id = $partner and quarter_start = $start)
            group by reason""", params).fetchall())
        adjusted = {reason: kwh for reason, kwh in con.execute(
            "select reason_code, sum(kwh) from marts.fct_energy_adjustments "
            "where partner_id = $partner and quarter_start = $start group by 1", params).fetchall()}
        booked, = one("select sum(kwh) from ledger.booked_units "
                      "where partner_id = $partner and booking_quarter_start = $start")
        months = {str(month): (kwh_, ) for month, kwh_ in con.execute("""
            select strftime(started_at at time zone 'Europe/Amsterdam', '%Y-%m-01'), sum(clean_kwh)
            from marts.fct_session_versions
            where partner_id = $partner and is_latest and exclusion_reason is null and ean is not null
              and (started_at at time zone 'Europe/Amsterdam') >= cast($start as timestamp)
              and (started_at at time zone 'Europe/Amsterdam') < cast($start as timestamp) + interval 3 month
            group by 1""", params).fetchall()}
        per_customer = dict(con.execute("select customer_ref, sum(kwh) from marts.fct_charge_point_quarter_energy "
                                        "where partner_id = $partner and quarter_start = $start group by 1",
                                        params).fetchall())
        signed_share, = one("select verified_kwh_share from marts.fct_partner_quarter_signed_energy "
                            "where partner_id = $partner and quarter_start = $start")

    assert Decimal(shown["kwh"]) == kwh and Decimal(shown["eligible_kwh"]) == eligible_kwh
    assert Decimal(shown["ere_estimate"]) == ere
    assert int(shown["customers_enrolled"]) == enrolled
    assert 0 < int(shown["customers_valid_mandate"]) <= enrolled
    assert {s: int(shown[f"charge_points_{s}"]) for s in statuses} == statuses
    assert {r: int(n) for r, n in re.findall(r'data-reason="([a-z_]+)">(\d+)<', dom)} == reasons
    assert {r: Decimal(v["kwh"]) for r, v in rows(dom, "adjustment").items()} == adjusted
    assert Decimal(shown["booked_kwh"]) == booked and Decimal(shown["submitted_kwh"]) == 0
    assert Decimal(shown["verified_kwh_share"]) == signed_share

    shown_months = rows(dom, "month")
    assert {m: Decimal(v["kwh"]) for m, v in shown_months.items()} == {m: v[0] for m, v in months.items()}
    # the chart draws the table's numbers: eligible + not eligible bars make each month's kWh
    bars = re.findall(r'<rect [^>]*data-series="(eligible_kwh|other_kwh)" data-label="(\w+)" data-value="([^"]+)"',
                      dom.split('id="quarter-kwh"', 1)[1].split("</svg>", 1)[0])
    assert sum(Decimal(v) for _, _, v in bars) == sum(v[0] for v in months.values())

    payout_rows = list(csv.DictReader((data_dir.exports / QUARTER / "payouts" / partner / "proposal.csv").open()))
    assert any(Decimal(r["paid_eur"]) for r in payout_rows), "the payouts stage proposes a payout"
    for column in ("gross", "fee", "partner_share", "net", "paid"):
        assert int(shown[f"{column}_cents"]) == sum(Decimal(r[f"{column}_eur"]) for r in payout_rows) * 100
    assert int(shown["carried_out_cents"]) == sum(Decimal(r["carried_over_eur"]) for r in payout_rows) * 100

    customers = rows(dom, "customer")
    assert set(per_customer) <= set(customers) and len(customers) == enrolled
    assert all(Decimal(customers[ref]["kwh"]) == value for ref, value in per_customer.items())
    # people read the same numbers: Dutch thousands and decimals, euros with the sign in front
    assert f">{int(kwh.quantize(Decimal(1))):,}<".replace(",", ".") in dom
    assert re.search(r"€\s[\d.]+,\d\d", unescape(dom))


def assert_self_contained_in_brand(pages: list[Path], colour: str) -> None:
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert f"--brand: {colour}" in text
        assert not re.search(r"https?:|<script|<link|<img|src=", text), f"{page} loads something from outside"


def test_every_page_is_self_contained_in_the_partners_brand(in_demo_world):
    for partner_id, colour in (("voltnet", "#0b5fff"), ("laadwerk", "#e85d04")):
        pages = list(folder(in_demo_world, partner_id).rglob("*.html"))
        assert {p.name for p in pages} == {"index.html", "year.html"}  # statements are the dashboard's
        assert_self_contained_in_brand(pages, colour)


def test_the_year_overview_adds_up_the_quarters(in_demo_world, tmp_path):
    page = folder(in_demo_world, "groenstroom", "2026-Q3") / "year.html"
    screenshot(page, tmp_path / "year.png", tmp_path / "profile", "1280,1600")
    dom = dump_dom(page, tmp_path / "profile")
    with warehouse(in_demo_world) as con:
        per_quarter = {f"2026-Q{(start.month - 1) // 3 + 1}": kwh for start, kwh in con.execute(
            "select quarter_start, sum(kwh) from marts.fct_charge_point_quarter_energy where partner_id = "
            "'groenstroom' and quarter_start < date '2026-10-01' group by 1").fetchall()}
    quarters = {q: Decimal(v["kwh"]) for q, v in rows(dom, "quarter").items() if "kwh" in v}
    assert quarters == per_quarter
    assert Decimal(figures(dom)["year_kwh"]) == sum(per_quarter.values())
    months = re.findall(r'data-series="(?:eligible|other)_kwh" data-label="(\w+)"',
                        dom.split('id="year-kwh"', 1)[1].split("</svg>", 1)[0])
    assert sorted(set(months)) == sorted(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep"])


def test_a_customers_statement_shows_that_customers_figures_and_prints(demo_world_copy, tmp_path):
    data_dir, partner = demo_world_copy, "voltnet"
    quarter_run = (folder(data_dir, partner) / "index.html").read_text(encoding="utf-8")
    assert not (folder(data_dir, partner) / "customers").exists() and "data-customer=" not in quarter_run
    assert 'id="customer-summary"' in quarter_run and f"/dashboard/{partner}/customers?quarter={QUARTER}" in quarter_run
    issue_and_report(data_dir, partner, "2026-Q1", "2026-Q2")
    with warehouse(data_dir) as con:
        ref, name, ean = con.execute("""
            select customers.customer_ref, customers.customer_name, customers.ean
            from intermediate.int_customers_latest as customers
            join marts.fct_ean_quarter_energy as eligible
                on eligible.partner_id = customers.partner_id and eligible.eligible_customer_ref = customers.customer_ref
            where customers.partner_id = 'voltnet' and eligible.quarter_start = date '2026-04-01'
            order by customers.customer_ref limit 1""").fetchone()
        kwh, sessions = con.execute("select sum(kwh), sum(session_count) from marts.fct_charge_point_quarter_energy "
                                    "where partner_id = 'voltnet' and quarter_start = date '2026-04-01' "
                                    "and customer_ref = ?", [ref]).fetchone()
        eligible_kwh, ere = con.execute("select sum(eligible_kwh), sum(eligible_ere_estimate) from marts.fct_ean_quarter_energy "
                                        "where partner_id = 'voltnet' and quarter_start = date '2026-04-01' "
                                        "and eligible_customer_ref = ?", [ref]).fetchone()
        others = con.execute("select customer_ref, ean from intermediate.int_customers_latest "
                             "where partner_id = 'voltnet' and customer_ref <> ? and ean <> ?", [ref, ean]).fetchall()
        enrolled, = con.execute("select count(*) from intermediate.int_customers_latest "
                                "where partner_id = 'voltnet'").fetchone()
    page = folder(data_dir, partner) / "customers" / f"{ref}.html"
    statements = list(page.parent.glob("*.html"))
    assert len(statements) == enrolled and f'href="customers/{ref}.html"' in \
        (folder(data_dir, partner) / "index.html").read_text(encoding="utf-8")
    assert_self_contained_in_brand(statements, "#0b5fff")
    assert not [other for other in PARTNERS if other != partner and (folder(data_dir, other) / "customers").exists()]
    dom = dump_dom(page, tmp_path / "profile")
    shown = figures(dom)
    assert Decimal(shown["kwh"]) == kwh and int(shown["sessions"]) == sessions
    assert Decimal(shown["eligible_kwh"]) == eligible_kwh and Decimal(shown["ere_estimate"]) == ere
    proposal = {r["customer_ref"]: r for r in csv.DictReader(
        (data_dir.exports / QUARTER / "payouts" / partner / "proposal.csv").open())}[ref]
    assert int(shown["net_cents"]) == Decimal(proposal["net_eur"]) * 100
    assert int(shown["paid_cents"]) == Decimal(proposal["paid_eur"]) * 100
    assert f'id="customer-ref">{ref}<' in dom and f'id="ean">{ean}<' in dom and name in dom
    # forwardable: nothing of the partner's other customers
    assert not [value for other in others for value in other if value in dom]
    assert "@media print" in page.read_text(encoding="utf-8")
    pdf = tmp_path / "statement.pdf"
    run_chromium(tmp_path / "profile", f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri())
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000


def test_no_report_holds_anything_of_another_partners_customers(demo_world_copy):
    in_demo_world = demo_world_copy
    for quarter in ("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"):  # with every statement and customer table
        assert {r.state for r in write_reports(in_demo_world, Quarter.parse(quarter), date(2027, 1, 15),
                                               statements=True)} == {"written"}
    with warehouse(in_demo_world) as con:
        people = con.execute("select partner_id, customer_ref, ean, customer_name, email, iban "
                             "from intermediate.int_customers_latest").fetchall()
        points = con.execute("select partner_id, charge_point_ref from intermediate.int_charge_points_latest").fetchall()
    values: dict[str, set[str]] = {partner: set() for partner in PARTNERS}
    for partner, *personal in people:
        values[partner].update(value for value in personal if value)
    for partner, ref in points:
        values[partner].add(ref)
    assert all(values.values())
    for partner in PARTNERS:
        # what is also this partner's own (the demo's EAN claimed by two partners, a common name) is not a leak
        foreign = set().union(*(values[other] for other in PARTNERS if other != partner)) - values[partner]
        own_refs = {ref for p, ref, *_ in people if p == partner}
        files = [p for quarter in ("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4")
                 for p in folder(in_demo_world, partner, quarter).rglob("*") if p.is_file()]
        assert len(files) > 4 * len(own_refs)
        seen_own = set()
        for path in files:
            text = path.read_text(encoding="utf-8")
            leaked = sorted(value for value in foreign if value in text or value in path.name)
            assert not leaked, f"{path.relative_to(in_demo_world.root)} shows {len(leaked)} value(s) of other partners"
            seen_own.update(ref for ref in own_refs if ref in text)
        assert seen_own == own_refs, "every own customer appears in the partner's reports"


def test_approved_payouts_submitted_and_issued_bookings_show_after_a_rebuild(demo_world_copy, tmp_path, capsys):
    data_dir, partner = demo_world_copy, "voltnet"
    assert cli.main(["rev", "submit", "2026-Q1", "--by", "test"]) == 0
    assert cli.main(["rev", "approve", "2026-Q1", "--by", "approver"]) == 0  # four eyes
    with warehouse(data_dir) as con:
        issued_ean, estimate = con.execute(
            "select ean, sum(units) from ledger.booked_units where partner_id = 'voltnet' "
            "and booking_id = '2026-Q1' group by ean order by ean limit 1").fetchone()
    issued = (estimate * Decimal("1.01")).quantize(Decimal("0.001"))
    result = tmp_path / "rev_result.csv"
    result.write_text(f"booking_id,ean,units\n2026-Q1,{issued_ean},{issued}\n")
    assert cli.main(["rev", "import-result", str(result)]) == 0
    assert cli.main(["payouts", "prepare", "2026-Q1", "--partner", partner, "--by", "preparer"]) == 0
    assert cli.main(["payouts", "approve", "2026-Q1", "--partner", partner, "--by", "approver"]) == 0
    capsys.readouterr()
    assert cli.main(["reports", "2026-Q1"]) == 0
    assert f"reports 2026-Q1 {partner}: " in capsys.readouterr().out
    page = folder(data_dir, partner, "2026-Q1") / "index.html"
    first = {p: p.read_bytes() for p in page.parent.rglob("*") if p.is_file()}

    shown = figures(dump_dom(page, tmp_path / "profile"))
    with warehouse(data_dir) as con:
        submitted, = con.execute("select sum(kwh) from ledger.rev_booking_lines where partner_id = 'voltnet' "
                                 "and booking_id = '2026-Q1'").fetchone()
        paid, gross, carried = con.execute("select sum(paid_cents), sum(gross_cents), sum(carried_out_cents) "
                                           "from ledger.payout_lines where partner_id = 'voltnet' "
                                           "and quarter_start = date '2026-01-01'").fetchone()
    assert Decimal(shown["submitted_kwh"]) == Decimal(shown["booked_kwh"]) == submitted
    assert Decimal(shown["issued_units"]) == issued
    assert (int(shown["paid_cents"]), int(shown["gross_cents"]), int(shown["carried_out_cents"])) == \
        (paid, gross, carried)
    assert 'class="pill approved">approved<' in page.read_text(encoding="utf-8")

    assert cli.main(["reports", "2026-Q1"]) == 0
    assert {p: p.read_bytes() for p in page.parent.rglob("*") if p.is_file()} == first, "a rebuild is byte-identical"


def test_a_partner_whose_report_fails_does_not_stop_the_others(demo_world_copy, capsys):
    data_dir = demo_world_copy
    proposal = data_dir.exports / QUARTER / "payouts" / "voltnet" / "proposal.csv"
    lines = proposal.read_text().splitlines()
    proposal.write_text("\n".join([lines[0], "VOL-C99999,not a number" + ",x" * 13, *lines[1:]]) + "\n")
    for partner in ("laadwerk", "groenstroom"):
        shutil.rmtree(folder(data_dir, partner))
    assert cli.main(["reports", QUARTER]) == 1
    for partner, name in (("laadwerk", "Laadwerk"), ("groenstroom", "GroenStroom")):
        assert name in (folder(data_dir, partner) / "index.html").read_text(encoding="utf-8")
    output = capsys.readouterr()
    assert "VOL-C99999" not in output.out + output.err, "the failure names the partner, not a customer"


def test_the_header_stays_readable_on_a_light_brand_colour():
    from joulo_pipelines.lib.reports.colours import text_on

    assert [text_on("#0b5fff"), text_on("#e85d04"), text_on("#ffd000")] == ["#ffffff", "#ffffff", "#1b1b1b"]


def test_freshness_reads_the_last_file_ocpi_pull_and_ocpp_message_of_that_partner_only(data_dir):
    import json

    from joulo_pipelines.lib.reports.queries import freshness

    def manifest(partner, sha, dataset, received_at, status="landed"):
        path = data_dir.landing / partner / "manifest" / f"{sha}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"partner_id": partner, "dataset": dataset, "file_sha256": sha,
                                    "received_at": received_at, "status": status}))

    manifest("alpha", "a1", "customers", "2026-12-01T06:00:00+00:00")
    manifest("alpha", "a2", "sessions", "2026-12-03T06:00:00+00:00", "rejected")
    manifest("alpha", "a3", "ocpi_cdrs", "2026-12-20T05:00:00+00:00")  # an OCPI page is not a file drop
    manifest("beta", "b1", "sessions", "2027-01-10T06:00:00+00:00")
    (data_dir.landing / "alpha" / "ocpi_cursor.json").write_text(
        json.dumps({"date_from": "2027-01-14T04:00:00Z", "pages": 3}))
    messages = data_dir.landing / "alpha" / "ocpp_messages"
    messages.mkdir(parents=True)
    with duckdb.connect() as con:
        con.execute(f"copy (select * from (values (timestamptz '2027-01-13 10:00:00+00'), "
                    f"(timestamptz '2027-01-14 09:30:00+00')) as t(received_at)) to '{messages / 'm.parquet'}'")

    alpha = {row["source"]: row for row in freshness(data_dir, "alpha")}
    assert alpha["files"]["last_at"].isoformat() == "2026-12-03T06:00:00+00:00"
    assert (alpha["files"]["count"], alpha["files"]["rejected"], alpha["files"]["detail"]) == (2, 1, "sessions")
    assert alpha["ocpi"]["last_at"].isoformat() == "2027-01-14T04:00:00+00:00" and alpha["ocpi"]["count"] == 3
    assert alpha["ocpp"]["last_at"].isoformat() == "2027-01-14T09:30:00+00:00" and alpha["ocpp"]["count"] == 2
    beta = {row["source"]: row for row in freshness(data_dir, "beta")}
    assert beta["files"]["last_at"].isoformat() == "2027-01-10T06:00:00+00:00"
    assert beta["ocpi"]["last_at"] is None and beta["ocpp"]["last_at"] is None


def test_statements_written_by_worker_processes_equal_those_written_in_one_and_leavers_lose_theirs(
        demo_world_copy, monkeypatch, capsys):
    from concurrent.futures import ProcessPoolExecutor

    from joulo_pipelines.lib.reports import statements as statements_module

    customers = folder(demo_world_copy, "voltnet") / "customers"

    def statements() -> dict[str, bytes]:
        return {path.name: path.read_bytes() for path in customers.iterdir()}

    assert cli.main(["reports", QUARTER, "--partner", "nobody"]) == 2  # said before any run
    assert "'nobody' is not in" in capsys.readouterr().err
    assert cli.main(["reports", QUARTER, "--partner", "voltnet"]) == 0
    assert f"reports {QUARTER} voltnet: " in capsys.readouterr().out
    in_one_process = statements()
    (customers / "VOL-C00000.html").write_text("the statement of a customer who has left since")
    longer = sorted(in_one_process)[0]  # a statement longer than its rebuild leaves no tail behind
    (customers / longer).write_bytes(in_one_process[longer] + b"<p>an older, longer statement</p>" * 100)
    submitted = []

    class CountingPool(ProcessPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            submitted.append(fn)
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(statements_module, "ProcessPoolExecutor", CountingPool)
    monkeypatch.setattr(statements_module, "STATEMENTS_PER_BATCH", 7)  # each partner's ~30 customers in batches
    assert cli.main(["reports", QUARTER, "--partner", "voltnet"]) == 0
    assert len(submitted) >= 4, "the partner's ~30 customers went to worker processes in batches"
    assert statements() == in_one_process
    # a rebuild of every partner writes no statements, and drops those whose figures it may have changed
    assert cli.main(["reports", QUARTER]) == 0
    assert not customers.exists()
    assert "data-customer=" not in (customers.parent / "index.html").read_text(encoding="utf-8")


def test_statements_are_written_for_the_partner_asked_only_and_a_run_without_them_drops_old_ones(data_dir):
    """On the dashboard's hand-made warehouse (no dbt): the quarter run's reports hold no customer, the
    `--partner` one that partner's statements and customer table, and nothing of the other partner's."""
    from dashboard_world import ALPHA_CUSTOMERS, build_world

    build_world(data_dir)
    quarter, as_of = Quarter(2026, 2), date(2026, 7, 15)
    alpha, beta = folder(data_dir, "alpha", quarter.label), folder(data_dir, "beta", quarter.label)

    assert [(r.partner_id, r.state, r.customers, r.statements) for r in write_reports(data_dir, quarter, as_of)] == \
        [("alpha", "written", ALPHA_CUSTOMERS, 0), ("beta", "written", 3, 0)]
    index = (alpha / "index.html").read_text(encoding="utf-8")
    assert "data-customer=" not in index and "A001" not in index and not (alpha / "customers").exists()
    assert f"{ALPHA_CUSTOMERS} customers enrolled" in index and "/dashboard/alpha/customers?quarter=2026-Q2" in index
    betas = {path: path.read_bytes() for path in beta.rglob("*")}

    assert [(r.partner_id, r.statements) for r in write_reports(data_dir, quarter, as_of, "alpha", statements=True)] \
        == [("alpha", ALPHA_CUSTOMERS)]
    assert len(list((alpha / "customers").glob("A*.html"))) == ALPHA_CUSTOMERS
    assert len(rows((alpha / "index.html").read_text(encoding="utf-8"), "customer")) == ALPHA_CUSTOMERS
    assert {path: path.read_bytes() for path in beta.rglob("*")} == betas, "beta's reports were left alone"

    write_reports(data_dir, quarter, as_of)  # their figures may have changed since: not left behind
    assert not (alpha / "customers").exists()
