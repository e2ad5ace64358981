"""A partner's quarter payout from the warehouse: the booked units, the customers, the price and the
ledger's history; its preparation by one person and its approval by another, which freezes it in the ledger.

The customer data read here (IBAN, email, name) serves the payout files and emails only; nothing of it
goes to logs or Dagster metadata."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import duckdb

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.partners import Contract, NoContractInForce, Partner
from joulo_pipelines.lib.payouts import bank_days, ledger
from joulo_pipelines.lib.payouts.amounts import (VALUE_KINDS, Booking, ContractBook, Customer, Entry, PayoutLine,
                                                 PriceBook, Terms, customer_accounts)
from joulo_pipelines.lib.payouts.money import NoPriceError, fifo_prices, last_price
from joulo_pipelines.lib.payouts.settings import PaymentSettings, Sale
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.verification.status import year_status
from joulo_pipelines.lib.warehouse import has_table

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
BOOKED_UNITS = "ledger.booked_units"


class PayoutNotComputed(ValueError):
    """The quarter's payout cannot be computed (no price, no bookings table): the message says why."""


class ApprovalRefused(ValueError):
    """Nothing was prepared, the approver prepared it too (four eyes), or the proposal changed since it was
    prepared: the message says which and what to do."""


@dataclass(frozen=True)
class Recipient:
    """Who a payout line goes to: the personal data the SEPA file and the email need."""
    customer_ref: str
    name: str
    email: str | None
    iban: str | None
    account_holder: str
    language: str


@dataclass(frozen=True)
class Proposal:
    partner: Partner
    quarter: Quarter
    lines: list[PayoutLine]
    prices: dict[tuple[date, int], Decimal]  # the price of every (booking quarter, delivery year) valued
    sold_units: dict[tuple[date, int], Decimal]  # the sold units it takes, per (booking quarter, delivery year)
    contracts: dict[date, Contract]  # the contract of the quarter paid and of every quarter valued
    entries: list[Entry]  # what makes up each line's amount (settlements, clawbacks, advances, holdbacks)

    @property
    def hash(self) -> str:
        return ledger.proposal_hash(self.lines, self.prices, self.contracts, self.entries)


def read_bookings(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> list[Booking]:
    """The units the register issued (imported with `joulo rev import-result`), the only units paid: a draft
    may still change and a submitted line waits for its result; the first payout after the import pays it,
    because every payout counts what the bookings are worth to date minus what earlier batches counted."""
    return _booked(con, partner_id, quarter, "units_source = 'rev_issued'")


def read_pending(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter) -> list[Booking]:
    """Submitted to the register and not issued yet: what an advance is paid on (at our estimate)."""
    return _booked(con, partner_id, quarter, "status = 'submitted' and units_source = 'estimate'")


def _booked(con: duckdb.DuckDBPyConnection, partner_id: str, quarter: Quarter, condition: str) -> list[Booking]:
    """Per customer, booking quarter, delivery year and line kind: an amendment apart, with the quarter of
    the delivery it changes, so a paid delivery it lowers shows as a clawback of that quarter."""
    if not has_table(con, "ledger", "booked_units"):
        raise PayoutNotComputed(f"{BOOKED_UNITS} does not exist yet: book the quarter first")
    rows = con.execute(f"""
        select customer_ref, booking_quarter_start, delivery_year, sum(kwh), sum(units), any_value(units_source),
               case when kind = 'amendment' then 'amendment' else 'delivery' end as line_kind,
               case when kind = 'amendment' then cast(date_trunc('quarter', delivery_period_start) as date)
               end as amends_quarter_start
        from {BOOKED_UNITS}
        where partner_id = ? and booking_quarter_start <= ? and {condition}
        group by customer_ref, booking_quarter_start, delivery_year, line_kind, amends_quarter_start
        order by customer_ref, booking_quarter_start, delivery_year, line_kind, amends_quarter_start nulls first
    """, [partner_id, quarter.start]).fetchall()
    return [Booking(ref, start, int(year), Decimal(kwh), Decimal(units), source, line_kind, amends)
            for ref, start, year, kwh, units, source, line_kind, amends in rows]


def read_customers(con: duckdb.DuckDBPyConnection, partner_id: str) -> dict[str, tuple[Customer, Recipient]]:
    rows = con.execute("""
        select customer_ref, iban, mandate_valid_until, revoked_at, customer_name, email, account_holder, language
        from intermediate.int_customers_latest where partner_id = ? order by customer_ref
    """, [partner_id]).fetchall()
    customers = {}
    for ref, iban, valid_until, revoked_at, name, email, holder, language in rows:
        revoked = revoked_at.astimezone(AMSTERDAM).date() if isinstance(revoked_at, datetime) else revoked_at
        customers[ref] = (Customer(ref, iban, valid_until, revoked),
                          Recipient(ref, name, email, iban, holder or name, language or "nl"))
    return customers


def compute(con: duckdb.DuckDBPyConnection, partner: Partner, quarter: Quarter, settings: PaymentSettings,
            sales: list[Sale]) -> Proposal:
    """The payout as it would be approved now. Raises PayoutNotComputed saying why when it cannot be."""
    ledger.ensure_schema(con)
    bookings = read_bookings(con, partner.id, quarter)
    customers = read_customers(con, partner.id)
    today = clock.today()
    issued: dict[tuple[date, int], Decimal] = {}
    for b in bookings:
        issued[(b.quarter_start, b.delivery_year)] = issued.get((b.quarter_start, b.delivery_year), 0) + b.units
    # Units issued since the partner's last batch take the next sales in line; a correction downwards
    # gives no sale back (what was paid from it stays paid).
    valued, consumed = ledger.valued_units(con, partner.id), ledger.consumed_units(con)
    frozen = ledger.frozen_prices(con, partner.id)
    sold_units = {key: units - valued.get(key, 0) for key, units in sorted(issued.items())
                  if units > valued.get(key, 0)}
    current = {}
    for year in sorted({year for _, year in issued}):
        needs = [(start, sold_units.get((start, y), Decimal(0))) for start, y in sorted(issued)
                 if y == year and ((start, y) in sold_units or (start, y) not in frozen)]
        if not needs:
            continue
        try:
            current |= {(start, year): price for start, price in
                        fifo_prices(sales, year, today, consumed.get(year, Decimal(0)), needs).items()}
        except NoPriceError as exc:
            raise PayoutNotComputed(f"{partner.id} {quarter}: payout not computed: {exc}") from None
    book = PriceBook(current, frozen)
    pending = read_pending(con, partner.id, quarter) if partner.payouts.advance_pct else []
    years = {b.delivery_year for b in [*bookings, *pending]}
    advance_prices = {year: price for year in years if (price := last_price(sales, year, today)) is not None}
    verified = frozenset(year for year in years if partner.payouts.holdback_pct
                         and year_status(con, year).statement_issued)
    try:
        history = ledger.history_before(con, partner.id, quarter)
    except ledger.LedgerError as exc:
        raise PayoutNotComputed(f"payout not computed: {exc}") from None
    # Every quarter a value is split for: the quarter paid, each delivery's booking quarter, each amendment's
    # amended quarter, each advance's booking quarter and each quarter the history valued.
    valued = ({quarter.start} | {b.about_quarter_start for b in bookings} | {b.quarter_start for b in pending}
              | {e.for_quarter_start for past in history.values() for e in past.entries if e.kind in VALUE_KINDS})
    contract_book = ContractBook(partner, ledger.frozen_contracts(con, partner.id))
    try:
        contracts = {start: contract_book.contract(start) for start in valued}
    except NoContractInForce as exc:
        raise PayoutNotComputed(f"{partner.id} {quarter}: payout not computed: {exc}") from None
    lines, entries = customer_accounts(quarter, contract_book, bookings, {ref: c for ref, (c, _) in customers.items()},
                                       history, book, settings.minimum_payout_cents,
                                       Terms(tuple(pending), advance_prices, verified))
    return Proposal(partner, quarter, lines, {key: book.price(*key) for key in issued}, sold_units, contracts,
                    entries)


def payment_date(quarter: Quarter, settings: PaymentSettings, approved_on: date) -> date:
    """The configured day after the quarter, but never before the approval, moved to the next bank day (the
    SEPA execution date and the date the emails promise)."""
    return bank_days.on_or_after(max(quarter.end + timedelta(days=settings.payment_days_after_quarter), approved_on))


def same_person(first: str, second: str) -> bool:
    return first.strip().casefold() == second.strip().casefold()


def prepare(con: duckdb.DuckDBPyConnection, draft: Proposal, by: str) -> ledger.Preparation:
    """Record that `by` prepared `draft` for approval: its hash and totals, who and when."""
    lines = draft.lines
    preparation = ledger.Preparation(
        partner_id=draft.partner.id, quarter_start=draft.quarter.start,
        preparation_seq=ledger.next_preparation_seq(con, draft.partner.id, draft.quarter),
        prepared_at=clock.now(), prepared_by=by, proposal_hash=draft.hash,
        customers=len(lines), gross_cents=sum(line.gross_cents for line in lines),
        net_cents=sum(line.net_cents for line in lines), paid_cents=sum(line.paid_cents for line in lines))
    ledger.record_preparation(con, preparation)
    return preparation


def approve(con: duckdb.DuckDBPyConnection, partner: Partner, quarter: Quarter, settings: PaymentSettings,
            sales: list[Sale], by: str) -> tuple[ledger.Batch, bool]:
    """Freeze the partner's quarter in the ledger as `by` approves it; (the batch, whether this call created it).

    Approving again returns the batch approved first and changes nothing. Raises ApprovalRefused when nothing
    was prepared, when `by` prepared it and the partner keeps four eyes, or when the proposal is no longer
    the one prepared (a booking, a customer or a price changed in between)."""
    ledger.ensure_schema(con)
    existing = ledger.find_batch(con, partner.id, quarter)
    if existing:
        return existing, False
    prepared = ledger.latest_preparation(con, partner.id, quarter)
    if prepared is None:
        raise ApprovalRefused(f"{partner.id} {quarter}: nothing prepared to approve; first `joulo payouts prepare "
                              f"{quarter} --partner {partner.id} --by <name>`, then another person approves")
    if partner.payouts.four_eyes and same_person(prepared.prepared_by, by):
        raise ApprovalRefused(f"{partner.id} {quarter}: {by} prepared this payout and cannot also approve it "
                              "(four eyes): another person approves")
    proposal = compute(con, partner, quarter, settings, sales)
    if proposal.hash != prepared.proposal_hash:
        raise ApprovalRefused(f"{partner.id} {quarter}: the proposal changed since {prepared.prepared_by} prepared it "
                              f"at {prepared.prepared_at.isoformat(timespec='seconds')}; prepare it again "
                              f"(`joulo payouts prepare {quarter} --partner {partner.id} --by <name>`) and "
                              "approve that")
    now = clock.now()
    batch = ledger.Batch(
        batch_id=ledger.batch_id_for(partner.id, quarter), partner_id=partner.id, quarter_start=quarter.start,
        payout_model=proposal.contracts[quarter.start].payout_model, approved_at=now,
        payment_date=payment_date(quarter, settings, now.astimezone(AMSTERDAM).date()),
        sepa_schema=settings.sepa_schema, minimum_payout_cents=settings.minimum_payout_cents,
        prepared_by=prepared.prepared_by, prepared_at=prepared.prepared_at, approved_by=by,
        proposal_hash=prepared.proposal_hash)
    created = ledger.record_batch(con, batch, proposal.lines, proposal.prices, proposal.sold_units,
                                 proposal.contracts, proposal.entries)
    return (batch if created else ledger.find_batch(con, partner.id, quarter)), created
