"""A small payout world for tests: a warehouse holding only what payouts read (the customers and the
booking stage's `ledger.booked_units`), the partner registry and the payment config."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import yaml

from joulo_pipelines import cli
from joulo_pipelines.lib.demo.rev_results import write_rev_result
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.payouts.service import PartnerOutcome, run_quarter
from joulo_pipelines.lib.quarters import Quarter

PREPARER, APPROVER = "Petra Voorbereider", "Aart Fiatteur"

PARTNERS = [
    {"id": "alpha", "name": "Alpha Laadpalen B.V.", "payout_model": "direct", "service_fee_pct": "15",
     "partner_share_pct": "5", "source": {"type": "files"},
     "brand": {"display_name": "AlphaCharge", "sender_email": "uitbetaling@alpha.example", "colour": "#0b5fff",
               "logo_url": "https://alpha.example/logo.png"}},
    {"id": "beta", "name": "Beta Installatie B.V.", "payout_model": "partner_account",
     "partner_iban": "NL91ABNA0417164300", "service_fee_pct": "20", "partner_share_pct": "0",
     "source": {"type": "files"},
     "brand": {"display_name": "BetaLaad", "sender_email": "info@beta.example", "colour": "#e85d04"}},
]

SALES = ("sale_date,delivery_year,units,price_eur_per_ere,reference\n"
         "2026-04-20,2026,40000,0.44,S-1\n")  # one price, so the tests' amounts are units x 0.44

CUSTOMER_COLUMNS = ["partner_id", "customer_ref", "customer_name", "email", "iban", "account_holder", "language",
                    "mandate_valid_until", "revoked_at"]


def customer(partner_id: str, ref: str, name: str, iban: str | None, language: str = "nl",
             valid_until: str = "2030-12-31") -> dict:
    return {"partner_id": partner_id, "customer_ref": ref, "customer_name": name,
            "email": f"{ref.lower()}@example.org", "iban": iban, "account_holder": name, "language": language,
            "mandate_valid_until": date.fromisoformat(valid_until), "revoked_at": None}


def booking(partner_id: str, ref: str, quarter_start: str, units: str, kwh: str = "1000",
            kind: str = "regular", source: str = "rev_issued", delivery_year: int = 2026, n: int = 0,
            status: str = "submitted", delivery_period_start: str | None = None) -> dict:
    """A booked line; an amendment's `delivery_period_start` names the delivery it changes (else the quarter's)."""
    return {"partner_id": partner_id, "customer_ref": ref, "ean": "871687000000000000",
            "booking_quarter_start": date.fromisoformat(quarter_start), "delivery_year": delivery_year,
            "booking_id": f"{partner_id}-{ref}-{quarter_start}-{kind}-{n}", "kind": kind, "kwh": Decimal(kwh),
            "units": Decimal(units), "units_source": source, "status": status,
            "delivery_period_start": date.fromisoformat(delivery_period_start or quarter_start)}


def build_world(data_dir: DataDir, customers: list[dict], bookings: list[dict], payments: dict | None = None,
                sales: str = SALES) -> DataDir:
    data_dir.ensure()
    data_dir.partners_file.write_text(yaml.safe_dump({"partners": PARTNERS}, sort_keys=False))
    config = {"client_funds": {"name": "Joulo Derdengelden B.V.", "iban": "NL20INGB0001234567"},
              **(payments or {})}
    (data_dir.config / "payments.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (data_dir.config / "ere_sales.csv").write_text(sales)
    with duckdb.connect(str(data_dir.warehouse)) as con:
        con.execute("create schema if not exists intermediate; create schema if not exists ledger")
        con.execute("create or replace table intermediate.int_customers_latest (partner_id varchar, customer_ref "
                    "varchar, customer_name varchar, email varchar, iban varchar, account_holder varchar, language "
                    "varchar, mandate_valid_until date, revoked_at timestamptz)")
        con.executemany("insert into intermediate.int_customers_latest values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [[c[k] for k in CUSTOMER_COLUMNS] for c in customers])
        con.execute("create table if not exists ledger.booked_units (partner_id varchar, customer_ref varchar, "
                    "ean varchar, booking_quarter_start date, delivery_year integer, booking_id varchar, kind "
                    "varchar, kwh decimal(18,3), units decimal(38,12), units_source varchar, status varchar, "
                    "delivery_period_start date)")
        add_bookings(con, bookings)
    return data_dir


def add_bookings(con: duckdb.DuckDBPyConnection, bookings: list[dict]) -> None:
    columns = ["partner_id", "customer_ref", "ean", "booking_quarter_start", "delivery_year", "booking_id", "kind",
               "kwh", "units", "units_source", "status", "delivery_period_start"]
    if bookings:
        con.executemany(f"insert into ledger.booked_units values ({', '.join('?' * len(columns))})",
                        [[b[k] for k in columns] for b in bookings])


def issue(data_dir: DataDir, *bookings: str) -> None:
    """The REV steps before a payout, through the CLI: each booking prepared, submitted by another person,
    and the register's result imported (the demo's result file: kWh x factor, rounded as the register does)."""
    for booking_id in bookings:
        assert cli.main(["rev", "submit", booking_id, "--by", "rev-preparer"]) == 0
        assert cli.main(["rev", "approve", booking_id, "--by", "rev-approver"]) == 0
        assert cli.main(["rev", "import-result", str(write_rev_result(data_dir, booking_id))]) == 0


def prepare_and_approve(data_dir: DataDir, quarter: Quarter, partner_id: str | None = None) -> list[PartnerOutcome]:
    """Four eyes as in production: per partner (or every one) PREPARER prepares and APPROVER approves; the
    outcome of the last step taken (a payout that cannot be prepared is not approved)."""
    outcomes = []
    for pid in [partner_id] if partner_id else [p["id"] for p in PARTNERS]:
        [outcome] = run_quarter(data_dir, quarter, pid, prepare_by=PREPARER)
        if outcome.state == "prepared":
            [outcome] = run_quarter(data_dir, quarter, pid, approve_by=APPROVER)
        outcomes.append(outcome)
    return outcomes
