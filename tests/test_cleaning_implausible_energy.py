"""One partner's absurd energy never stops the quarter: a session claiming 1,000,000 kWh (or a register jump of
10^9 Wh, or one no DECIMAL holds) is excluded as implausible_energy with its claim in the detail, the build
succeeds and the other partner's kWh are untouched; a corrected delivery of the session then counts."""

from decimal import Decimal

import duckdb
import pytest

from conftest import drop
from joulo_pipelines import cli

EAN_A, EAN_B = "871685900000000011", "871685900000000035"
Q1 = "2026-01-01"
CUSTOMERS_HEADER = (
    "customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,"
    "mandate_valid_from,mandate_valid_until\n"
)
ALPHA_SESSIONS = (
    "session_ref,charge_point_ref,started_at,ended_at,meter_start_wh,meter_stop_wh,energy_kwh\n"
    "A1,CPA1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,1000,11000,\n"
    "A2,CPA1,2026-01-11T18:00:00Z,2026-01-11T20:00:00Z,,,1000000\n"
    "A3,CPA1,2026-01-12T18:00:00Z,2026-01-12T20:00:00Z,11000,1000011000,\n"
    # Over the Q1/Q2 edge with a reading at it: the split subtracts registers no BIGINT difference holds.
    "A4,CPA1,2026-03-31T20:00:00Z,2026-04-01T02:00:00Z,-9000000000000000000,9000000000000000000,\n"
    # Plausible sessions that overlap on registers far apart: the overlap subtracts them too.
    "A5,CPA2,2026-01-20T18:00:00Z,2026-01-20T20:00:00Z,9200000000000000000,9200000000000001000,\n"
    "A6,CPA2,2026-01-20T19:00:00Z,2026-01-20T21:00:00Z,-9200000000000000000,-9199999999999999000,\n"
)
METER_READINGS = "charge_point_ref,read_at,register_wh\nCPA1,2026-03-31T22:00:00Z,5000000000000000000\n"
A2_CORRECTION = (
    "session_ref,charge_point_ref,started_at,ended_at,energy_kwh\n"
    "A2,CPA1,2026-01-11T18:00:00Z,2026-01-11T20:00:00Z,12.5\n"
)
BETA_SESSIONS = (
    "session_ref,charge_point_ref,started_at,ended_at,energy_kwh\n"
    "B1,CPB1,2026-02-15T10:00:00Z,2026-02-15T12:00:00Z,10.25\n"
)


def query(data_dir, sql):
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def snapshot(data_dir):
    return {
        "energy": {(p, e): kwh for p, e, kwh in query(
            data_dir, "select partner_id, ean, kwh from marts.fct_ean_quarter_energy")},
        "adjustments": {(s, r): (kwh, detail) for s, r, kwh, detail in query(
            data_dir, "select session_ref, reason_code, kwh, detail from marts.fct_energy_adjustments")},
        "reconciliation": query(data_dir, "select partner_id, raw_kwh, clean_kwh, adjusted_kwh "
                                          "from marts.fct_energy_reconciliation order by all"),
    }


@pytest.fixture(scope="module")
def builds(module_data_dir):
    data_dir = module_data_dir
    drop(data_dir, "alpha", "customers.csv", CUSTOMERS_HEADER
         + f"CA1,An Jansen,an@mail.example,,Kerkstraat,1,1011 AB,Amsterdam,{EAN_A},2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n",
         mtime="2026-01-02T06:00:00+00:00")
    drop(data_dir, "alpha", "charge_points.csv", "charge_point_ref,customer_ref,brand,model,serial_number\n"
         "CPA1,CA1,Alfen,Eve Single Pro-line,SN1\nCPA2,CA1,Alfen,Eve Single Pro-line,SN2\n",
         mtime="2026-01-02T06:00:00+00:00")
    drop(data_dir, "alpha", "sessions.csv", ALPHA_SESSIONS, mtime="2026-03-02T06:00:00+00:00")
    drop(data_dir, "alpha", "meter_readings.csv", METER_READINGS, mtime="2026-03-02T06:00:00+00:00")
    drop(data_dir, "beta", "customers.csv", CUSTOMERS_HEADER
         + f"CB1,Cas Bos,cas@mail.example,,Dorpsstraat,3,9711AB,Groningen,{EAN_B},2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n",
         mtime="2026-01-02T06:00:00+00:00")
    drop(data_dir, "beta", "charge_points.csv", "charge_point_ref,customer_ref,brand,model,serial_number\n"
         "CPB1,CB1,KEBA,P30,SN9\n", mtime="2026-01-02T06:00:00+00:00")
    drop(data_dir, "beta", "sessions.csv", BETA_SESSIONS, mtime="2026-03-02T06:00:00+00:00")
    assert cli.main(["ingest"]) == 0
    assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
    before = snapshot(data_dir)
    drop(data_dir, "alpha", "sessions_fix.csv", A2_CORRECTION, mtime="2026-03-03T06:00:00+00:00")
    assert cli.main(["ingest"]) == 0
    assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
    return data_dir, before, snapshot(data_dir)


def test_the_other_partners_kwh_are_untouched_and_the_plausible_session_counts(builds):
    _, before, _ = builds
    assert before["energy"] == {("alpha", EAN_A): Decimal("11"), ("beta", EAN_B): Decimal("10.25")}


def test_an_implausible_session_is_excluded_with_its_claim_and_the_bound(builds):
    _, before, _ = builds
    adjustments = before["adjustments"]
    assert set(adjustments) == {("A2", "implausible_energy"), ("A3", "implausible_energy"),
                                ("A4", "implausible_energy"), ("A6", "overlapping_session")}
    assert adjustments[("A6", "overlapping_session")][0] == 1
    assert adjustments[("A2", "implausible_energy")] == (
        0, "energy_kwh 1000000.000000: beyond 10000 kWh, more than any session can deliver; not counted (0 kWh)")
    assert adjustments[("A3", "implausible_energy")][1].startswith("meter_stop_wh 1000011000 - meter_start_wh 11000: ")
    assert adjustments[("A4", "implausible_energy")][1].startswith(
        "meter_stop_wh 9000000000000000000 - meter_start_wh -9000000000000000000: ")
    # The claim is not energy: raw = clean + adjusted still holds, with nothing absurd summed in.
    assert before["reconciliation"] == [("alpha", Decimal("12"), Decimal("11"), Decimal("1")),
                                        ("beta", Decimal("10.25"), Decimal("10.25"), 0)]


def test_a_corrected_delivery_supersedes_the_implausible_one_and_counts(builds):
    data_dir, _, after = builds
    assert after["energy"] == {("alpha", EAN_A): Decimal("23.5"), ("beta", EAN_B): Decimal("10.25")}
    # The bad version stays excluded for what it claimed (0 kWh); the correction is the latest and counts.
    versions = query(data_dir, "select version_status, exclusion_reason, raw_kwh, clean_kwh "
                               "from marts.fct_session_versions where session_ref = 'A2' order by received_at")
    assert versions == [("superseded_by_correction", "implausible_energy", 0, 0),
                        ("latest", None, Decimal("12.5"), Decimal("12.5"))]


@pytest.mark.parametrize("field, kwh, export_kwh", [("total_energy", "1000000000000", None),
                                                    ("total_energy", "1E+40", None),
                                                    ("(cdr)", "12.5", "1E+13")])
def test_an_ocpi_cdr_with_more_kwh_than_the_landing_holds_is_refused_with_a_reason_not_a_crash(field, kwh, export_kwh):
    from ocpi_server import make_cdr

    from joulo_pipelines.lib.ocpi.cdrs import parse_cdr

    problems = parse_cdr(make_cdr("CDR1", "E1", "2026-01-10T18:00:00Z", "2026-01-10T20:00:00Z", kwh,
                                  "2026-01-11T00:00:00Z", export_kwh=export_kwh), 0)
    assert [(p.cdr_id, p.field) for p in problems] == [("CDR1", field)]
    assert "1E+12" in problems[0].reason or "1000000000000" in problems[0].reason
