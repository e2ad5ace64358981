"""The calendar's awkward nights in the warehouse, through real dbt builds: a session over New Year's night,
one over each DST change, one on a leap day. Quarter edges are Europe/Amsterdam midnights; a session's kWh
are split over them by the true elapsed time (no meter readings here), and nothing is lost or created. The
expected kWh are worked out by hand in the comments from the sessions below.

2026's quarters are run the operator's way (`joulo run`). 2027-Q1 and 2028-Q1 are built by dbt directly:
Dagster's quarter partitions end at the wall clock's quarter (not JOULO_AS_OF's), and neither year has ERE
parameters yet, which fails that build by design after the energy marts are built: the first test is where
that rule (assert_every_delivery_year_has_ere_parameters, naming how many years miss them) is tested."""

import os
import subprocess
from decimal import Decimal

import duckdb
import pytest

from conftest import drop
from joulo_pipelines import cli
from joulo_pipelines.lib.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR

EANS = {"CPS": "871685900000000011", "CPA": "871685900000000028", "CPN": "871685900000000035",
        "CPL": "871685900000000042"}
Q4_2026, Q1_2027 = "2026-10-01", "2027-01-01"
Q1_2026, Q2_2026, Q1_2028 = "2026-01-01", "2026-04-01", "2028-01-01"

CUSTOMERS = (
    "customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,"
    "mandate_valid_from,mandate_valid_until\n"
    + "".join(f"C{cp},An Jansen,an@mail.example,NL91ABNA0417164300,Kerkstraat,{n},1011 AB,Amsterdam,{ean},"
              "2025-12-01T10:00:00Z,2026-01-01,2028-12-31\n" for n, (cp, ean) in enumerate(EANS.items(), 1))
)
CHARGE_POINTS = (
    "charge_point_ref,customer_ref,brand,model,serial_number,meter_serial,installed_at\n"
    + "".join(f"{cp},C{cp},Alfen,Eve Single Pro-line,SN{cp},M{cp},2025-01-01\n" for cp in EANS)
)
# One charge point (and EAN) per session, so each session's quarters show in fct_charge_point_quarter_energy.
# Times in UTC; the Amsterdam wall clock is in the comment. No meter readings: every split is pro rata time.
SESSIONS = (
    "session_ref,charge_point_ref,started_at,ended_at,meter_start_wh,meter_stop_wh\n"
    # Spring forward (29 March 02:00 CET -> 03:00 CEST), then over the Q1/Q2 edge (1 April 00:00 CEST =
    # 31 March 22:00 UTC): 29 Mar 01:00 CET -> 1 Apr 01:00 CEST is 72 wall-clock hours but 71 true ones,
    # 70 of them before the edge. 71 kWh: 70 in Q1, 1 in Q2 (a wall-clock split would give 71/72 in Q1).
    "SPRING,CPS,2026-03-29T00:00:00Z,2026-03-31T23:00:00Z,1000000,1071000\n"
    # Fall back (25 October 03:00 CEST -> 02:00 CET): 01:00 CEST -> 04:00 CET is 3 wall-clock hours but 4
    # true ones. 88 kWh in 4 hours is 22 kW, within the charger's 22 kW (+10%); in 3 hours it would be
    # 29.3 kW and excluded as implausible. All of it in Q4.
    "AUTUMN,CPA,2026-10-24T23:00:00Z,2026-10-25T03:00:00Z,1071000,1159000\n"
    # New Year's night: 31 Dec 23:00 CET -> 1 Jan 01:00 CET, the edge at 2026-12-31 23:00 UTC halfway
    # through. 10 kWh: 5 in 2026-Q4, 5 in 2027-Q1 (a UTC edge would put all 10 in 2026).
    "NEWYEAR,CPN,2026-12-31T22:00:00Z,2027-01-01T00:00:00Z,1159000,1169000\n"
    # Leap day: 29 Feb 2028 23:00 CET -> 1 Mar 00:30 CET, 6 kWh, all in 2028-Q1.
    "LEAP,CPL,2028-02-29T22:00:00Z,2028-02-29T23:30:00Z,1169000,1175000\n"
)
EXPECTED_KWH = {
    ("CPS", Q1_2026): Decimal("70"), ("CPS", Q2_2026): Decimal("1"),
    ("CPA", Q4_2026): Decimal("88"),
    ("CPN", Q4_2026): Decimal("5"), ("CPN", Q1_2027): Decimal("5"),
    ("CPL", Q1_2028): Decimal("6"),
}
QUARTERS = ("2026-Q1", "2026-Q2", "2026-Q4")
DBT_BUILDS = {"2027-Q1": ("2027-01-01", "2027-04-01"), "2028-Q1": ("2028-01-01", "2028-04-01")}


def dbt_build(data_dir, quarter_start: str, quarter_end: str) -> subprocess.CompletedProcess:
    """The quarter's build as the quarter job runs it: the quarter and the clock in the environment, in the
    data dir's dbt target (where the runs before it left their parse), without dbt's unit tests (test_pipeline
    runs them)."""
    quarter = {"JOULO_QUARTER_START": quarter_start, "JOULO_QUARTER_END": quarter_end,
               "JOULO_BUILD_AS_OF": "2028-04-15T00:00:00+02:00"}
    return subprocess.run(
        [str(DBT_EXECUTABLE), "build", "--exclude-resource-type", "unit_test", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(data_dir.dbt_target)],
        capture_output=True, text=True, env={**os.environ, **quarter})


@pytest.fixture(scope="module")
def built(module_data_dir):
    data_dir = module_data_dir
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("JOULO_AS_OF", "2027-02-15")
        drop(data_dir, "alpha", "customers.csv", CUSTOMERS, mtime="2026-01-02T06:00:00+00:00")
        drop(data_dir, "alpha", "charge_points.csv", CHARGE_POINTS, mtime="2026-01-02T06:00:00+00:00")
        drop(data_dir, "alpha", "sessions.csv", SESSIONS, mtime="2027-01-02T06:00:00+00:00")
        assert cli.main(["ingest"]) == 0
        outcomes = {quarter: cli.main(["run", "--quarter", quarter]) for quarter in QUARTERS}
        outcomes |= {quarter: dbt_build(data_dir, *window) for quarter, window in DBT_BUILDS.items()}
        yield data_dir, outcomes


def query(data_dir, sql, params=()):
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def test_every_quarter_builds_and_2027_and_2028_stop_only_for_their_missing_ere_parameters(built):
    _, outcomes = built
    assert {quarter: outcomes[quarter] for quarter in QUARTERS} == {quarter: 0 for quarter in QUARTERS}
    # The check reads every quarter built so far: 2027 is missing, then 2027 and 2028.
    for quarter, years_missing in (("2027-Q1", 1), ("2028-Q1", 2)):
        failures = [line for line in outcomes[quarter].stdout.splitlines() if " FAIL " in line or " ERROR " in line]
        assert len(failures) == 1, outcomes[quarter].stdout
        assert f"FAIL {years_missing} assert_every_delivery_year_has_ere_parameters" in failures[0]


def test_sessions_over_a_quarter_edge_are_split_by_the_true_elapsed_time_in_amsterdam(built):
    data_dir, _ = built
    rows = query(data_dir, "select charge_point_ref, quarter_start::varchar, sum(kwh) "
                           "from marts.fct_charge_point_quarter_energy group by all")
    assert {(cp, quarter): kwh for cp, quarter, kwh in rows} == EXPECTED_KWH


def test_no_kwh_is_lost_or_created_over_the_edges(built):
    data_dir, _ = built
    rows = query(data_dir, "select ean, quarter_start::varchar, raw_kwh, clean_kwh, adjusted_kwh "
                           "from marts.fct_energy_reconciliation")
    assert sorted(rows) == sorted([
        (EANS["CPS"], Q1_2026, 70, 70, 0), (EANS["CPS"], Q2_2026, 1, 1, 0),  # 71 delivered
        (EANS["CPA"], Q4_2026, 88, 88, 0),                                    # 88 delivered
        (EANS["CPN"], Q4_2026, 5, 5, 0), (EANS["CPN"], Q1_2027, 5, 5, 0),     # 10 delivered
        (EANS["CPL"], Q1_2028, 6, 6, 0),                                      # 6 delivered
    ])
    assert query(data_dir, "select count(*) from marts.fct_energy_adjustments")[0][0] == 0


def test_the_year_edge_session_counts_in_each_years_own_delivery_year(built):
    data_dir, _ = built
    rows = query(data_dir, "select quarter_start::varchar, delivery_year, kwh from marts.fct_ean_quarter_energy "
                           "where ean = ? order by 1", [EANS["CPN"]])
    assert rows == [(Q4_2026, 2026, Decimal("5")), (Q1_2027, 2027, Decimal("5"))]


def test_a_leap_day_session_lands_whole_in_its_quarter(built):
    data_dir, _ = built
    rows = query(data_dir, "select quarter_start::varchar, kwh, delivery_year from marts.fct_ean_quarter_energy "
                           "where ean = ?", [EANS["CPL"]])
    assert rows == [(Q1_2028, Decimal("6"), 2028)]
