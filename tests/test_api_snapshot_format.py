"""DuckDB writes the snapshot's customer documents itself, in the bytes the API has always stored: Python's
json.dumps with sorted keys. A document it cannot write that way (a letter outside ASCII) is formatted in
Python, and either way the announced verdict is json.dumps([event type, reason codes])."""

from __future__ import annotations

import json

import duckdb

from joulo_pipelines import cli
from joulo_pipelines.lib.api import store
from joulo_pipelines.lib.api.snapshot import take_snapshot
from joulo_pipelines.lib.demo.rev_results import write_rev_result


def _stored(data_dir) -> tuple[dict, dict]:
    with store.connect(data_dir) as api:
        documents = {(r["partner_id"], r["customer_ref"]): r["document"]
                     for r in api.execute("select partner_id, customer_ref, document from customer_status")}
        states = {(r["partner_id"], r["subject"]): r["state"]
                  for r in api.execute("select partner_id, subject, state from announcements "
                                       "where topic = 'eligibility'")}
    return documents, states


def _assert_python_json(documents: dict, states: dict) -> None:
    for key, document in documents.items():
        doc = json.loads(document)
        assert document == json.dumps(doc, sort_keys=True), key
        event_type = "customer.eligible" if doc["eligibility"]["status"] == "eligible" else "customer.ineligible"
        assert states[key] == json.dumps([event_type, [r["code"] for r in doc["eligibility"]["reasons"]]]), key


def test_documents_with_payouts_are_pythons_json(demo_world_copy):
    assert cli.main(["rev", "submit", "2026-Q1"]) == 0
    assert cli.main(["rev", "approve", "2026-Q1", "--by", "approver"]) == 0  # four eyes
    assert cli.main(["rev", "import-result", str(write_rev_result(demo_world_copy, "2026-Q1"))]) == 0
    assert cli.main(["payouts", "prepare", "2026-Q1", "--partner", "voltnet", "--by", "preparer"]) == 0
    assert cli.main(["payouts", "approve", "2026-Q1", "--partner", "voltnet", "--by", "approver"]) == 0
    with duckdb.connect(str(demo_world_copy.warehouse)) as con:
        take_snapshot(demo_world_copy, con)

    documents, states = _stored(demo_world_copy)
    _assert_python_json(documents, states)
    docs = [json.loads(d) for d in documents.values()]
    assert any(d["last_payout"] for d in docs) and any(d.get("next_payout") for d in docs)
    assert any(d["eligibility"]["status"] == "eligible" for d in docs)
    assert any(d["eligibility"]["reasons"] for d in docs)
    # each charge point once, also one that fails several rules
    assert any(len(point["reasons"]) > 1 for d in docs for point in d["eligibility"]["charge_points"])
    for d in docs:
        refs = [point["charge_point_ref"] for point in d["eligibility"]["charge_points"]]
        assert refs == sorted(set(refs)) == d["charge_point_refs"], d["customer_ref"]


def test_a_document_outside_ascii_is_formatted_in_python_and_announces_nothing_new(demo_world_copy):
    with store.connect(demo_world_copy) as api:  # a customer the warehouse no longer has
        api.execute("insert into customer_status values ('voltnet', 'GONE-1', null, '{}')")
    with duckdb.connect(str(demo_world_copy.warehouse)) as con:
        partner_id, ref = con.execute("""
            select partner_id, customer_ref from marts.fct_charge_point_eligibility
            where quarter_start = (select max(quarter_start) from marts.fct_charge_point_eligibility)
                and customer_ref is not null
            order by all limit 1
        """).fetchone()
        con.execute("""
            update marts.fct_charge_point_eligibility set charge_point_ref = charge_point_ref || '-é"\\'
            where partner_id = ? and customer_ref = ?
        """, [partner_id, ref])
        assert take_snapshot(demo_world_copy, con).events == {}  # the verdict did not change

    documents, states = _stored(demo_world_copy)
    _assert_python_json(documents, states)
    assert '-\\u00e9\\"\\\\"' in documents[(partner_id, ref)]
    assert ("voltnet", "GONE-1") not in documents
