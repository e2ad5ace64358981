"""The status snapshot on a copy of the demo world: a customer's verdict that changes is announced, once per
change, including a change back; a rerun on the same state announces nothing."""

from __future__ import annotations

import json

import duckdb
import httpx

from joulo_pipelines.lib.api import store
from joulo_pipelines.lib.api.app import ApiSettings
from joulo_pipelines.lib.api.snapshot import take_snapshot
from test_api_servers import ApiServer


def _eligible_customer(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    return con.execute("""
        select partner_id, customer_ref from marts.fct_charge_point_eligibility
        where quarter_start = (select max(quarter_start) from marts.fct_charge_point_eligibility)
        group by all having bool_and(is_eligible) and count(*) = 1
        order by all limit 1
    """).fetchone()


def _set_verdict(con, partner_id: str, ref: str, eligible: bool) -> None:
    con.execute("""
        update marts.fct_charge_point_eligibility
        set is_eligible = ?, eligibility_status = case when ? then 'eligible' else 'action_needed' end,
            reasons = case when ? then null else 'meter_serial_missing' end
        where partner_id = ? and customer_ref = ?
            and quarter_start = (select max(quarter_start) from marts.fct_charge_point_eligibility)
    """, [eligible, eligible, eligible, partner_id, ref])


def _events_of(data_dir, partner_id: str, ref: str) -> list[tuple[str, str]]:
    with store.connect(data_dir) as con:
        rows = con.execute("select type, body from events where partner_id = ? and type like 'customer.%' "
                           "order by rowid", [partner_id]).fetchall()
    return [(row["type"], json.loads(row["body"])["id"]) for row in rows
            if json.loads(row["body"])["data"]["customer_ref"] == ref]


def test_each_change_of_a_verdict_is_announced_once_and_a_change_back_too(demo_world_copy):
    with duckdb.connect(str(demo_world_copy.warehouse)) as con:
        partner_id, ref = _eligible_customer(con)
        assert take_snapshot(demo_world_copy, con).events == {}  # the fixture's runs announced everyone
        assert [kind for kind, _ in _events_of(demo_world_copy, partner_id, ref)] == ["customer.eligible"]

        _set_verdict(con, partner_id, ref, eligible=False)
        assert take_snapshot(demo_world_copy, con).events == {"customer.ineligible": 1}
        assert take_snapshot(demo_world_copy, con).events == {}
        _set_verdict(con, partner_id, ref, eligible=True)
        assert take_snapshot(demo_world_copy, con).events == {"customer.eligible": 1}

    events = _events_of(demo_world_copy, partner_id, ref)
    assert [kind for kind, _ in events] == ["customer.eligible", "customer.ineligible", "customer.eligible"]
    assert len({event_id for _, event_id in events}) == 3  # back to eligible is a new announcement, not a replay
    with store.connect(demo_world_copy) as con:
        status = json.loads(con.execute("select document from customer_status where partner_id = ? and "
                                        "customer_ref = ?", [partner_id, ref]).fetchone()["document"])
    assert status["eligibility"]["status"] == "eligible"


def _stored_documents(data_dir) -> dict[tuple[str, str], str]:
    with store.connect(data_dir) as con:
        return {(row["partner_id"], row["customer_ref"]): row["document"]
                for row in con.execute("select partner_id, customer_ref, document from customer_status")}


def test_a_later_snapshot_rewrites_only_the_changed_customer_and_the_api_shows_when_it_was_taken(
        demo_world_copy, monkeypatch):
    """Issue 27: an unchanged customer's stored status keeps its bytes (and costs no write); the API still
    says when the pipeline's status was taken, from the snapshot rather than from each document."""
    with duckdb.connect(str(demo_world_copy.warehouse)) as con:
        partner_id, ref = _eligible_customer(con)
        take_snapshot(demo_world_copy, con)
        before = _stored_documents(demo_world_copy)
        monkeypatch.setenv("JOULO_AS_OF", "2027-02-01T09:30:00+01:00")  # a later run
        _set_verdict(con, partner_id, ref, eligible=False)
        take_snapshot(demo_world_copy, con)
    after = _stored_documents(demo_world_copy)
    assert after.keys() == before.keys() and len(after) > 50
    assert {key for key in after if after[key] != before[key]} == {(partner_id, ref)}

    with ApiServer(demo_world_copy, ApiSettings()) as api, \
            httpx.Client(base_url=api.url, headers=api.key(partner_id), timeout=120) as client:
        status = client.get(f"/v1/customers/{ref}").json()
    assert (status["as_of"], status["state"]) == ("2027-02-01T08:30:00Z", "processed")
    assert status["eligibility"]["status"] == "action_needed"
