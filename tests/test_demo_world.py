"""The demo's realistic mess is handled: every session lands once, broken rows are explained."""

import duckdb


def test_the_demo_world_has_all_four_quarters_for_every_partner(in_demo_world):
    with duckdb.connect(str(in_demo_world.warehouse), read_only=True) as con:
        rows = con.execute(
            "select partner_id, count(distinct quarter_start), sum(kwh) > 0 from marts.fct_ean_quarter_energy "
            "group by all order by 1").fetchall()
    assert rows == [("groenstroom", 4, True), ("laadwerk", 4, True), ("voltnet", 4, True)]


def test_duplicate_rows_and_corrections_leave_one_session_each(in_demo_world):
    with duckdb.connect(str(in_demo_world.warehouse), read_only=True) as con:
        delivered, distinct, in_mart = con.execute(
            "select (select count(*) from staging.stg_landing__sessions where partner_id = 'voltnet'), "
            "(select count(distinct session_ref) from staging.stg_landing__sessions where partner_id = 'voltnet'), "
            "(select count(*) from marts.fct_charging_sessions where partner_id = 'voltnet')").fetchone()
        corrected = con.execute(
            "select count(*) from marts.fct_charging_sessions "
            "where partner_id = 'voltnet' and source_file like '%correction%'").fetchone()[0]
    assert delivered == distinct + 20 + 25  # 20 duplicated rows, 25 corrections
    assert in_mart == distinct
    assert corrected == 25


def test_broken_rows_of_the_demo_are_quarantined_with_reasons(in_demo_world):
    reports = list(in_demo_world.quarantine.glob("*/*.errors.csv"))
    text = "\n".join(r.read_text() for r in reports)
    assert "groenstroom/sessions_2026-05.csv" in text and "meter_start_wh" in text
    assert "laadwerk/sessions_2026-dst-nights.csv" in text and "does not exist in Europe/Amsterdam" in text
    assert "occurs twice in Europe/Amsterdam" in text
