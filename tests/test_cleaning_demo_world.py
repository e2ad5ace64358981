"""The demo world's mess, cleaned: every kWh of every EAN and quarter explained, none counted twice."""

import duckdb



def test_every_kwh_the_partners_files_delivered_is_either_counted_or_adjusted_once(in_demo_world):
    """Independent of the marts' own reconciliation: the delivered kWh are read straight from the landed
    Parquet (the file contract's rule: the registers' difference, else energy_kwh), per charge point over
    2026, and must equal that charge point's clean kWh in the quarter marts plus its adjusted kWh."""
    landed = f"{in_demo_world.landing}/*/sessions/*.parquet"
    with duckdb.connect(str(in_demo_world.warehouse), read_only=True) as con:
        rows = con.execute(
            f"""
            with delivered as (
                select partner_id, charge_point_ref,
                       sum(case when meter_start_wh is not null and meter_stop_wh is not null
                                then cast((meter_stop_wh - meter_start_wh) * 0.001 as decimal(18, 6))
                                else cast(energy_kwh as decimal(18, 6)) end) as kwh,
                       bool_or(ended_at >= timestamptz '2027-01-01 00:00:00+01') as runs_into_2027
                from read_parquet('{landed}', union_by_name = true)
                group by all
            ),
            counted as (
                select partner_id, charge_point_ref, sum(kwh) as kwh from (
                    select partner_id, charge_point_ref, kwh from marts.fct_charge_point_quarter_energy
                    union all
                    select partner_id, charge_point_ref, kwh from marts.fct_energy_adjustments
                ) group by all
            )
            select delivered.partner_id, delivered.charge_point_ref, delivered.kwh, counted.kwh,
                   delivered.runs_into_2027
            from delivered left join counted using (partner_id, charge_point_ref)
            """
        ).fetchall()
    # A charge point with a session running into 2027 has a piece in a quarter not built here.
    whole_year = [(partner, cp, files, marts) for partner, cp, files, marts, into_2027 in rows
                  if not into_2027]
    assert len(whole_year) >= 30 and {partner for partner, *_ in whole_year} == {"voltnet", "laadwerk", "groenstroom"}
    assert [row for row in whole_year if row[2] != row[3]] == []


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
