"""The next payout per partner and customer: the partner's next booked quarter not yet approved, as its
approval would pay it now, or why there is none. The payouts asset writes it to `payouts.next_payouts` on
every run (a quarter run, an approval); the partner API's status snapshot reads it there and computes no
payout itself.

The table is a proposal, rewritten whole on every run, so it lives in the stage's own schema `payouts`
(as the registration stage's drafts live in `registration`), not in the append-only `ledger`.

"Now" is the payouts run's day (the one clock), no longer the snapshot's: which booked quarter is next (one
that has started by then) and its expected payment date (never before that day) stay as that run saw them
until the next payouts run. In a quarter run the snapshot follows in the same run, and after an approval in
the run the sensor starts; only the hourly snapshot between runs shows a proposal of an earlier day."""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa

from joulo_pipelines.lib import clock, warehouse
from joulo_pipelines.lib.labels import PAYOUTS_NOT_CONFIGURED
from joulo_pipelines.lib.partners import load_registry
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.payouts import proposal
from joulo_pipelines.lib.payouts.service import payments_file, sales_file
from joulo_pipelines.lib.payouts.settings import load_payment_settings, load_sales
from joulo_pipelines.lib.quarters import Quarter

TABLE = "payouts.next_payouts"

SCHEMA_SQL = f"""
create schema if not exists payouts;
create table if not exists {TABLE} (
    partner_id varchar not null,
    customer_ref varchar,  -- null: the partner's answer for its customers without a line of their own
    unavailable varchar,  -- why the partner has no next payout; then the columns below are null
    quarter varchar,  -- its label, 2026-Q1
    amount_cents bigint,
    status varchar,
    reason varchar,
    payment_date date  -- as expected on the day the proposal was computed
);
"""

_ROWS = pa.schema([("partner_id", pa.string()), ("customer_ref", pa.string()), ("unavailable", pa.string()),
                   ("quarter", pa.string()), ("amount_cents", pa.int64()), ("status", pa.string()),
                   ("reason", pa.string()), ("payment_date", pa.date32())])


def write(data_dir: DataDir) -> int:
    """Replace the table in the warehouse with the proposal as of today; the number of rows."""
    with warehouse.connect(data_dir, read_only=False) as con:
        rows = compute(data_dir, con, clock.today())
        columns = list(zip(*rows)) or [()] * len(_ROWS)
        con.register("next_payout_rows", pa.Table.from_arrays(
            [pa.array(column, f.type) for column, f in zip(columns, _ROWS)], schema=_ROWS))
        con.execute(SCHEMA_SQL)
        con.execute("begin transaction")
        con.execute(f"delete from {TABLE}")
        con.execute(f"insert into {TABLE} by name select * from next_payout_rows")
        con.execute("commit")
    return len(rows)


def compute(data_dir: DataDir, con: duckdb.DuckDBPyConnection, today: date) -> list[tuple]:
    """The table's rows: per partner its next unapproved booked quarter's payout lines, one per customer,
    and a row without customer_ref for its other customers; or one row saying why there is none."""
    registry = load_registry(data_dir.partners_file)
    if not (payments_file(data_dir).exists() and sales_file(data_dir).exists()):
        return [_unavailable(p, PAYOUTS_NOT_CONFIGURED) for p in registry.ids]
    if not warehouse.has_table(con, "ledger", "booked_units"):
        return [_unavailable(p, "nothing is booked yet") for p in registry.ids]
    settings = load_payment_settings(payments_file(data_dir))
    sales = load_sales(sales_file(data_dir))
    approved_until = {row[0]: row[1] for row in con.execute(
        "select partner_id, max(quarter_start) from ledger.payout_batches group by all").fetchall()} \
        if warehouse.has_table(con, "ledger", "payout_batches") else {}
    booked = {row[0]: row[1] for row in con.execute(
        "select partner_id, list(distinct booking_quarter_start order by booking_quarter_start) "
        "from ledger.booked_units group by all").fetchall()}
    rows: list[tuple] = []
    for partner in registry.partners:
        after = approved_until.get(partner.id)
        candidates = [q for q in booked.get(partner.id, []) if (after is None or q > after) and q <= today]
        if not candidates:
            rows.append(_unavailable(partner.id, "no booked quarter awaits a payout"))
            continue
        quarter = Quarter.containing(candidates[0])
        try:
            draft = proposal.compute(con, partner, quarter, settings, sales)
        except proposal.PayoutNotComputed as exc:
            rows.append(_unavailable(partner.id, str(exc)))
            continue
        expected = proposal.payment_date(quarter, settings, today)
        rows += [(partner.id, line.customer_ref, None, quarter.label, line.paid_cents, line.status, line.reason,
                  expected) for line in draft.lines]
        rows.append((partner.id, None, None, quarter.label, 0, "nothing_due", "no units issued for this customer yet",
                     expected))
    return rows


def _unavailable(partner_id: str, why: str) -> tuple:
    return (partner_id, None, why, None, None, None, None, None)

