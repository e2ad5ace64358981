"""The pipeline's state as the API shows it, and the webhook events that state calls for.

Run after each quarter run (and after payout approvals) by the Dagster asset `api/status_snapshot`, which
holds the warehouse. It brings every partner's customer status up to date in the API store (writing only
the customers whose status changed) and replaces the quarter summaries, then compares with what was
already announced: a customer whose verdict (eligible or not, and why) changed, a booking newly submitted,
a payout batch newly approved or whose payment date has come. Event ids derive from what they announce, so
a rerun on the same state adds nothing."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.api import snapshot_sql, store
from joulo_pipelines.lib.api.webhooks import event_body, event_id, record_event, record_events
from joulo_pipelines.lib.labels import PAYOUTS_NOT_CONFIGURED
from joulo_pipelines.lib.partners import load_registry
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.warehouse import has_table

_BATCH_ROWS = 20_000  # customer documents per executemany: bounded memory at national scale
_CACHE_KIB = 256 * 1024  # the snapshot connection's SQLite page cache: all of 100k customers (~1.1 KiB each)

# The verdicts that differ from the last announced one, with the new announcement's sequence number.
_CHANGED_VERDICTS = """
select verdicts.partner_id, verdicts.customer_ref, verdicts.event_type, verdicts.state,
    coalesce(announced.sequence, 0) + 1 as sequence,
    (select document from customer_status as status
     where status.partner_id = verdicts.partner_id and status.customer_ref = verdicts.customer_ref) as document
from temp.snapshot_verdicts as verdicts
left join announcements as announced
    on announced.partner_id = verdicts.partner_id
    and announced.subject = verdicts.customer_ref
    and announced.topic = 'eligibility'
where announced.state is not verdicts.state
order by verdicts.partner_id, verdicts.customer_ref
"""

_FORMATTED = pa.schema([("partner_id", pa.string()), ("customer_ref", pa.string()), ("document", pa.string()),
                        ("state", pa.string())])


@dataclass
class SnapshotResult:
    customers: dict[str, int] = field(default_factory=dict)  # per partner
    quarters: int = 0
    events: dict[str, int] = field(default_factory=dict)  # new events per type


def take_snapshot(data_dir: DataDir, con: duckdb.DuckDBPyConnection) -> SnapshotResult:
    now, today = clock.now(), clock.today()
    has_ledger = has_table(con, "ledger", "booked_units")
    has_payouts = has_table(con, "ledger", "payout_batches")
    _build_customer_documents(data_dir, con, {"today": today}, has_payouts)
    quarters = con.execute(snapshot_sql.QUARTER_DOCUMENTS, {"today": today, "as_of": now.isoformat()}).fetchall()
    bookings = _keyed(con, snapshot_sql.BOOKINGS, 2) if has_ledger else {}
    batches = _rows(con, snapshot_sql.PAYOUT_BATCHES) if has_payouts else []
    submitted = _rows(con, snapshot_sql.SUBMITTED_BOOKINGS) \
        if has_ledger and has_table(con, "ledger", "rev_submissions") else []

    result = SnapshotResult()
    partners = load_registry(data_dir.partners_file).ids
    with store.connect(data_dir) as api, store.transaction(api):
        # the whole rewrite stays in memory until the commit writes it, rather than spilling midway
        api.execute(f"pragma cache_size = -{_CACHE_KIB}")
        _stage_verdicts(api, con)
        for partner_id in partners:
            api.execute("delete from quarter_summaries where partner_id = ?", [partner_id])
            api.execute("insert or replace into snapshots (partner_id, built_at) values (?, ?)",
                        [partner_id, now.isoformat()])
        result.customers = _write_customer_status(api, con, partners)
        _announce_eligibility(api, now, result)
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
    con.execute("drop table snapshot_customers")  # ~0.7 GB at national scale, held as long as the connection
    return result


def _build_customer_documents(data_dir: DataDir, con: duckdb.DuckDBPyConnection, params: dict,
                              has_payouts: bool) -> None:
    """The temp table `snapshot_customers`: per customer the document as stored and the verdict as announced,
    built by DuckDB in one pass; the few documents it cannot write as Python does are re-formatted here."""
    con.execute(snapshot_sql.MACROS)
    con.execute("create or replace temp view snapshot_last_payouts as "
                + (snapshot_sql.LAST_PAYOUTS if has_payouts else snapshot_sql.NO_LAST_PAYOUTS))
    # The payouts stage's proposal; before that stage has written one, what it says without its config.
    if has_table(con, "payouts", "next_payouts"):
        con.execute("create or replace temp table snapshot_next_payouts as " + snapshot_sql.NEXT_PAYOUTS)
    else:
        con.execute("create or replace temp table snapshot_next_payouts as " + snapshot_sql.NO_NEXT_PAYOUTS,
                    {"partners": load_registry(data_dir.partners_file).ids, "unavailable": PAYOUTS_NOT_CONFIGURED})
    try:
        con.execute("create or replace temp table snapshot_customers as " + snapshot_sql.CUSTOMER_DOCUMENTS, params)
    finally:
        con.execute("drop table snapshot_next_payouts")
    formatted = []
    for partner_id, ref, document, event_type in con.execute(
            "select partner_id, customer_ref, document, event_type from snapshot_customers "
            "where not is_python_json").fetchall():
        doc = json.loads(document)
        formatted.append((partner_id, ref, json.dumps(doc, sort_keys=True), _verdict_state(event_type, doc)))
    if formatted:
        con.register("snapshot_formatted", _arrow(formatted, _FORMATTED))
        try:
            con.execute("update snapshot_customers set document = f.document, state = f.state "
                        "from snapshot_formatted as f where snapshot_customers.partner_id = f.partner_id "
                        "and snapshot_customers.customer_ref = f.customer_ref")
        finally:
            con.unregister("snapshot_formatted")


def _verdict_state(event_type: str, doc: dict) -> str:
    """What an eligibility announcement says, compared with the last one (snapshot_sql builds the same)."""
    return json.dumps([event_type, [r["code"] for r in doc["eligibility"]["reasons"]]])


def _stage_verdicts(api: sqlite3.Connection, con: duckdb.DuckDBPyConnection) -> None:
    """Every customer's verdict into a temp table next to the store's customers and announcements, in key
    order, so SQLite compares them all at once walking both in the same order."""
    api.execute("create temp table snapshot_verdicts (partner_id text, customer_ref text, event_type text, "
                "state text, primary key (partner_id, customer_ref))")
    cursor = con.execute("select partner_id, customer_ref, event_type, state from snapshot_customers "
                         "order by partner_id, customer_ref")
    while rows := cursor.fetchmany(_BATCH_ROWS):
        api.executemany("insert into temp.snapshot_verdicts values (?, ?, ?, ?)", rows)


def _write_customer_status(api: sqlite3.Connection, con: duckdb.DuckDBPyConnection,
                           partners: list[str]) -> dict[str, int]:
    """Every customer's document into the store, in batches straight from DuckDB, and the registry partners'
    customers that are gone out of it; the count per partner. An upsert rewrites a row in place, where a
    delete and insert of every row would also rebuild the key index, and only a row whose document or file
    changed: a document holds no time of its own (the API adds the snapshot's, snapshots.built_at), so an
    unchanged customer's row keeps its bytes and costs no write."""
    cursor = con.execute("select partner_id, customer_ref, source_file, document from snapshot_customers "
                         "order by partner_id, customer_ref")
    while rows := cursor.fetchmany(_BATCH_ROWS):
        api.executemany("insert into customer_status (partner_id, customer_ref, source_file, document) "
                        "values (?, ?, ?, ?) on conflict (partner_id, customer_ref) do update "
                        "set source_file = excluded.source_file, document = excluded.document "
                        "where customer_status.document is not excluded.document "
                        "or customer_status.source_file is not excluded.source_file", rows)
    for partner_id in partners:
        api.execute("delete from customer_status where partner_id = ? and customer_ref not in "
                    "(select customer_ref from temp.snapshot_verdicts where partner_id = ?)", [partner_id, partner_id])
    return dict(con.execute("select partner_id, count(*) from snapshot_customers "
                            "group by partner_id order by partner_id").fetchall())


def _announce_eligibility(api: sqlite3.Connection, now: datetime, result: SnapshotResult) -> None:
    """An event for each customer whose verdict (eligible or not, and the reasons) differs from the last one
    announced (SQLite compares the staged verdicts with the announcements; only the changed ones come back)."""
    changed = api.execute(_CHANGED_VERDICTS).fetchall()
    api.executemany("insert or replace into announcements (partner_id, subject, topic, state, sequence) "
                    "values (?, ?, 'eligibility', ?, ?)",
                    [(partner_id, ref, state, sequence) for partner_id, ref, _, state, sequence, _ in changed])
    events = []
    for partner_id, ref, event_type, _, sequence, document in changed:
        eligibility = json.loads(document)["eligibility"]
        data = {"customer_ref": ref, "quarter": eligibility["quarter"], "status": eligibility["status"],
                "reasons": eligibility["reasons"], "charge_points": eligibility["charge_points"]}
        subject = f"{ref}#{sequence}"
        id_ = event_id(partner_id, event_type, subject)
        events.append((id_, partner_id, event_type, subject, event_body(id_, event_type, now, data)))
    for event_type in record_events(api, events, now):
        result.events[event_type] = result.events.get(event_type, 0) + 1


def _event(api: sqlite3.Connection, partner_id: str, event_type: str, subject: str, data: dict, now: datetime,
           result: SnapshotResult) -> None:
    if record_event(api, partner_id, event_id(partner_id, event_type, subject), event_type, subject, data, now):
        result.events[event_type] = result.events.get(event_type, 0) + 1


def _arrow(rows: list[tuple], schema: pa.Schema) -> pa.Table:
    columns = list(zip(*rows)) or [()] * len(schema)
    return pa.Table.from_arrays([pa.array(column, f.type) for column, f in zip(columns, schema)], schema=schema)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _keyed(con: duckdb.DuckDBPyConnection, sql: str, key_length: int) -> dict[tuple, dict]:
    return {tuple(row[k] for k in list(row)[:key_length]): row for row in _rows(con, sql)}
