"""The demo world's mess, cleaned: every kWh of every EAN and quarter explained, none counted twice."""

import duckdb

from joulo_pipelines.lib.status import reconciliation_breaks


def test_raw_equals_clean_plus_adjusted_for_every_ean_and_quarter_of_the_demo(in_demo_world):
    with duckdb.connect(str(in_demo_world.warehouse), read_only=True) as con:
        checked, breaks = reconciliation_breaks(con)
    assert checked > 4 * 75  # every EAN of every partner in every quarter, plus the unknown ones
    assert breaks == []


def test_the_demo_trips_every_rule_the_file_sources_can(in_demo_world):
    with duckdb.connect(str(in_demo_world.warehouse), read_only=True) as con:
        reasons = {r for (r,) in con.execute("select distinct reason_code from marts.fct_energy_adjustments").fetchall()}
    assert reasons >= {"duplicate_delivery", "superseded_by_correction", "unknown_charge_point", "timestamp_in_future",
                       "register_backwards", "zero_energy", "implausible_power", "overlapping_session", "v2g_export",
                       "long_session", "meter_register_reset"}


def test_each_charge_points_clean_kwh_over_the_quarters_add_up_to_its_sessions_exactly(in_demo_world):
    with duckdb.connect(str(in_demo_world.warehouse), read_only=True) as con:
        rows = con.execute(
            """
            with sessions as (
                select partner_id, charge_point_ref, sum(clean_micro_kwh) as clean_micro_kwh,
                       bool_or(ended_at >= timestamptz '2027-01-01 00:00:00+01') as runs_into_2027
                from intermediate.int_sessions_cleaned
                where is_latest and exclusion_reason is null and ean is not null
                group by all
            ),
            quarters as (
                select partner_id, charge_point_ref, sum(kwh) * 1000000 as micro_kwh
                from marts.fct_charge_point_quarter_energy group by all
            )
            select quarters.micro_kwh, sessions.clean_micro_kwh, sessions.runs_into_2027
            from sessions join quarters using (partner_id, charge_point_ref)
            """
        ).fetchall()
    # A charge point with a session running into 2027 has a piece in a quarter not built here.
    whole_year = [(in_quarters, in_sessions) for in_quarters, in_sessions, runs_on in rows if not runs_on]
    assert len(whole_year) > 20
    assert all(in_quarters == in_sessions for in_quarters, in_sessions in whole_year)
