"""The payouts stage's next-payout proposal in the warehouse table payouts.next_payouts, and the partner API
reading it there: on a copy of the demo world the table holds what `proposal.compute` gives, an approval
moves the partner on to its next quarter, and the API's `next_payout` is the table's row, not a payout the
API computed itself."""

from __future__ import annotations

import json
from datetime import date

import duckdb

from joulo_pipelines import cli
from joulo_pipelines.lib.api import store
from joulo_pipelines.lib.api.snapshot import take_snapshot
from joulo_pipelines.lib.partners import load_registry
from joulo_pipelines.lib.payouts import next_payouts, proposal
from joulo_pipelines.lib.payouts.service import payments_file, sales_file
from joulo_pipelines.lib.payouts.settings import load_payment_settings, load_sales
from joulo_pipelines.lib.quarters import Quarter
from payouts_world import issue

TODAY = date(2027, 1, 15)  # the fixture's pinned clock


def _table(con: duckdb.DuckDBPyConnection, partner_id: str) -> list[tuple]:
    return con.execute("select * exclude (partner_id) from payouts.next_payouts where partner_id = ? "
                       "order by customer_ref nulls last", [partner_id]).fetchall()


def _document(data_dir, partner_id: str, ref: str) -> dict:
    with store.connect(data_dir) as api:
        return json.loads(api.execute("select document from customer_status where partner_id = ? and "
                                      "customer_ref = ?", [partner_id, ref]).fetchone()["document"])


def test_the_table_holds_the_payouts_stage_proposal_and_an_approval_moves_it_on(demo_world_copy):
    data_dir = demo_world_copy
    registry = load_registry(data_dir.partners_file)
    settings, sales = load_payment_settings(payments_file(data_dir)), load_sales(sales_file(data_dir))
    q1 = Quarter.parse("2026-Q1")
    issue(data_dir, "2026-Q1")
    next_payouts.write(data_dir)  # as the payouts stage's next run does
    expected_date = proposal.payment_date(q1, settings, TODAY)
    with duckdb.connect(str(data_dir.warehouse)) as con:
        for partner in registry.partners:
            lines = proposal.compute(con, partner, q1, settings, sales).lines
            assert any(line.paid_cents > 0 for line in lines), partner.id
            assert _table(con, partner.id) == [
                *[(line.customer_ref, None, "2026-Q1", line.paid_cents, line.status, line.reason, expected_date)
                  for line in sorted(lines, key=lambda line: line.customer_ref)],
                (None, None, "2026-Q1", 0, "nothing_due", "no units issued for this customer yet", expected_date)]

    approved, other = registry.partners[0].id, registry.partners[1].id
    assert cli.main(["payouts", "prepare", "2026-Q1", "--partner", approved, "--by", "preparer"]) == 0
    assert cli.main(["payouts", "approve", "2026-Q1", "--partner", approved, "--by", "approver"]) == 0
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        assert {row[2] for row in _table(con, approved)} == {"2026-Q2"}
        assert {row[2] for row in _table(con, other)} == {"2026-Q1"}


def test_the_api_shows_the_tables_next_payout_and_computes_none_itself(demo_world_copy):
    issue(demo_world_copy, "2026-Q1")
    next_payouts.write(demo_world_copy)
    with duckdb.connect(str(demo_world_copy.warehouse)) as con:
        partner_id, ref = con.execute("select partner_id, customer_ref from payouts.next_payouts "
                                      "where amount_cents > 0 order by all limit 1").fetchone()
        con.execute("update payouts.next_payouts set amount_cents = 4242, reason = 'as the table says' "
                    "where partner_id = ? and customer_ref = ?", [partner_id, ref])
        take_snapshot(demo_world_copy, con)
        assert _document(demo_world_copy, partner_id, ref)["next_payout"]["amount_cents"] == 4242
        assert _document(demo_world_copy, partner_id, ref)["next_payout"]["reason"] == "as the table says"

        # Before the payouts stage has written the table, the API says what it says without payouts config.
        con.execute("drop table payouts.next_payouts")
        take_snapshot(demo_world_copy, con)
    document = _document(demo_world_copy, partner_id, ref)
    assert "next_payout" not in document
    assert document["next_payout_unavailable"] == "payouts are not configured yet"
