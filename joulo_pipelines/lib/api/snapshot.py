"""The pipeline's state as the API shows it, and the webhook events that state calls for.

Run after each quarter run (and after payout approvals) by the Dagster asset `api/status_snapshot`, which
holds the warehouse. It replaces every partner's customer status and quarter summaries in the API store,
then compares with what was already announced: a customer whose verdict (eligible or not, and why)
changed, a booking newly submitted, a payout batch newly approved or whose payment date has come. Event
ids derive from what they announce, so a rerun on the same state adds nothing."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.api import snapshot_sql, store
from joulo_pipelines.lib.api.webhooks import event_id, record_event
from joulo_pipelines.lib.partners import load_registry
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter


@dataclass
class SnapshotResult:
    customers: dict[str, int] = field(default_factory=dict)  # per partner
    quarters: int = 0
    events: dict[str, int] = field(default_factory=dict)  # new events per type


def take_snapshot(data_dir: DataDir, con: duckdb.DuckDBPyConnection) -> SnapshotResult:
    now, today = clock.now(), clock.today()
    params = {"today": today, "as_of": now.isoformat()}
    has_ledger = _has_table(con, "ledger", "booked_units")
    has_payouts = _has_table(con, "ledger", "payout_batches")
    customers = con.execute(snapshot_sql.CUSTOMER_DOCUMENTS, params).fetchall()
    quarters = con.execute(snapshot_sql.QUARTER_DOCUMENTS, params).fetchall()
    bookings = _keyed(con, snapshot_sql.BOOKINGS, 2) if has_ledger else {}
    batches = _rows(con, snapshot_sql.PAYOUT_BATCHES) if has_payouts else []
    last_payouts = _keyed(con, snapshot_sql.LAST_PAYOUTS, 2) if has_payouts else {}
    next_payouts = _next_payouts(data_dir, con, today)
    submitted = _rows(con, snapshot_sql.SUBMITTED_BOOKINGS) \
        if has_ledger and _has_table(con, "ledger", "rev_submissions") else []

    result = SnapshotResult()
    partners = load_registry(data_dir.partners_file).ids
    with store.connect(data_dir) as api, store.transaction(api):
        announced = {(row["partner_id"], row["subject"]): (row["state"], row["sequence"]) for row in api.execute(
            "select partner_id, subject, state, sequence from announcements where topic = 'eligibility'")}
        for partner_id in partners:
            api.execute("delete from customer_status where partner_id = ?", [partner_id])
            api.execute("delete from quarter_summaries where partner_id = ?", [partner_id])
            api.execute("insert or replace into snapshots (partner_id, built_at) values (?, ?)",
                        [partner_id, now.isoformat()])
        for partner_id, ref, source_file, document in customers:
            doc = json.loads(document)
            doc["last_payout"] = _payout(last_payouts.get((partner_id, ref)))
            estimate = next_payouts.get(partner_id, "the partner is not in the registry")
            if isinstance(estimate, str):
                doc["next_payout_unavailable"] = estimate
            else:
                lines, nothing_due = estimate
                doc["next_payout"] = lines.get(ref, nothing_due)
            api.execute("insert into customer_status (partner_id, customer_ref, source_file, document) "
                        "values (?, ?, ?, ?)", [partner_id, ref, source_file, json.dumps(doc, sort_keys=True)])
            result.customers[partner_id] = result.customers.get(partner_id, 0) + 1
            _announce_eligibility(api, announced.get((partner_id, ref)), partner_id, ref, doc, now, result)
        batch_by_quarter = {(b["partner_id"], b["quarter_start"]): b for b in batches}
        for partner_id, quarter_start, document in quarters:
            doc = json.loads(document)
            booking = bookings.get((partner_id, quarter_start))
            if booking:
                doc["booking"] = {k: booking[k] for k in ("status", "booking_ids", "eans", "kwh", "units")}
            batch = batch_by_quarter.get((partner_id, quarter_start))
            if batch:
                doc["payout"] = {"status": "sent" if batch["payment_date"] <= today else "approved",
                                 "payment_date": batch["payment_date"].isoformat(),
                                 **{k: batch[k] for k in ("customers_paid", "paid_cents", "carried_over_cents")}}
            api.execute("insert into quarter_summaries (partner_id, quarter_start, document) values (?, ?, ?)",
                        [partner_id, quarter_start.isoformat(), json.dumps(doc, sort_keys=True)])
            result.quarters += 1
        for booking in submitted:
            data = {"booking_id": booking["booking_id"], "kind": booking["booking_kind"],
                    "delivery_year": booking["delivery_year"], "submitted_at": booking["submitted_at"].isoformat(),
                    "eans": booking["eans"], "kwh": booking["kwh"], "units_estimate": booking["units"]}
            _event(api, booking["partner_id"], "booking.submitted", booking["booking_id"], data, now, result)
        for batch in batches:
            data = {"quarter": Quarter.containing(batch["quarter_start"]).label, "batch_id": batch["batch_id"],
                    "approved_at": batch["approved_at"].isoformat(), "payment_date": batch["payment_date"].isoformat(),
                    **{k: batch[k] for k in ("customers_paid", "paid_cents", "carried_over_cents")}}
            _event(api, batch["partner_id"], "payout.approved", batch["batch_id"], data, now, result)
            if batch["payment_date"] <= today:
                _event(api, batch["partner_id"], "payout.sent", batch["batch_id"], data, now, result)
    return result


def _announce_eligibility(api: sqlite3.Connection, last: tuple[str, int] | None, partner_id: str, ref: str,
                          doc: dict, now: datetime, result: SnapshotResult) -> None:
    """An event when the verdict (eligible or not, and the reasons) differs from the last one announced."""
    eligibility = doc["eligibility"]
    event_type = "customer.eligible" if eligibility["status"] == "eligible" else "customer.ineligible"
    state = json.dumps([event_type, [r["code"] for r in eligibility["reasons"]]])
    if last is not None and last[0] == state:
        return
    sequence = (last[1] + 1) if last else 1
    api.execute("insert or replace into announcements (partner_id, subject, topic, state, sequence) "
                "values (?, ?, 'eligibility', ?, ?)", [partner_id, ref, state, sequence])
    data = {"customer_ref": ref, "quarter": eligibility["quarter"], "status": eligibility["status"],
            "reasons": eligibility["reasons"], "charge_points": eligibility["charge_points"]}
    _event(api, partner_id, event_type, f"{ref}#{sequence}", data, now, result)


def _event(api: sqlite3.Connection, partner_id: str, event_type: str, subject: str, data: dict, now: datetime,
           result: SnapshotResult) -> None:
    if record_event(api, partner_id, event_id(partner_id, event_type, subject), event_type, subject, data, now):
        result.events[event_type] = result.events.get(event_type, 0) + 1


def _next_payouts(data_dir: DataDir, con: duckdb.DuckDBPyConnection,
                  today: date) -> dict[str, tuple[dict, dict] | str]:
    """Per partner: the next unapproved quarter's payout per customer as it would be approved now (the
    payouts stage's own computation), or why there is none."""
    from joulo_pipelines.lib.payouts import proposal
    from joulo_pipelines.lib.payouts.service import payments_file, sales_file
    from joulo_pipelines.lib.payouts.settings import load_payment_settings, load_sales

    registry = load_registry(data_dir.partners_file)
    if not (payments_file(data_dir).exists() and sales_file(data_dir).exists()):
        return {p: "payouts are not configured yet" for p in registry.ids}
    if not _has_table(con, "ledger", "booked_units"):
        return {p: "nothing is booked yet" for p in registry.ids}
    settings = load_payment_settings(payments_file(data_dir))
    sales = load_sales(sales_file(data_dir))
    approved_until = {row[0]: row[1] for row in con.execute(
        "select partner_id, max(quarter_start) from ledger.payout_batches group by all").fetchall()} \
        if _has_table(con, "ledger", "payout_batches") else {}
    booked = {row[0]: row[1] for row in con.execute(
        "select partner_id, list(distinct booking_quarter_start order by booking_quarter_start) "
        "from ledger.booked_units group by all").fetchall()}
    estimates: dict[str, tuple[dict, dict] | str] = {}
    for partner in registry.partners:
        after = approved_until.get(partner.id)
        candidates = [q for q in booked.get(partner.id, []) if (after is None or q > after) and q <= today]
        if not candidates:
            estimates[partner.id] = "no booked quarter awaits a payout"
            continue
        quarter = Quarter.containing(candidates[0])
        try:
            draft = proposal.compute(con, partner, quarter, settings, sales)
        except proposal.PayoutNotComputed as exc:
            estimates[partner.id] = str(exc)
            continue
        expected = proposal.payment_date(quarter, settings, today).isoformat()
        lines = {line.customer_ref: {"quarter": quarter.label, "amount_cents": line.paid_cents,
                                     "status": line.status, "reason": line.reason, "payment_date": expected}
                 for line in draft.lines}
        nothing_due = {"quarter": quarter.label, "amount_cents": 0, "status": "nothing_due",
                       "reason": "nothing booked for this customer", "payment_date": expected}
        estimates[partner.id] = (lines, nothing_due)
    return estimates


def _payout(row: dict | None) -> dict | None:
    if row is None:
        return None
    return {"quarter": Quarter.containing(row["quarter_start"]).label, "amount_cents": row["paid_cents"],
            "status": row["status"], "reason": row["reason"], "payment_date": row["payment_date"].isoformat()}


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchone()[0] > 0


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _keyed(con: duckdb.DuckDBPyConnection, sql: str, key_length: int) -> dict[tuple, dict]:
    return {tuple(row[k] for k in list(row)[:key_length]): row for row in _rows(con, sql)}
