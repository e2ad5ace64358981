"""Session cleaning end to end through the CLI: a hand-made data set that trips every rule, with the clean kWh
per EAN per quarter, every adjustment and the raw kWh delivered written down here."""

import shutil
from decimal import Decimal

import duckdb
import pytest
from cli_tables import table

from conftest import drop
from joulo_pipelines import cli

EAN_1, EAN_2, EAN_B = "871685900000000011", "871685900000000028", "871685900000000035"
Q1, Q2 = "2026-01-01", "2026-04-01"

CUSTOMERS = (
    "customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,"
    "mandate_valid_from,mandate_valid_until\n"
    f"C1,An Jansen,an@mail.example,NL91ABNA0417164300,Kerkstraat,1,1011 AB,Amsterdam,{EAN_1},2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n"
    f"C2,Bo Visser,bo@mail.example,NL91ABNA0417164300,Molenweg,2,3511AB,Utrecht,{EAN_2},2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n"
)
# CP4's customer C9 is never delivered: its sessions have no EAN.
CHARGE_POINTS = (
    "charge_point_ref,customer_ref,brand,model,serial_number,meter_serial,installed_at\n"
    "CP1,C1,Alfen,Eve Single Pro-line,SN1,M1,2025-01-01\n"
    "CP2,C2,Ohme,Home Pro,SN2,M2,2026-02-01\n"
    "CP4,C9,Zaptec,Go,SN4,M4,\n"
)
HEADER = "session_ref,charge_point_ref,started_at,ended_at,meter_start_wh,meter_stop_wh,energy_export_kwh\n"
S1 = "S1,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,1000000,1012000,\n"
SESSIONS = HEADER + S1 + S1 + (  # S1 delivered twice: an exact duplicate
    "S2,CP1,2026-02-01T18:00:00Z,2026-02-01T21:00:00Z,1012000,1020000,0.5\n"       # V2G export 0.5
    "S5,CP1,2026-03-05T18:00:00Z,2026-03-05T19:00:00Z,1020000,1029000,\n"          # corrected below
    # Over the Q1/Q2 edge (2026-04-01 00:00 +02:00 = 22:00 UTC); the reading at 22:10 UTC says 24 of 30 kWh in Q1.
    "S3,CP1,2026-03-31T20:00:00Z,2026-03-31T23:00:00Z,1027500,1057500,\n"
    "S6,CP1,2026-04-10T18:00:00Z,2026-04-10T20:00:00Z,1057500,1067500,\n"
    "S7,CP1,2026-04-10T19:00:00Z,2026-04-10T21:00:00Z,1062500,1070000,\n"          # overlaps S6 by 5000 Wh
    "S8,CP1,2026-04-12T18:00:00Z,2026-04-12T19:00:00Z,1070000,1100000,\n"          # 30 kW on a 22 kW charger
    "S9,CP1,2026-04-13T18:00:00Z,2026-04-13T19:00:00Z,1070000,1070000,\n"          # zero energy
    "S10,CP1,2026-04-14T18:00:00Z,2026-04-14T19:00:00Z,1075000,1070000,\n"         # register backwards
    "S11,CP1,2026-05-01T18:00:00Z,2026-05-09T18:00:00Z,1070000,1090000,\n"         # 8 days: flagged, counted
    "S12,CP1,2026-06-01T18:00:00Z,2026-06-01T20:00:00Z,0,4000,\n"                  # new meter: flagged, counted
    "S13,CP1,2026-06-20T18:00:00Z,2026-06-20T20:00:00Z,4000,6000,\n"               # after the as-of date
    "S14,CP2,2026-01-20T18:00:00Z,2026-01-20T19:00:00Z,0,5000,\n"                  # before installation
    "S15,CP2,2026-02-10T18:00:00Z,2026-02-10T20:00:00Z,5000,25000,\n"              # 10 kW on a 7.4 kW Ohme
    "S16,CP2,2026-02-11T18:00:00Z,2026-02-11T20:00:00Z,25000,39000,\n"             # 7 kW: fine
    "S17,CP4,2026-02-12T18:00:00Z,2026-02-12T19:00:00Z,0,3000,\n"                  # no EAN
    "S18,CPX,2026-02-13T18:00:00Z,2026-02-13T19:00:00Z,0,4000,\n"                  # unknown charge point
)
S5_CORRECTION = HEADER + "S5,CP1,2026-03-05T18:00:00Z,2026-03-05T19:00:00Z,1020000,1027500,\n"
METER_READINGS = "charge_point_ref,read_at,register_wh\nCP1,2026-03-31T22:10:00Z,1051500\n"
BETA_SESSIONS = (
    "session_ref;charge_point_ref;started_at;ended_at;energy_kwh\n"
    "B1;CPB1;2026-03-15T10:00:00;2026-03-15T12:00:00;10,0\n"
    "B2;CPB1;2026-03-15T11:00:00;2026-03-15T13:00:00;8,0\n"   # half of it overlaps B1 in time: 4 kWh counted once
    "B3;CPB1;2026-03-31T23:00:00;2026-04-01T03:00:00;6,0\n"   # no readings: 1 of its 4 hours is in Q1
)

CLEAN = {
    ("alpha", EAN_1, Q1): Decimal("51.0"),   # S1 12 + S2 7.5 + S5 7.5 + S3 24
    ("alpha", EAN_1, Q2): Decimal("42.5"),   # S3 6 + S6 10 + S7 2.5 + S11 20 + S12 4
    ("alpha", EAN_2, Q1): Decimal("14"),     # S16
    ("beta", EAN_B, Q1): Decimal("15.5"),    # B1 10 + B2 4 + B3 1.5
    ("beta", EAN_B, Q2): Decimal("4.5"),     # B3 4.5
}
ADJUSTMENTS = {
    ("alpha", "S1", "duplicate_delivery", Q1): Decimal("12"),
    ("alpha", "S2", "v2g_export", Q1): Decimal("0.5"),
    ("alpha", "S5", "superseded_by_correction", Q1): Decimal("9"),
    ("alpha", "S7", "overlapping_session", Q2): Decimal("5"),
    ("alpha", "S8", "implausible_power", Q2): Decimal("30"),
    ("alpha", "S9", "zero_energy", Q2): Decimal("0"),
    ("alpha", "S10", "register_backwards", Q2): Decimal("-5"),
    ("alpha", "S11", "long_session", Q2): Decimal("0"),
    ("alpha", "S12", "meter_register_reset", Q2): Decimal("0"),
    ("alpha", "S13", "timestamp_in_future", Q2): Decimal("2"),
    ("alpha", "S14", "before_installation", Q1): Decimal("5"),
    ("alpha", "S15", "implausible_power", Q1): Decimal("20"),
    ("alpha", "S17", "unknown_ean", Q1): Decimal("3"),
    ("alpha", "S18", "unknown_charge_point", Q1): Decimal("4"),
    ("beta", "B2", "overlapping_session", Q1): Decimal("4"),
}


@pytest.fixture(scope="module")
def built(module_data_dir):
    data_dir = module_data_dir
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("JOULO_AS_OF", "2026-06-15")  # S13 lies after it
        drop(data_dir, "alpha", "customers.csv", CUSTOMERS, mtime="2026-01-02T06:00:00+00:00")
        drop(data_dir, "alpha", "charge_points.csv", CHARGE_POINTS, mtime="2026-01-02T06:00:00+00:00")
        drop(data_dir, "alpha", "sessions_h1.csv", SESSIONS, mtime="2026-06-02T06:00:00+00:00")
        drop(data_dir, "alpha", "sessions_fix.csv", S5_CORRECTION, mtime="2026-06-03T06:00:00+00:00")
        drop(data_dir, "alpha", "meter_readings.csv", METER_READINGS, mtime="2026-06-02T06:00:00+00:00")
        drop(data_dir, "beta", "customers.csv", CUSTOMERS.splitlines()[0] + "\n"
             f"CB1,Cas Bos,cas@mail.example,,Dorpsstraat,3,9711AB,Groningen,{EAN_B},2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n")
        drop(data_dir, "beta", "charge_points.csv", "charge_point_ref;customer_ref;brand;model;serial_number\nCPB1;CB1;KEBA;P30;SN9\n")
        drop(data_dir, "beta", "sessions.csv", BETA_SESSIONS)
        assert cli.main(["ingest"]) == 0
        assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
        assert cli.main(["run", "--quarter", "2026-Q2"]) == 0
        yield data_dir


def query(data_dir, sql):
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_clean_kwh_per_ean_per_quarter_are_the_hand_computed_ones(built):
    rows = query(built, "select partner_id, ean, quarter_start::varchar, kwh from marts.fct_ean_quarter_energy")
    assert {(p, e, q): kwh for p, e, q, kwh in rows} == CLEAN


def test_every_rule_leaves_an_adjustment_with_its_reason_and_kwh(built):
    rows = query(built, "select partner_id, session_ref, reason_code, quarter_start::varchar, kwh "
                        "from marts.fct_energy_adjustments")
    assert {(p, s, r, q): kwh for p, s, r, q, kwh in rows} == ADJUSTMENTS


def test_raw_delivered_kwh_are_what_the_files_said_and_clean_and_adjusted_the_hand_computed_ones(built):
    rows = query(built, "select partner_id, ean, quarter_start::varchar, raw_kwh, clean_kwh, adjusted_kwh "
                        "from marts.fct_energy_reconciliation")
    adjusted = {}
    for (partner, ref, _, quarter), kwh in ADJUSTMENTS.items():
        ean = {"S14": EAN_2, "S15": EAN_2, "S17": None, "S18": None}.get(ref, EAN_B if partner == "beta" else EAN_1)
        adjusted[(partner, ean, quarter)] = adjusted.get((partner, ean, quarter), 0) + kwh
    assert {(p, e, q): (clean, adjusted_kwh) for p, e, q, _, clean, adjusted_kwh in rows} == {
        key: (CLEAN.get(key, 0), adjusted.get(key, 0)) for key in {*CLEAN, *adjusted}}
    # Raw is every delivered version's meter stop - start (or energy_kwh), read off the files above by hand.
    assert {(p, e, q): raw for p, e, q, raw, _, _ in rows} == {
        # S1 12 + S1 again 12 + S2 8 + S5 9 + its correction 7.5 + S3's 24 before the edge
        ("alpha", EAN_1, Q1): Decimal("72.5"),
        # S3's last 6 + S6 10 + S7 7.5 + S8 30 + S9 0 + S10 -5 + S11 20 + S12 4 + S13 2
        ("alpha", EAN_1, Q2): Decimal("74.5"),
        ("alpha", EAN_2, Q1): Decimal("39"),    # S14 5 + S15 20 + S16 14
        ("alpha", None, Q1): Decimal("7"),      # S17 3 + S18 4
        ("beta", EAN_B, Q1): Decimal("19.5"),   # B1 10 + B2 8 + B3 1.5
        ("beta", EAN_B, Q2): Decimal("4.5"),    # B3 4.5
    }


def test_ere_per_ean_and_quarter_is_the_hand_computed_kwh_times_the_2026_factor(built):
    # 2026: renewable share 0.505 x reference 183 g/MJ x 3.6 MJ/kWh / 1000 = 0.332694 ERE per kWh
    rows = query(built, "select partner_id, ean, quarter_start::varchar, ere_estimate from marts.fct_ean_quarter_energy")
    assert {(p, e, q): ere for p, e, q, ere in rows} == {
        ("alpha", EAN_1, Q1): Decimal("16.967394"),  # 51.0 kWh
        ("alpha", EAN_1, Q2): Decimal("14.139495"),  # 42.5 kWh
        ("alpha", EAN_2, Q1): Decimal("4.657716"),   # 14 kWh
        ("beta", EAN_B, Q1): Decimal("5.156757"),    # 15.5 kWh
        ("beta", EAN_B, Q2): Decimal("1.497123"),    # 4.5 kWh
    }


def test_a_session_over_the_quarter_edge_is_split_by_the_meter_reading_and_counted_once(built):
    rows = query(built, "select quarter_start::varchar, sum(kwh) from marts.fct_charge_point_quarter_energy "
                        "where charge_point_ref = 'CP1' group by all order by 1")
    assert rows == [(Q1, Decimal("51.0")), (Q2, Decimal("42.5"))]
    versions = query(built, "select session_ref, version_status, raw_kwh, clean_kwh from marts.fct_session_versions "
                            "where session_ref in ('S1', 'S3', 'S5') order by session_ref, received_at, line_number")
    assert versions == [("S1", "duplicate_delivery", 12, 0), ("S1", "latest", 12, 12),
                        ("S3", "latest", 30, 30),
                        ("S5", "superseded_by_correction", 9, 0), ("S5", "latest", Decimal("7.5"), Decimal("7.5"))]


def test_status_shows_adjustment_totals_by_reason(built, capsys):
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "kWh that did not count, by reason" in out
    lines = {(row["partner"], row["reason"]): [row["sessions"], row["kWh"]]
             for row in table(out, "partner", "reason", "sessions", "kWh")}
    # kWh to the tenth, as people read them (lib/formatting.py)
    assert lines[("alpha", "implausible_power")] == ["2", "50.0"]
    assert lines[("alpha", "register_backwards")] == ["1", "-5.0"]
    assert lines[("alpha", "overlapping_session")] == ["1", "5.0"]
    assert lines[("beta", "overlapping_session")] == ["1", "4.0"]


def test_the_reconciliation_check_passes_and_fails_when_a_kwh_goes_missing(built, tmp_path):
    from joulo_pipelines.defs.resources import DataDirResource
    from joulo_pipelines.defs.warehouse.checks import energy_reconciles

    assert energy_reconciles(data_dir=DataDirResource(path=str(built.root))).passed
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(built.warehouse, broken / "warehouse.duckdb")
    with duckdb.connect(str(broken / "warehouse.duckdb")) as con:
        con.execute("update marts.fct_energy_adjustments set kwh = kwh - 0.000001 where session_ref = 'S8'")
    result = energy_reconciles(data_dir=DataDirResource(path=str(broken)))
    assert not result.passed
    assert result.metadata["breaks"].value == 1
    assert EAN_1 not in str(result.metadata)  # an EAN identifies a household: never in Dagster metadata
