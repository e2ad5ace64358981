"""The session models incremental by delivery: after late files, a build cleans again only the charge points
they touched, and its tables equal a full rebuild's (`joulo run --full-refresh`) row for row. A small world of
two partners; four builds of one quarter: the first, one after each of two late files, and the full one."""

import duckdb
import pytest

from conftest import drop
from joulo_pipelines import cli

CUSTOMERS = (
    "customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,"
    "mandate_valid_from,mandate_valid_until\n"
    "C1,An Jansen,an@mail.example,NL91ABNA0417164300,Kerkstraat,1,1011 AB,Amsterdam,871685900000000011,"
    "2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n"
    "C2,Bo Visser,bo@mail.example,NL91ABNA0417164300,Molenweg,2,3511AB,Utrecht,871685900000000028,"
    "2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n"
)
CHARGE_POINTS = (
    "charge_point_ref,customer_ref,brand,model,serial_number,meter_serial,installed_at\n"
    "CP1,C1,Alfen,Eve Single Pro-line,SN1,M1,2025-01-01\n"
    "CP2,C2,Ohme,Home Pro,SN2,M2,2025-01-01\n"
    "CP3,C2,Zaptec,Go,SN3,M3,2025-01-01\n"
)
HEADER = "session_ref,charge_point_ref,started_at,ended_at,meter_start_wh,meter_stop_wh,energy_export_kwh\n"
SESSIONS = HEADER + (
    "S1,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,1000000,1012000,\n"
    "S2,CP1,2026-02-01T18:00:00Z,2026-02-01T21:00:00Z,1012000,1020000,\n"
    "S3,CP1,2026-03-31T20:00:00Z,2026-03-31T23:00:00Z,1027500,1057500,\n"   # over the Q1/Q2 edge
    "S4,CP2,2026-02-10T18:00:00Z,2026-02-10T20:00:00Z,5000,11000,\n"
    "S5,CP3,2026-03-01T18:00:00Z,2026-03-01T20:00:00Z,0,7000,\n"
    "S6,CP3,2026-03-30T18:00:00Z,2026-03-30T20:00:00Z,7000,9000,\n"          # after the first as-of date
)
BETA_CUSTOMERS = (CUSTOMERS.splitlines()[0] + "\n"
                  "CB1,Cas Bos,cas@mail.example,,Dorpsstraat,3,9711AB,Groningen,871685900000000035,"
                  "2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n")
BETA_SESSIONS = ("session_ref;charge_point_ref;started_at;ended_at;energy_kwh\n"
                 "B1;CPB1;2026-03-15T10:00:00;2026-03-15T12:00:00;10,0\n"
                 "B2;CPB1;2026-03-15T11:00:00;2026-03-15T13:00:00;8,0\n")
# Late, one after the other: S4 corrected onto CP1 (CP2 keeps its superseded version); a new session
# overlapping S5; a meter reading that splits S3 at the edge otherwise.
LATE_SESSIONS = HEADER + (
    "S4,CP1,2026-02-10T18:00:00Z,2026-02-10T20:00:00Z,1020000,1026000,\n"
    "S7,CP3,2026-03-01T19:00:00Z,2026-03-01T21:00:00Z,3000,10000,\n"
)
# With them, beta's customer gets an IBAN: its checks (and only its) are made again.
LATE_BETA_CUSTOMERS = BETA_CUSTOMERS.replace("cas@mail.example,,", "cas@mail.example,NL91ABNA0417164300,")
LATE_READINGS = "charge_point_ref,read_at,register_wh\nCP1,2026-03-31T22:10:00Z,1051500\n"

TABLES = ["intermediate.int_sessions_cleaned", "intermediate.int_session_quarter_pieces",
          "marts.fct_ean_quarter_energy", "marts.fct_energy_adjustments", "marts.fct_energy_reconciliation",
          "marts.fct_charge_point_quarter_energy", "intermediate.int_customer_checks"]


def tables(data_dir) -> dict[str, list[tuple]]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return {table: sorted(con.execute(f"select * from {table}").fetchall(), key=repr) for table in TABLES}


def touched(data_dir) -> set[tuple]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return set(con.execute("select * from intermediate.int_session_charge_points_touched").fetchall())


def pieces_whole(data_dir) -> bool:
    """Whether the build replaced the quarter's pieces (and the per-charge-point marts) whole."""
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute("select whole_quarter from intermediate.int_session_quarter_pieces_scope").fetchone()[0]


def exports(data_dir) -> dict[str, tuple[bytes, int]]:
    """Every file the quarter run wrote under exports/: its bytes and modification time."""
    return {str(path.relative_to(data_dir.exports)): (path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(data_dir.exports.rglob("*")) if path.is_file()}


def build(monkeypatch, as_of: str, *options: str) -> None:
    monkeypatch.setenv("JOULO_AS_OF", as_of)
    assert cli.main(["ingest"]) == 0
    assert cli.main(["run", "--quarter", "2026-Q1", *options]) == 0


@pytest.fixture(scope="module")
def builds(module_data_dir):
    """What each build left: touched charge points and tables, after the first build, each late file and
    the full rebuild."""
    data_dir, seen = module_data_dir, {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        drop(data_dir, "alpha", "customers.csv", CUSTOMERS, mtime="2026-01-02T06:00:00+00:00")
        drop(data_dir, "alpha", "charge_points.csv", CHARGE_POINTS, mtime="2026-01-02T06:00:00+00:00")
        drop(data_dir, "alpha", "sessions_q1.csv", SESSIONS, mtime="2026-03-20T06:00:00+00:00")
        drop(data_dir, "beta", "customers.csv", BETA_CUSTOMERS)
        drop(data_dir, "beta", "charge_points.csv", "charge_point_ref;customer_ref;brand;model;serial_number\n"
                                                    "CPB1;CB1;KEBA;P30;SN9\n")
        drop(data_dir, "beta", "sessions.csv", BETA_SESSIONS)
        build(monkeypatch, "2026-03-25")
        seen["first"] = touched(data_dir), tables(data_dir), exports(data_dir), pieces_whole(data_dir)
        drop(data_dir, "alpha", "sessions_late.csv", LATE_SESSIONS, mtime="2026-04-03T06:00:00+00:00")
        build(monkeypatch, "2026-03-25")
        seen["late sessions"] = touched(data_dir), tables(data_dir), exports(data_dir), pieces_whole(data_dir)
        drop(data_dir, "alpha", "meter_readings.csv", LATE_READINGS, mtime="2026-04-04T06:00:00+00:00")
        drop(data_dir, "beta", "customers_iban.csv", LATE_BETA_CUSTOMERS)
        build(monkeypatch, "2026-04-15")  # and S6 is no longer in the future
        seen["late readings"] = touched(data_dir), tables(data_dir), exports(data_dir), pieces_whole(data_dir)
        build(monkeypatch, "2026-04-15", "--full-refresh")
        seen["full refresh"] = touched(data_dir), tables(data_dir), exports(data_dir), pieces_whole(data_dir)
    return seen


def test_a_late_file_cleans_again_only_the_charge_points_it_touched(builds):
    assert builds["first"][0] == set()  # the first build is a full one
    # S4 moved from CP2 to CP1 (both change), S7 lands on CP3; beta's CPB1 is left alone
    assert builds["late sessions"][0] == {("alpha", "CP1"), ("alpha", "CP2"), ("alpha", "CP3")}
    # the reading is CP1's (and S4 has versions on CP1 and CP2); the clock moving past S6 touches CP3
    assert builds["late readings"][0] == {("alpha", "CP1"), ("alpha", "CP2"), ("alpha", "CP3")}
    assert builds["full refresh"][0] == set()
    # and the marts of the quarter's pieces replace only those charge points' rows too
    assert [builds[name][3] for name in builds] == [True, False, False, True]


def test_the_late_files_change_the_tables(builds):
    first, late = builds["first"][1], builds["late readings"][1]
    assert all(first[table] != late[table] for table in TABLES if "reconciliation" not in table)


def test_incremental_builds_leave_the_same_tables_as_a_full_rebuild(builds):
    # (CP2 is cleaned again in the last incremental build only because S4 is on it: without that, its
    # version of S4 would still be the latest one here)
    incremental, full = builds["late readings"][1], builds["full refresh"][1]
    for table in TABLES:
        assert incremental[table] == full[table], table


def test_a_late_file_of_one_partner_leaves_the_other_partners_files_as_they_were(builds):
    # alpha's late sessions: beta's MID scan and report pages, the year's EAN claim review (no claim
    # changed) and the REV reconciliation (no units issued) keep their bytes and file times; alpha's change
    before, after = builds["first"][2], builds["late sessions"][2]
    kept = [path for path in before if "beta" in path.split("/") or path.startswith("review/")
            or path.endswith("rev/reconciliation.csv")]
    assert len(kept) >= 6
    assert {path: after[path] for path in kept} == {path: before[path] for path in kept}
    assert any(after[path] != before[path] for path in before if "alpha" in path.split("/"))
