"""The verifier's audit pack: per sampled EAN everything that traces a booked kWh back to its evidence.

exports/audit/<year>/<ean>/: mandate.json (the mandate as delivered, with its file and line), mandate_<n>.html
(each mandate's document: the consent text as the customer saw it, the signing record, every later event),
charge_points.csv (charge point, meter serial and the one the charger reports, MID certificate, the MID
register's verdict, the accepted MID document's hash), mid_document_<sha256>.<ext> (each accepted MID
document of the EAN's charge points, as delivered),
eligibility.csv (per quarter: eligible or not, reasons, delivery period), sessions.csv (every session of the
year with its raw lineage: file and line, OCPI CDR id or OCPP message id in source_record), meter_readings.csv,
adjustments.csv (kWh that did not count, with reason) and bookings.csv (every booking line of the year and the
delivery quarters it books). index.csv and index.json list the EANs and where their choice came from.

The verifier chooses the sample, not us: the pack is built for exactly the sample last imported with
`joulo verification <year> import-sample FILE`, or for EANs named with `--ean` (to answer a question).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from joulo_pipelines.lib import people_csv, warehouse
from joulo_pipelines.lib.ean import is_eighteen_digits
from joulo_pipelines.lib.eligibility.mandate_document import render_mandate_document
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.registration.ledger import ensure_ledger
from joulo_pipelines.lib.verification.store import ensure_verification
from joulo_pipelines.lib.verification.verifier_lists import current_list

_FILES = {
    "charge_points.csv": """
        select cp.partner_id, cp.charge_point_ref, cp.customer_ref, cp.brand, cp.model, cp.serial_number,
               cp.meter_serial, charger.meter_serial as charger_meter_serial, cp.mid_certificate, cp.installed_date,
               matches.mid_status, matches.register_line, matches.register_brand, matches.register_source,
               documents.document_sha256 as mid_document_sha256, documents.reviewed_by as mid_document_accepted_by,
               documents.reviewed_at as mid_document_accepted_at, cp.source_file, cp.line_number, cp.file_sha256
        from intermediate.int_charge_points_latest as cp
        join intermediate.int_customers_latest as customers
            on cp.partner_id = customers.partner_id and cp.customer_ref = customers.customer_ref
        left join intermediate.int_charge_point_meter_matches as matches
            on cp.brand = matches.brand and cp.model = matches.model
        left join intermediate.int_charge_point_mid_documents as documents
            on cp.partner_id = documents.partner_id and cp.charge_point_ref = documents.charge_point_ref
        left join intermediate.int_ocpp_charge_point_meters as charger
            on cp.partner_id = charger.partner_id and cp.charge_point_ref = charger.charge_point_ref
        where customers.ean = {ean}
        order by cp.partner_id, cp.charge_point_ref""",
    "eligibility.csv": """
        select partner_id, charge_point_ref, quarter_start, is_eligible, eligibility_status, reasons, mid_status,
               mid_evidence, mid_document_sha256, delivery_period_start, delivery_period_end, kwh, eligible_kwh,
               session_count
        from marts.fct_charge_point_eligibility
        where ean = {ean} and delivery_year = {year}
        order by partner_id, charge_point_ref, quarter_start""",
    "sessions.csv": """
        select partner_id, session_ref, charge_point_ref, started_at, ended_at, meter_start_wh, meter_stop_wh,
               delivered_kwh, export_kwh, kwh, source_type, source_record, signature_status, source_file,
               line_number, file_sha256, received_at
        from marts.fct_charging_sessions
        where ean = {ean}
            and timezone('Europe/Amsterdam', started_at) < make_timestamp({year} + 1, 1, 1, 0, 0, 0)
            and timezone('Europe/Amsterdam', ended_at) >= make_timestamp({year}, 1, 1, 0, 0, 0)
        order by started_at, partner_id, session_ref""",
    "meter_readings.csv": """
        select readings.partner_id, readings.charge_point_ref, readings.read_at, readings.register_wh,
               readings.source_type, readings.source_record
        from intermediate.int_meter_readings_unioned as readings
        join intermediate.int_charge_points_connected as cp
            on readings.partner_id = cp.partner_id and readings.charge_point_ref = cp.charge_point_ref
        where cp.ean = {ean} and year(timezone('Europe/Amsterdam', readings.read_at)) = {year}
        order by readings.read_at, readings.charge_point_ref""",
    "adjustments.csv": """
        select partner_id, charge_point_ref, session_ref, source_record, quarter_start, kwh, reason_code, detail
        from marts.fct_energy_adjustments
        where ean = {ean} and year(quarter_start) = {year}
        order by quarter_start, charge_point_ref, session_ref, reason_code""",
    "bookings.csv": """
        select lines.booking_id, lines.status, lines.kind, lines.line_number, lines.partner_id, lines.customer_ref,
               lines.delivery_period_start, lines.delivery_period_end, lines.kwh, lines.units, lines.units_source,
               parts.delivery_quarter_start, parts.kwh as delivery_quarter_kwh
        from ledger.booked_units as lines
        left join ledger.rev_booking_line_quarters as parts
            on lines.status = 'submitted' and lines.booking_id = parts.booking_id
            and lines.line_number = parts.line_number
        where lines.ean = {ean} and lines.delivery_year = {year}
        order by lines.booking_id, lines.line_number, parts.delivery_quarter_start""",
}


def _ean_literal(ean: str) -> str:
    if not is_eighteen_digits(ean):
        raise ValueError(f"--ean {ean!r}: expected an 18-digit EAN")
    return f"'{ean}'"


def select_eans(booked: list[str], requested: list[str]) -> list[str]:
    unknown = sorted(set(requested) - set(booked))
    if unknown:
        raise ValueError(f"--ean {', '.join(unknown)}: no booking line in that year; booked EANs are in "
                         "ledger.booked_units")
    return sorted(set(requested))


def _selection(con: duckdb.DuckDBPyConnection, year: int, requested: list[str]) -> tuple[list[str], dict]:
    """The EANs to write and where they came from: --ean, else the verifier's imported sample."""
    if requested:
        return requested, {"method": "requested", "eans": sorted(set(requested))}
    sample = current_list(con, year, "sample")
    if not sample:
        raise ValueError(f"no sample of {year} imported: the verifier chooses it; import their CSV with "
                         f"`joulo verification {year} import-sample FILE`, or name EANs with --ean")
    return ([ean for ean, *_ in sample],
            {"method": "verifier_sample", "source_file": sample[0][3], "file_sha256": sample[0][4]})


def write_audit_pack(data_dir: DataDir, year: int, requested: list[str]) -> Path:
    root = data_dir.exports / "audit" / str(year)
    with warehouse.connect(data_dir, read_only=False) as con:
        ensure_ledger(con)
        ensure_verification(con)
        booked = [row[0] for row in con.execute(
            "select distinct ean from ledger.booked_units where delivery_year = ? and status = 'submitted' "
            "order by ean", [year]).fetchall()]
        chosen, selection = _selection(con, year, [e.strip() for e in requested])
        eans = select_eans(booked, chosen)
        index = []
        for ean in eans:
            folder = root / ean
            folder.mkdir(parents=True, exist_ok=True)
            literal = _ean_literal(ean)
            _write_mandates(con, ean, folder / "mandate.json")
            _copy_mid_documents(con, data_dir, ean, folder)
            for name, query in _FILES.items():
                people_csv.copy_query(con, query.format(ean=literal, year=int(year)), folder / name)
            partner, customer, kwh, lines = con.execute(
                "select min(partner_id), min(customer_ref), sum(kwh), count(*) from ledger.booked_units "
                "where ean = ? and delivery_year = ? and status = 'submitted'", [ean, year]).fetchone()
            index.append({"ean": ean, "partner_id": partner, "customer_ref": customer,
                          "booked_kwh": f"{kwh:.3f}", "booking_lines": lines, "folder": ean})
    root.mkdir(parents=True, exist_ok=True)
    _remove_unselected(root, eans)
    (root / "index.json").write_text(json.dumps(
        {"delivery_year": year, "booked_eans": len(booked), "selection": selection, "eans": index}, indent=2) + "\n")
    columns = ["ean", "partner_id", "customer_ref", "booked_kwh", "booking_lines", "folder"]
    (root / "index.csv").write_text(people_csv.render(columns, [[entry[c] for c in columns] for entry in index]))
    return root


def _remove_unselected(root: Path, eans: list[str]) -> None:
    """The pack holds exactly this selection: folders of EANs an earlier pack held go (the pack is derived
    from the warehouse and can be built again)."""
    for folder in root.iterdir():
        if folder.is_dir() and folder.name.isdigit() and folder.name not in eans:
            shutil.rmtree(folder)


def _copy_mid_documents(con: duckdb.DuckDBPyConnection, data_dir: DataDir, ean: str, folder: Path) -> None:
    """Each accepted MID document of the EAN's charge points, as delivered: mid_document_<sha256>.<ext>
    (charge_points.csv names it per charge point)."""
    for (sha,) in con.execute(
            """
            select distinct documents.document_sha256
            from intermediate.int_charge_point_mid_documents as documents
            join intermediate.int_charge_points_latest as cp
                on documents.partner_id = cp.partner_id and documents.charge_point_ref = cp.charge_point_ref
            join intermediate.int_customers_latest as customers
                on cp.partner_id = customers.partner_id and cp.customer_ref = customers.customer_ref
            where customers.ean = ? order by 1""", [ean]).fetchall():
        for document in data_dir.raw.glob(f"{sha}.*"):
            shutil.copyfile(document, folder / f"mid_document_{document.name}")


def _write_mandates(con: duckdb.DuckDBPyConnection, ean: str, target: Path) -> None:
    cursor = con.execute(
        """
        select partner_id, customer_ref, customer_name as connection_holder, street, house_number, postal_code,
               city, ean, kvk_number, mandate_signed_at, mandate_valid_from, mandate_valid_until, revoked_at,
               source_file, line_number, file_sha256, received_at
        from intermediate.int_customers_latest where ean = ? order by partner_id, customer_ref
        """, [ean])
    names = [column[0] for column in cursor.description]
    mandates = [{name: (value.isoformat() if hasattr(value, "isoformat") else value)
                 for name, value in zip(names, row)} for row in cursor.fetchall()]
    # Each mandate's document beside it: the consent text exactly as the customer saw it, the signing record
    # and every later event; numbered, because a customer reference is the partner's text, not a file name.
    for number, mandate in enumerate(mandates, start=1):
        mandate["document"] = f"mandate_{number}.html"
        (target.parent / mandate["document"]).write_text(
            render_mandate_document(con, mandate["partner_id"], mandate["customer_ref"]))
    target.write_text(json.dumps({"ean": ean, "mandates": mandates}, indent=2, default=str) + "\n")
