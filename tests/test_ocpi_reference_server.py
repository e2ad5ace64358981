"""The OCPI connector against a server the project's authors did not write: a CPO `cdrs` endpoint built on
extrawest-ocpi (tests/ocpi_reference_server/app.py), run by uvicorn from its own virtualenv over TLS on
loopback. A partner configured with `source: ocpi` is pulled by the Dagster job, through dbt into
marts.fct_charging_sessions and the quarter marts, and a rerun (cursor or backfill) changes nothing.

What the library does differently from our own test server, and what it means for us, is in the README
(section "OCPI against a reference server")."""

import base64
import datetime as dt
import ipaddress
import json
import os
import socket
import subprocess
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import drop
from joulo_pipelines import cli
from joulo_pipelines.defs.intake.ocpi import ocpi_partners
from joulo_pipelines.lib.ocpi.pull import client_for, pull_partner, read_cursor
from ocpi_server import OcmfSigner, _json_default, make_cdr, signed_data
from test_ocpi_pull import TOKEN, add_ocpi_partner, landed

REPO = Path(__file__).resolve().parents[1]
REFERENCE_VENV = REPO / ".venv-ocpi-reference"
REFERENCE_PYTHON = REFERENCE_VENV / "bin" / "python"
APP_DIR = Path(__file__).resolve().parent / "ocpi_reference_server"

pytestmark = pytest.mark.skipif(
    not (REFERENCE_VENV / ".installed").exists(),
    reason="no .venv-ocpi-reference (extrawest-ocpi needs pydantic 1, so it has its own venv): "
           "`make test` creates it (Makefile target .venv-ocpi-reference/.installed)")

EAN_1, EAN_2 = "871685900000000042", "871685900000000059"
CUSTOMERS = (
    "customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,"
    "mandate_valid_from,mandate_valid_until\n"
    f"R-C1,Dirk Smit,dirk@mail.example,NL91ABNA0417164300,Laan,4,2511AB,Den Haag,{EAN_1},2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n"
    f"R-C2,Eva Mol,eva@mail.example,NL91ABNA0417164300,Weg,5,5611AB,Eindhoven,{EAN_2},2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n"
)
# Lower case: the library serves every OCPI CiString (ids, evse_uid) in lower case, see the README.
CHARGE_POINTS = (
    "charge_point_ref,customer_ref,brand,model,serial_number,meter_serial\n"
    "evse-1,R-C1,Alfen,Eve Single Pro-line,SN-R1,M-evse-1\nevse-2,R-C2,Alfen,Eve Single Pro-line,SN-R2,M-evse-2\n"
)
EAN_OF = {"evse-1": EAN_1, "evse-2": EAN_2}


def reference_cdrs() -> list[dict]:
    at = "2026-{:02d}-{:02d}T{:02d}:00:00Z".format
    r1 = (at(1, 10, 18), at(1, 10, 20))
    return [
        make_cdr("r1", "evse-1", *r1, "12.345", "2026-01-11T00:00:00Z",
                 signed=signed_data(OcmfSigner(), "M-evse-1", *r1, "1000.000", "1012.345")),
        make_cdr("r2", "evse-1", at(2, 11, 18), at(2, 11, 21), "10", "2026-02-12T00:00:00Z", export_kwh="2"),
        make_cdr("r3", "evse-2", at(2, 15, 18), at(2, 15, 20), "7", "2026-02-16T00:00:00Z"),
        make_cdr("r3-credit", "evse-2", at(2, 15, 18), at(2, 15, 20), "7", "2026-02-20T00:00:00Z", credit_of="r3"),
        make_cdr("r4", "evse-2", at(3, 12, 18), at(3, 12, 20), "3", "2026-03-12T00:00:00Z"),
        make_cdr("r5", "evse-2", at(3, 20, 18), at(3, 20, 22), "4.5", "2026-03-21T00:00:00Z"),
    ]


def booked_kwh(cdrs: list[dict]) -> dict[str, Decimal]:
    """Per CDR id, what we should book: total_energy minus ENERGY_EXPORT; a credit CDR and the CDR it
    credits book nothing."""
    credited = {c["credit_reference_id"] for c in cdrs if c.get("credit")}
    return {
        c["id"]: Decimal(c["total_energy"]) - sum(
            (Decimal(d["volume"]) for p in c["charging_periods"] for d in p["dimensions"]
             if d["type"] == "ENERGY_EXPORT"), Decimal(0))
        for c in cdrs if not c.get("credit") and c["id"] not in credited
    }


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A key and a certificate for 127.0.0.1: the library's Link headers are https, so it is served over TLS
    and the client trusts this certificate through REQUESTS_CA_BUNDLE."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_file, cert_file = folder / "key.pem", folder / "cert.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


@pytest.fixture(scope="module")
def reference_server(tmp_path_factory):
    """uvicorn serving the extrawest-ocpi app. The listening socket is bound here and handed over, so the
    port is known before the server starts (the library puts host:port into its Link headers) and a
    request made before uvicorn is up waits in the backlog instead of failing."""
    folder = tmp_path_factory.mktemp("ocpi_reference")
    key_file, cert_file = _self_signed(folder)
    cdrs = reference_cdrs()
    cdrs_file = folder / "cdrs.json"
    cdrs_file.write_text(json.dumps(cdrs, default=_json_default))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    env = {"PATH": os.environ.get("PATH", ""), "OCPI_HOST": f"127.0.0.1:{port}",
           "OCPI_REFERENCE_CDRS": str(cdrs_file), "OCPI_REFERENCE_TOKEN": TOKEN}
    process = subprocess.Popen(
        [str(REFERENCE_PYTHON), "-m", "uvicorn", "app:app", "--fd", str(listener.fileno()),
         "--ssl-keyfile", str(key_file), "--ssl-certfile", str(cert_file), "--log-level", "warning"],
        cwd=APP_DIR, env=env, pass_fds=[listener.fileno()], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    listener.close()
    try:
        yield {"url": f"https://127.0.0.1:{port}/ocpi/cpo/2.2.1/cdrs/", "ca_bundle": str(cert_file), "cdrs": cdrs}
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=300)  # bounds a failure to stop, not a slow machine
        print(output.decode(errors="replace"))


@pytest.fixture
def gamma(data_dir, reference_server, monkeypatch):
    """Partner gamma on the reference server, its customers and charge points ingested."""
    monkeypatch.setenv("OCPI_TOKEN_GAMMA", TOKEN)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", reference_server["ca_bundle"])
    monkeypatch.setenv("JOULO_AS_OF", "2026-04-15")
    partner = add_ocpi_partner(data_dir, reference_server["url"])
    drop(data_dir, "gamma", "customers.csv", CUSTOMERS, mtime="2026-01-02T06:00:00+00:00")
    drop(data_dir, "gamma", "charge_points.csv", CHARGE_POINTS, mtime="2026-01-02T06:00:00+00:00")
    assert cli.main(["ingest", "--source", "files"]) == 0
    return partner


def snapshot(data_dir):
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        sessions = con.execute(
            "select session_ref, charge_point_ref, ean, kwh, source_type, signature_status "
            "from marts.fct_charging_sessions where partner_id = 'gamma' order by session_ref").fetchall()
        charge_points = con.execute(
            "select charge_point_ref, quarter_start, kwh, session_count from marts.fct_charge_point_quarter_energy "
            "where partner_id = 'gamma' order by all").fetchall()
        eans = con.execute(
            "select ean, quarter_start, kwh, session_count from marts.fct_ean_quarter_energy "
            "where partner_id = 'gamma' order by all").fetchall()
    return sessions, charge_points, eans


def test_a_partner_on_an_extrawest_ocpi_server_is_pulled_into_the_marts_and_a_rerun_changes_nothing(
        gamma, data_dir, definitions, reference_server):
    job = definitions.resolve_job_def("ocpi_job")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(ocpi_partners.name, ["gamma"])
        first = job.execute_in_process(instance=instance, partition_key="gamma")
        assert first.success
        metadata = first.asset_materializations_for_node("ocpi__cdrs")[0].metadata
        assert metadata["cdrs_landed"].value == 6 and metadata["cdrs_quarantined"].value == 0
        assert cli.main(["run", "--quarter", "2026-Q1"]) == 0

        sessions, charge_points, eans = snapshot(data_dir)
        expected = booked_kwh(reference_server["cdrs"])
        assert {ref: kwh for ref, _, _, kwh, _, _ in sessions} == expected
        assert all(row[4] == "ocpi" and row[2] == EAN_OF[row[1]] for row in sessions)
        # The OCMF records travelled through the library's SignedData model intact.
        assert {ref: status for ref, *_, status in sessions}["r1"] == "signed_verified"
        per_charge_point = {}
        for ref, charge_point, *_ in sessions:
            per_charge_point[charge_point] = per_charge_point.get(charge_point, 0) + expected[ref]
        q1 = dt.date(2026, 1, 1)
        assert [(cp, q, kwh) for cp, q, kwh, _ in charge_points] == [
            (cp, q1, kwh) for cp, kwh in sorted(per_charge_point.items())]
        assert [(ean, q, kwh) for ean, q, kwh, _ in eans] == [
            (EAN_OF[cp], q1, kwh) for cp, kwh in sorted(per_charge_point.items())]

        # A rerun from the cursor finds nothing new; a backfill of the quarter fetches every CDR again, in a
        # page whose bytes differ (the envelope's timestamp), and still nothing is counted twice.
        assert job.execute_in_process(instance=instance, partition_key="gamma").success
        backfill = {"ops": {"ocpi__cdrs": {"config": {"date_from": "2026-01-01T00:00:00+01:00",
                                                      "date_to": "2026-04-01T00:00:00+02:00"}}}}
        again = job.execute_in_process(instance=instance, partition_key="gamma", run_config=backfill)
        assert again.success
        assert again.asset_materializations_for_node("ocpi__cdrs")[0].metadata["cdrs_landed"].value == 6
        assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
        assert snapshot(data_dir) == (sessions, charge_points, eans)


def test_the_library_serves_the_ocpi_envelope_and_pagination_headers_our_client_reads(
        gamma, reference_server):
    response = requests.get(reference_server["url"], params={"offset": 0, "limit": 4},
                            headers={"Authorization": "Token " + base64.b64encode(TOKEN.encode()).decode()},
                            verify=reference_server["ca_bundle"], timeout=30)
    assert response.status_code == 200 and response.json()["status_code"] == 1000
    assert [c["id"] for c in response.json()["data"]] == ["r1", "r2", "r3", "r3-credit"]
    assert (response.headers["X-Total-Count"], response.headers["X-Limit"]) == ("6", "4")
    assert response.links["next"]["url"].startswith("https://127.0.0.1:")


def test_the_librarys_next_link_is_unusable_so_a_paged_pull_stops_cleanly_and_keeps_the_cursor(
        gamma, data_dir):
    """On Python 3.11 the library formats its enums by name into the Link path and writes an absent
    date_from as `date_from=None`: the second page is a 404. The pull reports it, the first page is landed
    and the cursor stays, so nothing is skipped once the server's links work."""
    result = pull_partner(data_dir, gamma, client_factory=lambda p: client_for(p, page_limit=2, attempts=1))
    assert result.pages_fetched == 1 and result.cdrs_landed == 2
    assert "HTTP 404" in result.error and "/ocpi/cpo/VersionNumber.v_2_2_1/ModuleID.cdrs/" in result.error
    assert not result.cursor_moved and read_cursor(data_dir, "gamma") is None
    assert sorted(row["cdr_id"] for row in landed(data_dir)) == ["r1", "r2"]


def test_a_wrong_token_is_refused_by_the_library_and_the_pull_says_so(gamma, data_dir, monkeypatch):
    monkeypatch.setenv("OCPI_TOKEN_GAMMA", "not-the-token")
    result = pull_partner(data_dir, gamma, client_factory=lambda p: client_for(p, attempts=1))
    assert result.error.startswith("GET https://127.0.0.1:") and "HTTP 403" in result.error
    assert result.pages_fetched == 0 and read_cursor(data_dir, "gamma") is None
