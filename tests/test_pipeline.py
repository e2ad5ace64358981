"""End to end through the CLI (the same Dagster jobs the UI runs): hand-made file drops in, kWh and ERE
per EAN per quarter out, checked against values this test computes from the rows it wrote."""

import json
from collections import Counter
from datetime import datetime
from decimal import Decimal

import duckdb
import pytest
from cli_tables import table

from conftest import drop
from joulo_pipelines import cli

ERE_PER_KWH_2026 = Decimal("0.505") * 183 * Decimal("3.6") / 1000
EAN_1, EAN_2, EAN_B = "871685900000000011", "871685900000000028", "871685900000000035"

CUSTOMERS = (
    "customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,"
    "mandate_valid_from,mandate_valid_until\n"
    f"C1,An Jansen,an@mail.example,NL91ABNA0417164300,Kerkstraat,1,1011 AB,Amsterdam,{EAN_1},2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n"
    f"C2,Bo Visser,bo@mail.example,NL91ABNA0417164300,Molenweg,2,3511AB,Utrecht,{EAN_2},2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n"
)
CHARGE_POINTS = (
    "charge_point_ref,customer_ref,brand,model,serial_number,meter_serial\n"
    "CP1,C1,Alfen,Eve Single Pro-line,SN1,M1\nCP2,C2,Zaptec,Go,SN2,M2\nCP3,C1,Easee,Home,SN3,M3\n"
)
# (session_ref, charge_point, start, end, meter_start_wh, meter_stop_wh, energy_kwh, energy_export_kwh)
SESSIONS = [
    ("S1", "CP1", "2026-01-10T18:00:00Z", "2026-01-10T20:00:00Z", 1000000, 1012345, None, None),
    ("S2", "CP1", "2026-02-01T18:00:00Z", "2026-02-01T21:00:00Z", 1012345, 1020000, None, "0.5"),
    # Spans the Q1/Q2 edge, 2026-04-01T00:00 Amsterdam = 2026-03-31T22:00Z: 3 of its 8 hours are in Q1.
    ("S3", "CP2", "2026-03-31T21:00:00+02:00", "2026-04-01T05:00:00+02:00", 0, 20001, None, None),
    ("S4", "CP3", "2026-03-02T07:00:00Z", "2026-03-02T08:00:00Z", None, None, "5.5", None),
    ("S5", "CP1", "2026-03-05T18:00:00Z", "2026-03-05T19:00:00Z", 1020000, 1029000, None, None),
    ("S6", "CPX", "2026-03-06T18:00:00Z", "2026-03-06T19:00:00Z", 0, 4000, None, None),  # unknown charge point
]
S5_CORRECTED_STOP = 1027500
BETA_SESSIONS = (
    "session_ref;charge_point_ref;started_at;ended_at;energy_kwh\n"
    "B1;CPB1;2026-03-15T10:00:00;2026-03-15T12:00:00;3,25\n"
    "B2;CPB1;2026-03-29T01:30:00;2026-03-29T02:30:00;9,99\n"  # 02:30 does not exist that night: quarantined
)


def csv_rows(rows):
    header = "session_ref,charge_point_ref,started_at,ended_at,meter_start_wh,meter_stop_wh,energy_kwh,energy_export_kwh\n"
    return header + "".join(",".join("" if v is None else str(v) for v in row) + "\n" for row in rows)


def session_kwh(row):
    _, _, _, _, start_wh, stop_wh, energy, export = row
    delivered = Decimal(stop_wh - start_wh) / 1000 if start_wh is not None else Decimal(energy)
    return delivered - Decimal(export or 0)


def share_in_window(row, window_start, window_end):
    start, end = datetime.fromisoformat(row[2].replace("Z", "+00:00")), datetime.fromisoformat(row[3].replace("Z", "+00:00"))
    overlap = (min(end, window_end) - max(start, window_start)).total_seconds()
    return Decimal(max(overlap, 0)) / Decimal((end - start).total_seconds())


@pytest.fixture(scope="module")
def built(module_data_dir):
    data_dir = module_data_dir
    drop(data_dir, "alpha", "customers.csv", CUSTOMERS, mtime="2026-01-02T06:00:00+00:00")
    drop(data_dir, "alpha", "charge_points.csv", CHARGE_POINTS, mtime="2026-01-02T06:00:00+00:00")
    drop(data_dir, "alpha", "sessions_q1.csv", csv_rows(SESSIONS), mtime="2026-04-02T06:00:00+00:00")
    corrected = [(*SESSIONS[4][:5], S5_CORRECTED_STOP, None, None)]
    drop(data_dir, "alpha", "sessions_q1_fix.csv", csv_rows(corrected), mtime="2026-04-20T06:00:00+00:00")
    drop(data_dir, "beta", "customers.csv", CUSTOMERS.splitlines()[0] + "\n"
         f"CB1,Cas Bos,cas@mail.example,,Dorpsstraat,3,9711AB,Groningen,{EAN_B},2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n")
    drop(data_dir, "beta", "charge_points.csv", "charge_point_ref;customer_ref;brand;model;serial_number\nCPB1;CB1;KEBA;P30;SN9\n")
    drop(data_dir, "beta", "sessions.csv", BETA_SESSIONS)
    assert cli.main(["ingest"]) == 0
    assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
    assert cli.main(["run", "--quarter", "2026-04-01"]) == 0
    return data_dir


def quarter_energy(data_dir):
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        rows = con.execute(
            "select partner_id, ean, quarter_start::varchar, kwh, ere_estimate, session_count "
            "from marts.fct_ean_quarter_energy order by all").fetchall()
    return {(p, e, q): (kwh, ere, n) for p, e, q, kwh, ere, n in rows}


def test_kwh_and_ere_per_ean_per_quarter_match_a_hand_computation(built):
    from zoneinfo import ZoneInfo

    ams = ZoneInfo("Europe/Amsterdam")
    q1 = (datetime(2026, 1, 1, tzinfo=ams), datetime(2026, 4, 1, tzinfo=ams))
    q2 = (datetime(2026, 4, 1, tzinfo=ams), datetime(2026, 7, 1, tzinfo=ams))
    final = [r if r[0] != "S5" else (*r[:5], S5_CORRECTED_STOP, None, None) for r in SESSIONS]
    by_ref = {r[0]: r for r in final}
    s3_q1 = (session_kwh(by_ref["S3"]) * share_in_window(by_ref["S3"], *q1)).quantize(Decimal("0.000001"))
    expected = {
        ("alpha", EAN_1, "2026-01-01"): (sum(session_kwh(by_ref[s]) for s in ("S1", "S2", "S4", "S5")), 4),
        ("alpha", EAN_2, "2026-01-01"): (s3_q1, 1),
        ("alpha", EAN_2, "2026-04-01"): (session_kwh(by_ref["S3"]) - s3_q1, 1),
        ("beta", EAN_B, "2026-01-01"): (Decimal("3.25"), 1),
    }
    assert share_in_window(by_ref["S3"], *q2) == Decimal(5) / 8
    actual = quarter_energy(built)
    assert set(actual) == set(expected)
    for key, (kwh, sessions) in expected.items():
        got_kwh, got_ere, got_sessions = actual[key]
        assert (got_kwh, got_sessions) == (kwh, sessions), key
        assert got_ere == kwh * ERE_PER_KWH_2026, key


def test_sessions_mart_keeps_the_latest_version_and_its_lineage(built):
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        rows = con.execute(
            "select session_ref, ean, kwh, source_file, line_number from marts.fct_charging_sessions "
            "where partner_id = 'alpha' order by session_ref").fetchall()
    by_ref = {r[0]: r for r in rows}
    assert set(by_ref) == {"S1", "S2", "S3", "S4", "S5", "S6"}
    assert by_ref["S5"][2:] == (Decimal("7.500"), "alpha/sessions_q1_fix.csv", 2)
    assert by_ref["S1"][3:] == ("alpha/sessions_q1.csv", 2)
    assert by_ref["S6"][1] is None  # unknown charge point: no EAN, so no booking


def test_rerunning_a_quarter_gives_the_same_result(built):
    before = quarter_energy(built)
    assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
    assert quarter_energy(built) == before


def test_dbts_log_file_holds_the_builds_messages_not_every_statement(built):
    """dbt.log at info (defs/warehouse/assets.py): each model's and test's result, as Dagster shows them,
    without debug's statements and connections (megabytes a build)."""
    lines = [json.loads(line) for line in (built.dbt_target / "dbt.log").read_text().splitlines()]
    levels = Counter(line["info"]["level"] for line in lines)
    assert levels["info"] and set(levels) <= {"info", "warn"}, levels
    assert {"LogModelResult", "LogTestResult"} <= {line["info"]["name"] for line in lines}


def test_status_shows_files_and_quarter_totals(built, capsys):
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    totals = table(out, "quarter", "partner", "EANs", "charge points", "sessions", "kWh", "ERE (estimate)")
    assert {(row["quarter"], row["partner"]) for row in totals} >= {("2026-Q1", "alpha"), ("2026-Q1", "beta")}
    files = {row.pop("partner"): row for row in table(out, "partner", "files landed", "with bad rows", "rejected",
                                                      "rows landed", "rows quarantined")}
    assert list(files["beta"].values()) == ["3", "1", "0", "3", "1"]  # 3 files landed, 1 with a bad row


def test_the_dbt_unit_tests_of_the_kwh_and_ean_claim_rules_pass(built):
    import subprocess

    from joulo_pipelines.lib.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR

    run = subprocess.run(
        [str(DBT_EXECUTABLE), "test", "--select", "test_type:unit", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(built.root / "dbt_unit_target")],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stdout
    assert "PASS fct_charging_sessions::registers_win_over_energy_kwh_and_export_is_deducted" in run.stdout
    assert "PASS int_ean_year_claims::a_claim_in_a_submitted_booking_keeps_its_ean" in run.stdout
