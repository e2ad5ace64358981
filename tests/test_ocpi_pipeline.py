"""End to end: a partner configured with `source: ocpi` is pulled from a real OCPI server on loopback by the
Dagster job, through dbt into marts.fct_charging_sessions and the quarter's energy marts; a rerun gives the
same result, and a CDR edited later replaces its earlier version."""

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

import dagster as dg
import duckdb
import pytest

from conftest import drop
from joulo_pipelines import cli
from joulo_pipelines.defs.intake.ocpi import ocpi_daily_schedule, ocpi_partners
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib.ocpi.pull import read_cursor
from ocpi_server import OcmfSigner, OcpiServer, make_cdr, signed_data
from test_ocpi_pull import TOKEN, add_ocpi_partner

EAN_G1, EAN_G2 = "871685900000000042", "871685900000000059"
CUSTOMERS = (
    "customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,"
    "mandate_valid_from,mandate_valid_until\n"
    f"G-C1,Dirk Smit,dirk@mail.example,NL91ABNA0417164300,Laan,4,2511AB,Den Haag,{EAN_G1},2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n"
    f"G-C2,Eva Mol,eva@mail.example,NL91ABNA0417164300,Weg,5,5611AB,Eindhoven,{EAN_G2},2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n"
)
CHARGE_POINTS = (
    "charge_point_ref,customer_ref,brand,model,serial_number,meter_serial\n"
    "EVSE-1,G-C1,Alfen,Eve Single Pro-line,SN-G1,M-EVSE-1\nEVSE-2,G-C2,Alfen,Eve Single Pro-line,SN-G2,M-EVSE-2\n"
)


def server_cdrs(signer):
    day = "2026-0{}-{}T{}:00:00Z"
    g1 = (day.format(1, 10, 18), day.format(1, 10, 20))
    g3 = (day.format(2, 13, 18), day.format(2, 13, 20))
    return [
        make_cdr("G1", "EVSE-1", *g1, "12.345", "2026-01-11T00:00:00Z",
                 signed=signed_data(signer, "M-EVSE-1", *g1, "1000.000", "1012.345")),
        make_cdr("G2", "EVSE-1", day.format(2, 11, 18), day.format(2, 11, 21), "10", "2026-02-12T00:00:00Z",
                 export_kwh="2"),
        make_cdr("G3", "EVSE-2", *g3, "5", "2026-02-14T00:00:00Z",
                 signed=signed_data(signer, "M-EVSE-2", *g3, "200.000", "205.000", tamper=True)),
        make_cdr("G4", "EVSE-2", day.format(2, 15, 18), day.format(2, 15, 20), "7", "2026-02-16T00:00:00Z"),
        make_cdr("G4-CREDIT", "EVSE-2", day.format(2, 15, 18), day.format(2, 15, 20), "7", "2026-02-20T00:00:00Z",
                 credit_of="G4"),
        make_cdr("G5", "EVSE-2", day.format(3, 11, 18), day.format(3, 11, 20), "3", "2026-03-12T00:00:00Z"),
        {"id": "BAD", "country_code": "NL", "last_updated": "2026-03-13T00:00:00Z"},
    ]


@pytest.fixture(scope="module")
def world(module_data_dir, definitions):
    data_dir = module_data_dir
    with (pytest.MonkeyPatch.context() as monkeypatch, OcpiServer(TOKEN, max_limit=2) as server,
          dg.instance_for_test() as instance):
        monkeypatch.setenv("OCPI_TOKEN_GAMMA", TOKEN)
        server.cdrs = server_cdrs(OcmfSigner())
        add_ocpi_partner(data_dir, server.url)
        drop(data_dir, "gamma", "customers.csv", CUSTOMERS, mtime="2026-01-02T06:00:00+00:00")
        drop(data_dir, "gamma", "charge_points.csv", CHARGE_POINTS, mtime="2026-01-02T06:00:00+00:00")
        assert cli.main(["ingest", "--source", "files"]) == 0
        yield data_dir, definitions, instance, server, monkeypatch


def pull(definitions, instance, run_config=None):
    return definitions.resolve_job_def("ocpi_job").execute_in_process(
        instance=instance, partition_key="gamma", run_config=run_config or {})


def snapshot(data_dir):
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        sessions = con.execute(
            "select session_ref, charge_point_ref, ean, started_at, kwh, export_kwh, source_type, source_record, "
            "signature_status from marts.fct_charging_sessions where partner_id = 'gamma' order by session_ref"
        ).fetchall()
        energy = con.execute(
            "select ean, quarter_start, kwh, session_count from marts.fct_ean_quarter_energy "
            "where partner_id = 'gamma' order by all").fetchall()
        signed = con.execute(
            "select quarter_start, kwh, signed_verified_kwh, signed_invalid_kwh, verified_kwh_share "
            "from marts.fct_partner_quarter_signed_energy where partner_id = 'gamma' order by quarter_start"
        ).fetchall()
    return sessions, energy, signed


def test_the_daily_schedule_adds_a_partition_and_requests_a_run_per_ocpi_partner(world):
    data_dir, definitions, instance, server, monkeypatch = world
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=datetime(2026, 4, 15, 3, 0, tzinfo=timezone.utc),
        resources={"data_dir": DataDirResource()})
    requests = ocpi_daily_schedule(context)
    assert [(r.partition_key, r.run_key) for r in requests] == [("gamma", "gamma@2026-04-15")]
    assert instance.get_dynamic_partitions(ocpi_partners.name) == ["gamma"]


def test_an_ocpi_partner_is_pulled_into_the_sessions_and_the_quarter_marts(world):
    data_dir, definitions, instance, server, monkeypatch = world
    instance.add_dynamic_partitions(ocpi_partners.name, ["gamma"])
    monkeypatch.setenv("JOULO_AS_OF", "2026-04-15")
    result = pull(definitions, instance)
    assert result.success
    metadata = result.asset_materializations_for_node("ocpi__cdrs")[0].metadata
    assert metadata["cdrs_landed"].value == 6 and metadata["cdrs_quarantined"].value == 1
    assert cli.main(["run", "--quarter", "2026-Q1"]) == 0

    sessions, energy, signed = snapshot(data_dir)
    by_ref = {row[0]: row for row in sessions}
    assert sorted(by_ref) == ["G1", "G2", "G3", "G5"]  # G4 credited away, the credit itself is no session
    assert by_ref["G1"][2] == EAN_G1 and str(by_ref["G1"][4]) == "12.345000"
    assert by_ref["G1"][6:] == ("ocpi", "G1", "signed_verified")
    assert str(by_ref["G2"][4]) == "8.000000" and str(by_ref["G2"][5]) == "2.000000"  # V2G export deducted
    assert by_ref["G3"][8] == "signed_invalid" and by_ref["G5"][8] == "unsigned"
    # The invalid signature's 5 kWh are not booked; G5 counts 3 kWh.
    assert [(ean, str(kwh)) for ean, _, kwh, _ in energy] == [(EAN_G1, "20.345000"), (EAN_G2, "3.000000")]
    # Verified: G1's 12.345 of 28.345 kWh (G1 + G2 + G3 + G5) in Q1; G3's 5 kWh carry a failed signature.
    assert [(str(q), str(kwh), str(verified), str(invalid), share) for q, kwh, verified, invalid, share in signed] == [
        ("2026-01-01", "28.345000", "12.345000", "5.000000", (Decimal("12.345") / Decimal("28.345")).quantize(
            Decimal("0.000001"), ROUND_HALF_UP))]


def test_a_rerun_gives_the_same_result_and_a_later_edit_replaces_the_earlier_cdr(world):
    data_dir, definitions, instance, server, monkeypatch = world
    before = snapshot(data_dir)
    assert pull(definitions, instance).success
    assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
    assert snapshot(data_dir) == before

    g5 = next(c for c in server.cdrs if c["id"] == "G5")
    g5.update(total_energy=4, last_updated="2026-04-20T00:00:00Z")
    g5["charging_periods"][0]["dimensions"] = [{"type": "ENERGY", "volume": 4}]
    monkeypatch.setenv("JOULO_AS_OF", "2026-05-01")
    assert pull(definitions, instance).success
    assert server.requests[-1]["query"]["date_from"] == "2026-04-14T22:00:00Z"  # the previous run's date_to
    assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
    sessions, energy, _ = snapshot(data_dir)
    assert [str(row[4]) for row in sessions if row[0] == "G5"] == ["4.000000"]
    assert [(ean, str(kwh)) for ean, _, kwh, _ in energy] == [(EAN_G1, "20.345000"), (EAN_G2, "4.000000")]


def test_a_backfill_pulls_its_date_range_and_leaves_the_cursor_alone(world):
    data_dir, definitions, instance, server, monkeypatch = world
    cursor = read_cursor(data_dir, "gamma")
    config = {"ops": {"ocpi__cdrs": {"config": {"date_from": "2026-02-01T00:00:00+01:00",
                                                "date_to": "2026-03-01T00:00:00+01:00"}}}}
    assert pull(definitions, instance, config).success
    assert server.requests[-1]["query"]["date_from"] == "2026-01-31T23:00:00Z"
    assert server.requests[-1]["query"]["date_to"] == "2026-02-28T23:00:00Z"
    assert read_cursor(data_dir, "gamma") == cursor
