"""A customer's status is one truth: the partner API and the partner report say the same about every customer
(eligible when one of their charge points may be booked, action_needed when none may but one can be fixed,
else not_eligible; a customer without a charge point is not_eligible with the reason no_charge_point)."""

from __future__ import annotations

import json

import duckdb

from joulo_pipelines.lib.api import store
from joulo_pipelines.lib.api.snapshot import take_snapshot
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.reports import queries


def _statuses(data_dir: DataDir, con: duckdb.DuckDBPyConnection) -> tuple[dict, dict]:
    """(the API's status per customer, the partner report's for the same quarter)."""
    with store.connect(data_dir) as api:
        documents = [(row["partner_id"], row["customer_ref"], json.loads(row["document"]))
                     for row in api.execute("select partner_id, customer_ref, document from customer_status")]
    api_status = {(partner_id, ref): doc["eligibility"]["status"] for partner_id, ref, doc in documents}
    report_status = {}
    for partner_id, quarter in {(partner_id, doc["eligibility"]["quarter"]) for partner_id, _, doc in documents}:
        for row in queries.customers(con, partner_id, Quarter.parse(quarter)):
            report_status[partner_id, row["customer_ref"]] = row["status"]
    return api_status, report_status


def test_the_api_and_the_report_agree_on_every_customer_of_the_demo_world(demo_world):
    with duckdb.connect(str(demo_world.warehouse), read_only=True) as con:
        api_status, report_status = _statuses(demo_world, con)
    assert len(api_status) > 50
    assert api_status == report_status


def _add_charge_point(con: duckdb.DuckDBPyConnection, partner_id: str, ref: str, status: str, reasons: str) -> None:
    """A second charge point for the customer in the latest quarter, failing with the given reasons."""
    con.execute("""
        insert into marts.fct_charge_point_eligibility
        select * replace (charge_point_ref || '-second' as charge_point_ref, false as is_eligible,
                          $status as eligibility_status, $reasons as reasons, 0 as eligible_kwh,
                          0 as eligible_session_count, null as delivery_period_start, null as delivery_period_end)
        from marts.fct_charge_point_eligibility
        where partner_id = $partner and customer_ref = $ref
            and quarter_start = (select max(quarter_start) from marts.fct_charge_point_eligibility)
    """, {"partner": partner_id, "ref": ref, "status": status, "reasons": reasons})


def test_one_bookable_charge_point_makes_a_customer_eligible_and_one_fixable_makes_it_action_needed(
        demo_world_copy):
    with duckdb.connect(str(demo_world_copy.warehouse)) as con:
        fixable, eligible = con.execute("""
            select partner_id, customer_ref, any_value(eligibility_status) as status
            from marts.fct_charge_point_eligibility
            where quarter_start = (select max(quarter_start) from marts.fct_charge_point_eligibility)
            group by partner_id, customer_ref
            having count(*) = 1 and any_value(eligibility_status) in ('eligible', 'action_needed')
            qualify row_number() over (partition by status order by partner_id, customer_ref) = 1
            order by status  -- action_needed, then eligible
        """).fetchall()
        _add_charge_point(con, *eligible[:2], "not_eligible", "mid_meter_absent")
        _add_charge_point(con, *fixable[:2], "not_eligible", "mid_meter_absent")
        take_snapshot(demo_world_copy, con)
        api_status, report_status = _statuses(demo_world_copy, con)

    assert api_status[eligible[:2]] == report_status[eligible[:2]] == "eligible"
    assert api_status[fixable[:2]] == report_status[fixable[:2]] == "action_needed"
    assert api_status == report_status
