"""What the API accepts becomes partner files like any other delivery: CSVs in the contract's shape in
`inbox/<partner>/`, landed at once by the same intake (`lib/intake.py`), so the quarter run picks them up
on the one path files take. The inbox sensor sees the same files later and finds them already landed.

File names carry the API's request sequence (`customers_api_0000000042.csv`): the intake orders two
deliveries with the same arrival time by file name, so the latest request wins even under a pinned
clock. The signing record lands in the contract's columns; the mandate's evidence the typed contract has
no column for (the two permissions, the business signatory) travels as extra columns, kept in the raw copy
of the file."""

from __future__ import annotations

import csv
import io
import os
from datetime import date, datetime

import duckdb

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.api.models import Enrolment
from joulo_pipelines.lib.contract import DATASETS
from joulo_pipelines.lib.intake import IntakeResult, ingest_file
from joulo_pipelines.lib.paths import DataDir, write_atomically

MANDATE_EVIDENCE_COLUMNS = ("permission_grid_data", "permission_site_inspection", "company_name", "signatory_name",
                            "api_request")
CUSTOMER_COLUMNS = tuple(c.name for c in DATASETS["customers"].columns) + MANDATE_EVIDENCE_COLUMNS
CHARGE_POINT_COLUMNS = tuple(c.name for c in DATASETS["charge_points"].columns) + ("api_request",)


class LandingFailed(RuntimeError):
    """The intake refused what the API had validated: a bug to fix, never the partner's fault."""


def mandate_period(enrolment: Enrolment) -> tuple[date, date]:
    signed_year = enrolment.mandate.signed_at.astimezone(clock.AMSTERDAM).year
    first = enrolment.mandate.valid_from_year or signed_year
    return date(first, 1, 1), date(first + enrolment.mandate.validity_years - 1, 12, 31)


def enrolment_rows(enrolment: Enrolment, seq: int) -> tuple[dict, list[dict]]:
    valid_from, valid_until = mandate_period(enrolment)
    business = enrolment.business
    customer = {
        "customer_ref": enrolment.customer_ref, "name": enrolment.name, "email": enrolment.email,
        "iban": enrolment.iban, "account_holder": enrolment.account_holder,
        "street": enrolment.address.street, "house_number": enrolment.address.house_number,
        "postal_code": enrolment.address.postal_code, "city": enrolment.address.city, "ean": enrolment.ean,
        "mandate_signed_at": enrolment.mandate.signed_at.isoformat(),
        "mandate_valid_from": valid_from.isoformat(), "mandate_valid_until": valid_until.isoformat(),
        "revoked_at": None, "kvk_number": business.kvk_number if business else None,
        "language": enrolment.language,
        "permission_grid_data": "true", "permission_site_inspection": "true",
        "consent_text_version": enrolment.mandate.consent_text_version,
        "consent_text_sha256": enrolment.mandate.consent_text_sha256,
        "signer_user_id": enrolment.mandate.signature.partner_user_id,
        "signer_authentication": enrolment.mandate.signature.authentication,
        "signer_ip": str(enrolment.mandate.signature.ip_address),
        "signer_user_agent": enrolment.mandate.signature.user_agent,
        "company_name": business.company_name if business else None,
        "signatory_name": business.signatory_name if business else None,
        "api_request": seq,
    }
    charge_points = [{**cp.model_dump(), "customer_ref": enrolment.customer_ref,
                      "installed_at": cp.installed_at.isoformat() if cp.installed_at else None, "api_request": seq}
                     for cp in enrolment.charge_points]
    return customer, charge_points


def land_enrolment(data_dir: DataDir, partner_ids: list[str], partner_id: str, enrolment: Enrolment,
                   seq: int) -> list[str]:
    """Write and land the customer and charge point files; returns their paths below inbox/."""
    customer, charge_points = enrolment_rows(enrolment, seq)
    return [
        _land(data_dir, partner_ids, partner_id, f"customers_api_{seq:010d}.csv", CUSTOMER_COLUMNS, [customer]),
        _land(data_dir, partner_ids, partner_id, f"charge_points_api_{seq:010d}.csv", CHARGE_POINT_COLUMNS,
              charge_points),
    ]


def land_revocation(data_dir: DataDir, partner_ids: list[str], partner_id: str, current: dict, seq: int,
                    revoked_at: datetime) -> list[str]:
    """The customer's latest delivered row again, now with `revoked_at`: the latest delivery of a key wins."""
    row = {**current, "revoked_at": revoked_at.isoformat(), "api_request": seq}
    return [_land(data_dir, partner_ids, partner_id, f"customers_api_{seq:010d}.csv", CUSTOMER_COLUMNS, [row])]


def latest_landed_customer(data_dir: DataDir, partner_id: str, customer_ref: str) -> dict | None:
    """The partner's latest landed row for the customer (file drops and API alike), as contract values, in
    the order the warehouse's `latest_delivery` uses."""
    folder = data_dir.landing / partner_id / "customers"
    if not any(folder.glob("*.parquet")):
        return None
    columns = [c.name for c in DATASETS["customers"].columns]
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        found = con.execute(
            f"select {', '.join(columns)} from read_parquet(?) where customer_ref = ? "
            "order by received_at desc, source_file desc, line_number desc limit 1",
            [str(folder / "*.parquet"), customer_ref]).fetchone()
    if found is None:
        return None
    return {name: _as_cell(value) for name, value in zip(columns, found)}


def _as_cell(value: object) -> object:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _land(data_dir: DataDir, partner_ids: list[str], partner_id: str, name: str, columns: tuple[str, ...],
          rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows([{k: ("" if v is None else v) for k, v in row.items()} for row in rows])
    target = data_dir.inbox / partner_id / name
    write_atomically(target, buffer.getvalue().encode())
    # The intake's received_at is the file's mtime: the one clock's now, not the wall clock's.
    stamp = clock.now().timestamp()
    os.utime(target, (stamp, stamp))
    result: IntakeResult = ingest_file(data_dir, partner_ids, target)
    if result.status not in ("landed", "duplicate"):
        raise LandingFailed(f"{result.source_file}: the intake {result.status} it: {result.summary()}")
    return result.source_file
