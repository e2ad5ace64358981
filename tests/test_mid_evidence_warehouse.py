"""MID evidence per unit in one real quarter build: a document a person accepted makes a unit pass the MID
rule whatever the register says of its model (unknown, or no MID meter), and the audit pack carries it; what
an OCPP charger reports of its meter (1.6 BootNotification, 2.0.1 signed meter value) fills a missing meter
serial and, where it is another serial than the partner's, shows the mismatch as a reason. Partner alpha
delivers files, beta's chargers speak OCPP over real WebSockets to the gateway on loopback."""

from __future__ import annotations

import asyncio
import base64
import csv
import hashlib
import json

import duckdb
import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from conftest import drop
from joulo_pipelines import cli
from joulo_pipelines.lib.eligibility import unit_evidence
from mid_evidence_documents import pdf_of
from ocpp_clients import SECRET, SECRET_ENV, charge_point, gateway, make_ocpp_partner
from signing_records import signed

HEADER = ("customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,"
          "mandate_valid_from,mandate_valid_until\n")
ALPHA_CUSTOMERS = HEADER + "".join(
    f"{ref},A,a@x.nl,NL91ABNA0417164300,S,{n},1011 AB,Amsterdam,{ean},2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n"
    for n, (ref, ean) in enumerate([("DOC", "871687120000000004"), ("NODOC", "871685900000000011"),
                                    ("NONE", "871694840000000001")], 1))
# Zaptec Go is `unknown` in the register, Easee Home has no MID meter: both pass with an accepted document.
ALPHA_CHARGE_POINTS = """charge_point_ref,customer_ref,brand,model,serial_number,meter_serial
CP-DOC,DOC,Zaptec,Go,S1,M1
CP-NODOC,NODOC,Zaptec,Go,S2,M2
CP-NONE,NONE,Easee,Home,S3,M3
"""
SESSIONS = "".join(["session_ref,charge_point_ref,started_at,ended_at,energy_kwh\n"] + [
    f"S-{ref},{ref},2026-02-10T18:00:00Z,2026-02-10T20:00:00Z,10.5\n" for ref in ("CP-DOC", "CP-NODOC", "CP-NONE")])
BETA_CUSTOMERS = HEADER + "".join(
    f"{ref},B,b@x.nl,NL91ABNA0417164300,S,{n},1011 AB,Amsterdam,{ean},2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n"
    for n, (ref, ean) in enumerate([("MIS", "871687120000000103"), ("FILL", "871687120000000301"),
                                    ("SIGNED", "871687120000000509")], 1))
BETA_CHARGE_POINTS = """charge_point_ref,customer_ref,brand,model,serial_number,meter_serial
CP-MISMATCH,MIS,Alfen,Eve Single Pro-line,S4,EM-PARTNER-1
CP-FILL,FILL,Alfen,Eve Single Pro-line,S5,
CP-SIGNED,SIGNED,Alfen,Eve Single Pro-line,S6,EM-PARTNER-2
"""
DELIVERED = "2026-01-02T06:00:00+00:00"


async def _boots(port: int) -> None:
    for identity, serial in (("CP-MISMATCH", "EM-CHARGER-9"), ("CP-FILL", "EM-FILLED-5")):
        async with charge_point(port, identity, "1.6") as cp:
            await cp.call(call16.BootNotification(charge_point_model="Eve Single Pro-line", charge_point_vendor="Alfen",
                                                  meter_type="Inepro PRO380-Mod", meter_serial_number=serial))
    # OCPP 2.0.1: no meter serial in the boot; the signed meter value (OCMF, base64) names its meter (MS).
    ocmf = "OCMF|" + json.dumps({"FV": "1.0", "GI": "Alfen", "MS": "EM-SIGNED-7", "RD": [
        {"TM": "2026-02-01T10:00:00,000+0000 S", "RV": 2000.0, "RU": "kWh", "RI": "1-b:1.8.0"}]}) + '|{"SD":"00"}'
    async with charge_point(port, "CP-SIGNED", "2.0.1") as cp:
        await cp.call(call201.BootNotification(charging_station={"model": "Eve", "vendor_name": "Alfen",
                                                                 "serial_number": "S6"}, reason="PowerUp"))
        await cp.call(call201.TransactionEvent(
            event_type="Started", timestamp="2026-02-01T10:00:00+00:00", trigger_reason="CablePluggedIn", seq_no=0,
            transaction_info={"transaction_id": "TX-SIGNED"},
            meter_value=[{"timestamp": "2026-02-01T10:00:00+00:00", "sampled_value": [
                {"value": 2000.0, "context": "Transaction.Begin", "measurand": "Energy.Active.Import.Register",
                 "unit_of_measure": {"unit": "kWh"},
                 "signed_meter_value": {"signed_meter_data": base64.b64encode(ocmf.encode()).decode(),
                                        "signing_method": "ECDSA-secp256r1-SHA256", "encoding_method": "OCMF",
                                        "public_key": "00"}}]}]))


@pytest.fixture(scope="module")
def built(module_data_dir, definitions):
    data_dir = module_data_dir
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(SECRET_ENV, SECRET)
        make_ocpp_partner(data_dir, "beta", charge_points=[])
        drop(data_dir, "alpha", "customers.csv", signed(data_dir, ALPHA_CUSTOMERS), DELIVERED)
        drop(data_dir, "alpha", "charge_points.csv", ALPHA_CHARGE_POINTS, DELIVERED)
        drop(data_dir, "alpha", "sessions_2026-02.csv", SESSIONS, "2026-03-03T06:00:00+00:00")
        drop(data_dir, "beta", "customers.csv", signed(data_dir, BETA_CUSTOMERS), DELIVERED)
        drop(data_dir, "beta", "charge_points.csv", BETA_CHARGE_POINTS, DELIVERED)
        assert cli.main(["ingest"]) == 0
        # The evidence arrives after its charge points: a declaration for CP-DOC and CP-NONE, a CE-only one for
        # CP-NODOC (which a person rejects).
        mid_declaration, ce_only = pdf_of("doc_mid_meter.txt"), pdf_of("doc_ce_only.txt")
        drop(data_dir, "alpha", "evidence/CP-DOC__declaration.pdf", mid_declaration)
        drop(data_dir, "alpha", "evidence/CP-NONE__declaration.pdf", mid_declaration)
        drop(data_dir, "alpha", "evidence/CP-NODOC__declaration.pdf", ce_only)
        assert cli.main(["ingest"]) == 0
        for receipt, reading, _ in unit_evidence.documents(data_dir, "alpha"):
            decision = "accepted" if reading.proposes_evidence else "rejected"
            unit_evidence.review(data_dir, receipt.record_id, decision, "Ria Reviewer")
        asyncio.run(_gateway_traffic(data_dir))
        assert definitions.resolve_job_def("ocpp_landing_job").execute_in_process().success
        assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
        with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
            rows = con.execute("select charge_point_ref, mid_status, mid_evidence, mid_document_sha256, reasons, "
                               "is_eligible, eligible_kwh from marts.fct_charge_point_eligibility").fetchall()
        yield data_dir, {row[0]: row[1:] for row in rows}, hashlib.sha256(mid_declaration).hexdigest()


async def _gateway_traffic(data_dir) -> None:
    async with gateway(data_dir) as port:
        await _boots(port)


def test_an_accepted_document_makes_a_unit_of_an_unknown_model_qualify_and_a_rejected_one_does_not(built):
    _, rows, declaration_sha = built
    status, evidence, sha, reasons, eligible, kwh = rows["CP-DOC"]
    assert (status, evidence, sha, reasons, eligible, str(kwh)) == (
        "unknown", "accepted_document", declaration_sha, None, True, "10.500000")
    status, evidence, sha, reasons, eligible, _ = rows["CP-NODOC"]
    assert (status, evidence, sha, reasons, eligible) == ("unknown", None, None, "mid_evidence_missing", False)


def test_an_accepted_document_counts_whatever_the_register_says_of_the_model(built):
    _, rows, declaration_sha = built
    status, evidence, sha, reasons, eligible, _ = rows["CP-NONE"]
    assert status not in ("unknown", "unmatched") and reasons is None and eligible
    assert (evidence, sha) == ("accepted_document", declaration_sha)


def test_a_charger_reporting_another_meter_serial_than_the_partner_gets_the_mismatch_reason(built):
    _, rows, _ = built
    assert "meter_serial_mismatch" in rows["CP-MISMATCH"][3].split(";")  # 1.6 BootNotification
    assert "meter_serial_mismatch" in rows["CP-SIGNED"][3].split(";")  # 2.0.1 signed meter value
    # The charger filled the serial the partner left out: no meter_serial_missing, and nothing to mismatch.
    assert not {"meter_serial_missing", "meter_serial_mismatch"} & set((rows["CP-FILL"][3] or "").split(";"))


def test_the_audit_pack_carries_the_accepted_document_of_a_sampled_ean(built):
    data_dir, _, declaration_sha = built
    assert cli.main(["rev", "submit", "2026-Q1", "--by", "preparer"]) == 0
    assert cli.main(["rev", "approve", "2026-Q1", "--by", "approver"]) == 0
    assert cli.main(["audit-pack", "--year", "2026", "--ean", "871687120000000004"]) == 0
    folder = data_dir.exports / "audit" / "2026" / "871687120000000004"
    kept = (folder / f"mid_document_{declaration_sha}.pdf").read_bytes()
    assert hashlib.sha256(kept).hexdigest() == declaration_sha
    with (folder / "charge_points.csv").open() as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["charge_point_ref"], row["mid_document_sha256"], row["mid_document_accepted_by"]) == (
        "CP-DOC", declaration_sha, "Ria Reviewer")
