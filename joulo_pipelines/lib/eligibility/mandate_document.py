"""A customer's mandate as one document, for the verifier: the consent text exactly as the customer saw it,
the fields filled in, the signing record (who the partner authenticated, how, when, from which client),
the validity, and every later change (revocation, address, IBAN, EAN, a new signing, a changed validity)
with when it arrived and in which file.

Rendered on demand from the warehouse (`intermediate.int_customers_latest`, which decides the signing
record and the revocation that stands, every delivery in `staging.stg_landing__customers`, and the
mandate's reasons in the latest quarter of `marts.fct_customer_quarter_status`), never stored: `joulo mandate show`, and the audit pack for a sampled EAN. It holds personal data (name, address,
IP address): for the verifier's eyes, never for logs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import duckdb

from joulo_pipelines.lib.clock import AMSTERDAM
from joulo_pipelines.lib.eligibility.rules import reasons
from joulo_pipelines.lib.iban import mask_iban
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.templating import environment

TEMPLATES = Path(__file__).parent / "templates"
Format = Literal["html", "text"]


class MandateNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Event:
    arrived_at: str
    what: str
    detail: str
    source: str


# Per delivery of the customer, in the order the warehouse reads them (latest_delivery), what changed since
# the one before. A handful of rows per customer.
_DELIVERIES_SQL = """
    with deliveries as (
        select
            *,
            row_number() over delivered as delivery_number,
            lag(customer_name) over delivered as previous_name,
            lag([street, house_number, postal_code, city]) over delivered as previous_address,
            lag(iban) over delivered as previous_iban,
            lag(ean) over delivered as previous_ean,
            lag(mandate_signed_at) over delivered as previous_signed_at,
            lag([mandate_valid_from, mandate_valid_until]) over delivered as previous_validity,
            bool_or(revoked_at is not null) over (delivered rows between unbounded preceding and 1 preceding)
                as was_revoked_before,
            lag(revoked_at) over delivered as previous_revoked_at
        from staging.stg_landing__customers
        where partner_id = $partner_id and customer_ref = $customer_ref
        window delivered as (order by received_at, source_file, line_number)
    )
    select
        received_at, source_file, line_number, delivery_number = 1 as is_first,
        customer_name is distinct from previous_name as name_changed,
        [street, house_number, postal_code, city] is distinct from previous_address as address_changed,
        street, house_number, postal_code, city,
        iban is distinct from previous_iban as iban_changed, iban,
        ean is distinct from previous_ean as ean_changed, ean,
        mandate_signed_at is distinct from previous_signed_at as signed_again, mandate_signed_at,
        [mandate_valid_from, mandate_valid_until] is distinct from previous_validity as validity_changed,
        mandate_valid_from, mandate_valid_until,
        revoked_at, previous_revoked_at, coalesce(was_revoked_before, false) as was_revoked_before
    from deliveries
    order by delivery_number
"""


def render_mandate_document(con: duckdb.DuckDBPyConnection, partner_id: str, customer_ref: str,
                            fmt: Format = "html") -> str:
    """The mandate document of one customer of one partner, as HTML (escaped) or plain text. Raises
    MandateNotFound when the warehouse has no such customer."""
    mandate = _one(con, "select * from intermediate.int_customers_latest "
                        "where partner_id = $partner_id and customer_ref = $customer_ref",
                   {"partner_id": partner_id, "customer_ref": customer_ref})
    if mandate is None:
        raise MandateNotFound(f"no customer {customer_ref!r} of partner {partner_id!r} in the warehouse")
    consent = _one(con, "select consent_text from staging.stg_landing__consent_texts "
                        "where consent_text_version = $version and consent_text_sha256 = $sha256",
                   {"version": mandate["consent_text_version"], "sha256": mandate["consent_text_sha256"]})
    deliveries = _all(con, _DELIVERIES_SQL, {"partner_id": partner_id, "customer_ref": customer_ref})
    quarter, findings = _findings(con, partner_id, customer_ref)
    template = environment(TEMPLATES).get_template(f"mandate_document.{'html' if fmt == 'html' else 'txt'}.j2")
    return template.render(
        partner_id=partner_id, customer_ref=customer_ref, mandate=mandate,
        moment=_moment, consent_text=consent["consent_text"] if consent else None,
        quarter=quarter, findings=findings, events=_events(deliveries, mandate["revoked_at"]),
        validity_years=_validity_years(mandate["mandate_valid_from"], mandate["mandate_valid_until"]))


def _findings(con: duckdb.DuckDBPyConnection, partner_id: str, customer_ref: str) -> tuple[str | None, list[str]]:
    """The latest quarter built and the mandate's reasons there (the marts decide them; codes and rules
    from the reason catalogue), or no quarter when none was built."""
    latest = _one(con, "select quarter_start, reasons from marts.fct_customer_quarter_status "
                       "where partner_id = $partner_id and customer_ref = $customer_ref "
                       "order by quarter_start desc limit 1", {"partner_id": partner_id, "customer_ref": customer_ref})
    if latest is None:
        return None, []
    catalogue = reasons()
    codes = [code for code in (latest["reasons"] or "").split(";") if code.startswith("mandate_")]
    return Quarter.containing(latest["quarter_start"]).label, [f"{code}: {catalogue[code].rule}" for code in codes]


def _events(deliveries: list[dict], standing_revocation: datetime | None) -> list[Event]:
    events = []
    for d in deliveries:
        source = f"{d['source_file']}:{d['line_number']}"
        arrived = _moment(d["received_at"])
        if d["is_first"]:
            events.append(Event(arrived, "enrolled", f"signed at {_moment(d['mandate_signed_at'])}", source))
            continue
        if d["signed_again"]:
            events.append(Event(arrived, "signed again", f"new signing moment {_moment(d['mandate_signed_at'])}",
                                source))
        if d["validity_changed"]:
            events.append(Event(arrived, "validity changed",
                                f"{d['mandate_valid_from']} to {d['mandate_valid_until']}", source))
        if d["address_changed"]:
            events.append(Event(arrived, "address changed",
                                f"{d['street']} {d['house_number']}, {d['postal_code']} {d['city']}", source))
        if d["name_changed"]:
            events.append(Event(arrived, "connection holder's name changed", "", source))
        if d["iban_changed"]:
            events.append(Event(arrived, "IBAN changed", mask_iban(d["iban"]), source))
        if d["ean_changed"]:
            events.append(Event(arrived, "EAN changed", d["ean"] or "", source))
        if d["revoked_at"] is not None and d["previous_revoked_at"] is None:
            events.append(Event(arrived, "revoked", f"revoked at {_moment(d['revoked_at'])}", source))
        elif d["revoked_at"] is None and d["was_revoked_before"] and standing_revocation is not None:
            events.append(Event(arrived, "delivered as active after the revocation",
                                "ignored: the revocation stands without a new signing", source))
    return events


def _validity_years(start: date, end: date) -> str:
    return str(start.year) if start.year == end.year else f"{start.year}-{end.year}"


def _moment(value: datetime | None) -> str:
    """A moment in Europe/Amsterdam time with its offset, to the second: 2026-02-01T10:15:00+01:00."""
    return value.astimezone(AMSTERDAM).isoformat(timespec="seconds") if value is not None else ""


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> dict | None:
    rows = _all(con, sql, params)
    return rows[0] if rows else None


def _all(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
