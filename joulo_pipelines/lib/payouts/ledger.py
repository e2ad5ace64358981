"""The payout ledger: append-only tables in the warehouse's `ledger` schema.

A batch (partner, quarter) and its lines (partner, customer, quarter) are written in one transaction and
never updated or deleted; primary keys make a second payment of the same line impossible, whether a run is
repeated, an approval is given twice or a process died half-way (then nothing was written, and the next
approval starts clean). What the files and emails say is read back from here, so they never disagree with
what was approved.

Four eyes: a batch is proposed by one person (`payout_preparations`, a row per preparation with the proposal's
hash and totals) and approved by another, only while the proposal is still the one prepared; the batch
keeps both names and times.

Contracts: `payout_contracts` keeps, per quarter, the registry's contract an approved batch used first: the
payout model and partner IBAN it paid with (its own quarter) and the fee and share it valued each booking
quarter at. Files, emails and later payouts read them here, so a registry changed later rewrites nothing."""

from __future__ import annotations

import hashlib
from dataclasses import astuple, dataclass, fields
from datetime import date, datetime
from decimal import Decimal

import duckdb

from joulo_pipelines.lib.partners import Contract
from joulo_pipelines.lib.payouts.amounts import Entry, History, PayoutLine
from joulo_pipelines.lib.quarters import Quarter

SCHEMA_SQL = """
create schema if not exists ledger;
create table if not exists ledger.payout_batches (
    batch_id varchar primary key,
    partner_id varchar not null,
    quarter_start date not null,
    payout_model varchar not null,
    approved_at timestamptz not null,
    payment_date date not null,
    sepa_schema varchar not null,
    minimum_payout_cents bigint not null,
    prepared_by varchar not null,
    prepared_at timestamptz not null,
    approved_by varchar not null,
    proposal_hash varchar not null,
    unique (partner_id, quarter_start)
);
create table if not exists ledger.payout_preparations (
    partner_id varchar not null,
    quarter_start date not null,
    preparation_seq integer not null,
    prepared_at timestamptz not null,
    prepared_by varchar not null,
    proposal_hash varchar not null,
    customers integer not null,
    gross_cents bigint not null,
    net_cents bigint not null,
    paid_cents bigint not null,
    primary key (partner_id, quarter_start, preparation_seq)
);
create table if not exists ledger.payout_lines (
    batch_id varchar not null,
    partner_id varchar not null,
    quarter_start date not null,
    customer_ref varchar not null,
    kwh decimal(18, 3) not null,
    units decimal(38, 12) not null,
    units_source varchar not null,
    price_eur_per_ere varchar not null,
    gross_cents bigint not null,
    fee_cents bigint not null,
    partner_share_cents bigint not null,
    net_cents bigint not null,
    adjustment_cents bigint not null,
    carried_in_cents bigint not null,
    paid_cents bigint not null check (paid_cents >= 0),
    carried_out_cents bigint not null,
    status varchar not null,
    reason varchar not null,
    end_to_end_id varchar not null unique,
    primary key (partner_id, customer_ref, quarter_start),
    check (gross_cents = fee_cents + partner_share_cents + net_cents),
    check (paid_cents + carried_out_cents = net_cents + adjustment_cents + carried_in_cents)
);
-- A customer's account within the partner: the entries that make up a line's net + adjustment (see
-- amounts.py: settlement, clawback, advance, advance_settled, holdback, holdback_release), each about one
-- booking quarter and delivery year.
create table if not exists ledger.payout_entries (
    batch_id varchar not null,
    partner_id varchar not null,
    quarter_start date not null,
    customer_ref varchar not null,
    entry_kind varchar not null,
    for_quarter_start date not null,
    delivery_year integer not null,
    line_kind varchar not null,
    amount_cents bigint not null check (amount_cents <> 0),
    primary key (partner_id, customer_ref, quarter_start, entry_kind, for_quarter_start, delivery_year, line_kind)
);
create table if not exists ledger.payout_prices (
    batch_id varchar not null,
    partner_id varchar not null,
    quarter_start date not null,
    delivery_year integer not null,
    price_eur_per_ere decimal(18, 6) not null,
    primary key (partner_id, quarter_start, delivery_year)
);
create table if not exists ledger.payout_contracts (
    batch_id varchar not null,
    partner_id varchar not null,
    quarter_start date not null,
    valid_from date not null,
    payout_model varchar not null,
    partner_iban varchar,
    service_fee_pct decimal(9, 4) not null,
    partner_share_pct decimal(9, 4) not null,
    primary key (partner_id, quarter_start)
);
create table if not exists ledger.payout_sale_units (
    batch_id varchar not null,
    partner_id varchar not null,
    quarter_start date not null,
    delivery_year integer not null,
    units decimal(38, 12) not null check (units > 0),
    primary key (batch_id, quarter_start, delivery_year)
);
create table if not exists ledger.email_log (
    partner_id varchar not null,
    quarter_start date not null,
    customer_ref varchar not null,
    message_id varchar not null,
    sent_at timestamptz not null,
    primary key (partner_id, customer_ref, quarter_start)
);
"""

LINE_COLUMNS = [f.name for f in fields(PayoutLine)]


class LedgerError(ValueError):
    pass


@dataclass(frozen=True)
class Batch:
    batch_id: str
    partner_id: str
    quarter_start: date
    payout_model: str
    approved_at: datetime
    payment_date: date
    sepa_schema: str
    minimum_payout_cents: int
    prepared_by: str
    prepared_at: datetime
    approved_by: str
    proposal_hash: str


@dataclass(frozen=True)
class Preparation:
    partner_id: str
    quarter_start: date
    preparation_seq: int  # 1, 2, ... per partner and quarter: the latest is the one an approval checks
    prepared_at: datetime
    prepared_by: str
    proposal_hash: str
    customers: int
    gross_cents: int
    net_cents: int
    paid_cents: int


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_SQL)


def proposal_hash(lines: list[PayoutLine], prices: dict[tuple[date, int], Decimal],
                  contracts: dict[date, Contract], entries: list[Entry]) -> str:
    """What an approver signs off: every line, price, contract and entry, in a fixed order and notation."""
    text = "\n".join([*("\x1f".join(map(str, astuple(line))) for line in sorted(lines, key=lambda l: l.customer_ref)),
                      *(f"{start}\x1f{year}\x1f{price}" for (start, year), price in sorted(prices.items())),
                      *(f"{start}\x1f{contract.model_dump_json()}" for start, contract in sorted(contracts.items())),
                      *sorted("\x1f".join(map(str, astuple(entry))) for entry in entries)])
    return hashlib.sha256(text.encode()).hexdigest()


def next_preparation_seq(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> int:
    return con.execute("select coalesce(max(preparation_seq), 0) + 1 from ledger.payout_preparations "
                       "where partner_id = ? and quarter_start = ?", [partner_id, quarter.start]).fetchone()[0]


def record_preparation(con: duckdb.DuckDBPyConnection, preparation: Preparation) -> None:
    con.execute(f"insert into ledger.payout_preparations values ({', '.join('?' * len(fields(Preparation)))})",
                list(astuple(preparation)))


def latest_preparation(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> Preparation | None:
    row = con.execute("select * from ledger.payout_preparations where partner_id = ? and quarter_start = ? "
                      "order by preparation_seq desc limit 1", [partner_id, quarter.start]).fetchone()
    return Preparation(*row) if row else None


def batch_id_for(partner_id: str, quarter: Quarter) -> str:
    return f"{partner_id}-{quarter.year}Q{quarter.number}"


def end_to_end_id(partner_id: str, customer_ref: str, quarter: Quarter) -> str:
    """Deterministic and unique per (partner, customer, quarter), within SEPA's 35 characters."""
    digest = hashlib.sha256(f"{partner_id}\x1f{customer_ref}\x1f{quarter.label}".encode()).hexdigest()[:20]
    return f"ERE{quarter.year}Q{quarter.number}-{digest}"


def find_batch(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> Batch | None:
    row = con.execute("select * from ledger.payout_batches where partner_id = ? and quarter_start = ?",
                      [partner_id, quarter.start]).fetchone()
    return Batch(*row) if row else None


def batch_lines(con: duckdb.DuckDBPyConnection, batch: Batch) -> list[PayoutLine]:
    rows = con.execute(f"select {', '.join(LINE_COLUMNS)} from ledger.payout_lines where batch_id = ? "
                       "order by customer_ref", [batch.batch_id]).fetchall()
    return [PayoutLine(*row) for row in rows]


def history_before(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> dict[str, History]:
    """Per customer: the entries of approved quarters before this one, and the balance carried.

    Raises LedgerError when the lines' amounts are not their entries' sum (lines approved before the ledger
    kept entries): counted again, they would be paid twice."""
    lines = con.execute("""
        select customer_ref, arg_max(carried_out_cents, quarter_start), sum(net_cents + adjustment_cents)
        from ledger.payout_lines
        where partner_id = ? and quarter_start < ?
        group by customer_ref
    """, [partner_id, quarter.start]).fetchall()
    entries: dict[str, list[Entry]] = {}
    for entry in _entries(con, "partner_id = ? and quarter_start < ?", [partner_id, quarter.start]):
        entries.setdefault(entry.customer_ref, []).append(entry)
    unaccounted = sum(1 for ref, _, amount in lines if amount != sum(e.amount_cents for e in entries.get(ref, ())))
    if unaccounted:
        raise LedgerError(f"{partner_id} {quarter}: {unaccounted} customer(s) have approved payout lines without "
                          "their entries in ledger.payout_entries (approved before the ledger kept them); "
                          "their history cannot be counted safely")
    return {ref: History(int(carried), tuple(entries.get(ref, ()))) for ref, carried, _ in lines}


ENTRY_COLUMNS = "customer_ref, entry_kind, for_quarter_start, delivery_year, line_kind, amount_cents"


def _entries(con: duckdb.DuckDBPyConnection, where: str, parameters: list) -> list[Entry]:
    rows = con.execute(f"select {ENTRY_COLUMNS} from ledger.payout_entries where {where} "
                       "order by customer_ref, for_quarter_start, delivery_year, entry_kind, line_kind",
                       parameters).fetchall()
    return [Entry(*row) for row in rows]


def batch_entries(con: duckdb.DuckDBPyConnection, batch: Batch) -> list[Entry]:
    """The entries an approved batch froze, per customer in a fixed order."""
    return _entries(con, "batch_id = ?", [batch.batch_id])


def frozen_prices(con: duckdb.DuckDBPyConnection, partner_id: str) -> dict[tuple[date, int], Decimal]:
    rows = con.execute("select quarter_start, delivery_year, price_eur_per_ere from ledger.payout_prices "
                       "where partner_id = ?", [partner_id]).fetchall()
    return {(start, year): price for start, year, price in rows}


def frozen_contracts(con: duckdb.DuckDBPyConnection, partner_id: str) -> dict[date, Contract]:
    rows = con.execute("select quarter_start, valid_from, payout_model, partner_iban, service_fee_pct, "
                       "partner_share_pct from ledger.payout_contracts where partner_id = ?", [partner_id]).fetchall()
    return {start: Contract(valid_from=valid_from, payout_model=model, partner_iban=iban, service_fee_pct=fee,
                            partner_share_pct=share) for start, valid_from, model, iban, fee, share in rows}


def batch_contract(con: duckdb.DuckDBPyConnection, batch: Batch) -> Contract:
    """The contract the batch paid its own quarter with."""
    return frozen_contracts(con, batch.partner_id)[batch.quarter_start]


def valued_units(con: duckdb.DuckDBPyConnection, partner_id: str) -> dict[tuple[date, int], Decimal]:
    """Per (booking quarter, delivery year): the units the partner's approved batches paid from sales."""
    rows = con.execute("select quarter_start, delivery_year, sum(units) from ledger.payout_sale_units "
                       "where partner_id = ? group by all", [partner_id]).fetchall()
    return {(start, year): units for start, year, units in rows}


def consumed_units(con: duckdb.DuckDBPyConnection) -> dict[int, Decimal]:
    """Per delivery year: the sold units every partner's approved batches took, the front of the FIFO queue."""
    return dict(con.execute("select delivery_year, sum(units) from ledger.payout_sale_units group by all").fetchall())


def later_batch(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> date | None:
    row = con.execute("select min(quarter_start) from ledger.payout_batches where partner_id = ? and "
                      "quarter_start > ?", [partner_id, quarter.start]).fetchone()
    return row[0] if row else None


def record_batch(con: duckdb.DuckDBPyConnection, batch: Batch, lines: list[PayoutLine],
                 prices: dict[tuple[date, int], Decimal], sold_units: dict[tuple[date, int], Decimal],
                 contracts: dict[date, Contract], entries: list[Entry]) -> bool:
    """Freeze a batch, its lines and their entries, the prices it valued bookings at, the sold units it took
    (per booking quarter and delivery year, the units valued for the first time) and the contracts it used
    (per quarter, its own among them), all or nothing.

    Returns False (and writes nothing) when the partner's quarter was approved before."""
    quarter = Quarter.parse(batch.quarter_start.isoformat())
    con.execute("begin transaction")
    try:
        if find_batch(con, batch.partner_id, quarter):
            con.execute("rollback")
            return False
        later = later_batch(con, batch.partner_id, quarter)
        if later:
            raise LedgerError(f"{batch.partner_id} {quarter}: a later quarter ({Quarter.parse(later.isoformat())}) "
                              "is already approved and paid what this quarter held; approve quarters in order")
        con.execute(f"insert into ledger.payout_batches values ({', '.join('?' * len(fields(Batch)))})",
                    list(astuple(batch)))
        if lines:
            con.executemany(
                f"insert into ledger.payout_lines (batch_id, partner_id, quarter_start, {', '.join(LINE_COLUMNS)}, "
                f"end_to_end_id) values ({', '.join('?' * (len(LINE_COLUMNS) + 4))})",
                [[batch.batch_id, batch.partner_id, batch.quarter_start, *astuple(line),
                  end_to_end_id(batch.partner_id, line.customer_ref, quarter)] for line in lines])
        if entries:
            con.executemany(
                f"insert into ledger.payout_entries (batch_id, partner_id, quarter_start, {ENTRY_COLUMNS}) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[batch.batch_id, batch.partner_id, batch.quarter_start, *astuple(entry)] for entry in entries])
        if prices:
            con.executemany(
                "insert into ledger.payout_prices values (?, ?, ?, ?, ?) on conflict do nothing",
                [[batch.batch_id, batch.partner_id, start, year, price] for (start, year), price in sorted(prices.items())])
        con.executemany(
            "insert into ledger.payout_contracts values (?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing",
            [[batch.batch_id, batch.partner_id, start, c.valid_from, c.payout_model, c.partner_iban,
              c.service_fee_pct, c.partner_share_pct] for start, c in sorted(contracts.items())])
        if sold_units:
            con.executemany("insert into ledger.payout_sale_units values (?, ?, ?, ?, ?)",
                            [[batch.batch_id, batch.partner_id, start, year, units]
                             for (start, year), units in sorted(sold_units.items())])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return True


def emailed(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> set[str]:
    rows = con.execute("select customer_ref from ledger.email_log where partner_id = ? and quarter_start = ?",
                       [partner_id, quarter.start]).fetchall()
    return {ref for (ref,) in rows}


def record_email(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter, customer_ref: str,
                 message_id: str, sent_at: datetime) -> None:
    con.execute("insert into ledger.email_log values (?, ?, ?, ?, ?) on conflict do nothing",
                [partner_id, quarter.start, customer_ref, message_id, sent_at])
