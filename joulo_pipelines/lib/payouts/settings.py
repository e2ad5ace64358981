"""Payout configuration: `config/payments.yaml` (our client-funds account, SEPA version, minimum payout,
payment date, SMTP) and `config/ere_sales.csv` (the ERE we sold, which prices the credits).

Errors name the file, row, column and value and say what is accepted. Secrets never live in the files:
SMTP credentials come from the environment variables the file names."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from joulo_pipelines.lib.iban import Iban

SALES_COLUMNS = ("sale_date", "delivery_year", "units", "price_eur_per_ere", "reference")


class PayoutConfigError(ValueError):
    pass


class ClientFundsAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=70)
    iban: Iban
    bic: str | None = Field(default=None, pattern=r"^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$")


class SmtpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str
    port: int = 587
    starttls: bool = True
    username_env: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$")
    password_env: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$")
    attempts: int = Field(default=3, ge=1, le=10)
    retry_wait_seconds: float = Field(default=2.0, ge=0)


class PaymentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_funds: ClientFundsAccount
    sepa_schema: Literal["pain.001.001.09", "pain.001.001.03"] = "pain.001.001.09"
    minimum_payout_eur: Decimal = Field(default=Decimal("5.00"), ge=0, decimal_places=2)
    # Leaders promise payment within 30 days after the quarter; the date is also never before approval.
    payment_days_after_quarter: int = Field(default=25, ge=0, le=90)
    smtp: SmtpSettings | None = None

    @property
    def minimum_payout_cents(self) -> int:
        return int(self.minimum_payout_eur * 100)


def load_payment_settings(path: Path) -> PaymentSettings:
    if not path.exists():
        raise PayoutConfigError(f"{path}: payment settings not found; create it with at least "
                                "`client_funds: {name, iban}` (see README, 'Payouts')")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        return PaymentSettings.model_validate(document)
    except yaml.YAMLError as exc:
        raise PayoutConfigError(f"{path}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        problems = "\n".join(f"  {'.'.join(str(p) for p in e['loc']) or '(document)'}: {e['msg']}"
                             for e in exc.errors())
        raise PayoutConfigError(f"{path}: invalid payment settings:\n{problems}") from None


@dataclass(frozen=True)
class Sale:
    sale_date: date
    delivery_year: int
    units: Decimal
    price_eur_per_ere: Decimal
    reference: str


def load_sales(path: Path) -> list[Sale]:
    """Every row of ere_sales.csv, or an error naming the row, column and value."""
    if not path.exists():
        raise PayoutConfigError(f"{path}: ERE sales not found; columns: {', '.join(SALES_COLUMNS)}")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip().lower() for name in reader.fieldnames or []]
        missing = [c for c in SALES_COLUMNS if c not in header]
        if missing:
            raise PayoutConfigError(f"{path}: missing column(s) {', '.join(missing)}; "
                                    f"expected {', '.join(SALES_COLUMNS)}")
        reader.fieldnames = header
        return [_sale(path, line, row) for line, row in enumerate(reader, start=2)]


def _sale(path: Path, line: int, row: dict[str, str]) -> Sale:
    def parse(column: str, kind, accepted: str):
        value = (row.get(column) or "").strip()
        try:
            parsed = kind(value)
        except (ValueError, InvalidOperation):
            raise PayoutConfigError(f"{path}, row {line}, column {column}: {value!r} is not {accepted}") from None
        if isinstance(parsed, Decimal) and not (parsed.is_finite() and parsed > 0):
            raise PayoutConfigError(f"{path}, row {line}, column {column}: {value!r} is not {accepted}")
        return parsed

    return Sale(
        sale_date=parse("sale_date", date.fromisoformat, "a date (2026-05-12)"),
        delivery_year=parse("delivery_year", int, "a year (2026)"),
        units=parse("units", Decimal, "a positive number of ERE"),
        price_eur_per_ere=parse("price_eur_per_ere", Decimal, "a positive price in EUR (0.43)"),
        reference=(row.get("reference") or "").strip(),
    )
