"""What each customer is owed for a quarter, and what is paid now: the payout rules.

Per customer the ledger is a running account. A quarter's *earned* amount is everything the customer's
issued bookings up to and including the quarter are worth now, minus what earlier approved quarters already
counted; so units the register issued after an approval, or a corrected result, show up as an adjustment in
the next quarter instead of rewriting history. Then:
- payable = earned + what was carried in from the previous quarter;
- payable below the minimum payout carries over; when the mandate ends, whatever is positive is paid;
- a negative payable (a correction larger than the new earnings) carries over and nets against later
  payouts: it never becomes a negative transfer;
- no transfer to a missing or invalid IBAN: the amount is held, with the reason, and carried over (only
  when the payout quarter's contract pays customers directly).

A booking quarter's fee and partner share are those of the contract in force in that quarter, frozen once a
batch valued it, like its price; the payout model is that of the quarter being paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from joulo_pipelines.lib.partners import Contract, Partner
from joulo_pipelines.lib.payouts.money import cents_to_eur, split_gross, to_cents
from joulo_pipelines.lib.quarters import Quarter


@dataclass(frozen=True)
class Booking:
    """A customer's booked credits for one booking quarter and delivery year (summed over EANs and kinds)."""
    customer_ref: str
    quarter_start: date
    delivery_year: int
    kwh: Decimal
    units: Decimal
    units_source: str  # rev_issued | estimate | mixed


@dataclass(frozen=True)
class Customer:
    customer_ref: str
    iban: str | None
    mandate_valid_until: date | None
    revoked_at: date | None


@dataclass(frozen=True)
class History:
    """What the ledger holds for a customer from approved quarters before this one."""
    earned_cents: int = 0
    carried_out_cents: int = 0


@dataclass(frozen=True)
class PriceBook:
    """EUR per ERE by (booking quarter, delivery year). A booking quarter valued in an approved batch keeps
    the price it was paid at (`frozen`), so later sales do not re-price what was paid; the others use
    `current`, the price of the sales they take next (money.fifo_prices)."""
    current: dict[tuple[date, int], Decimal]
    frozen: dict[tuple[date, int], Decimal]

    def price(self, quarter_start: date, delivery_year: int) -> Decimal:
        key = (quarter_start, delivery_year)
        return self.frozen[key] if key in self.frozen else self.current[key]


@dataclass(frozen=True)
class ContractBook:
    """The contract of each quarter: the one an approved batch recorded for it (`frozen`), so a registry
    changed since never re-values what was approved; otherwise the one in force in the registry now."""
    partner: Partner
    frozen: dict[date, Contract]

    def contract(self, quarter_start: date) -> Contract:
        if quarter_start in self.frozen:
            return self.frozen[quarter_start]
        return self.partner.contract_in_force(Quarter.containing(quarter_start))


@dataclass(frozen=True)
class PayoutLine:
    customer_ref: str
    kwh: Decimal
    units: Decimal
    units_source: str
    price_eur_per_ere: str  # the delivery years' prices, e.g. "0.431234" or "2025:0.41;2026:0.43"
    gross_cents: int
    fee_cents: int
    partner_share_cents: int
    net_cents: int
    adjustment_cents: int
    carried_in_cents: int
    paid_cents: int
    carried_out_cents: int
    status: str  # paid | carried_over | netted | held | nothing_due
    reason: str


def quarter_value(bookings: list[Booking], prices: PriceBook, contract: Contract) -> tuple[int, int, int, int]:
    """(gross, fee, partner share, net) in cents for one customer's bookings of one booking quarter."""
    gross = to_cents(sum((b.units * prices.price(b.quarter_start, b.delivery_year) for b in bookings), Decimal(0)))
    return (gross, *split_gross(gross, contract.service_fee_pct, contract.partner_share_pct))


def iban_problem(iban: str | None) -> str | None:
    """Why we cannot pay to this IBAN, without repeating it (the reason lands in files people read)."""
    if not iban:
        return "no IBAN delivered"
    try:
        IBAN(iban)
    except SchwiftyException as exc:
        return f"invalid IBAN ({type(exc).__name__})"
    return None


def payout_lines(quarter: Quarter, contracts: ContractBook, bookings: list[Booking], customers: dict[str, Customer],
                 history: dict[str, History], prices: PriceBook, minimum_cents: int) -> list[PayoutLine]:
    """One line per customer with bookings up to the quarter or a balance in the ledger, sorted by customer."""
    by_customer: dict[str, list[Booking]] = {}
    for booking in bookings:
        if booking.quarter_start <= quarter.start:
            by_customer.setdefault(booking.customer_ref, []).append(booking)
    lines = []
    for ref in sorted(set(by_customer) | set(history)):
        lines.append(_line(quarter, contracts, ref, by_customer.get(ref, []), customers.get(ref),
                           history.get(ref, History()), prices, minimum_cents))
    return lines


def _line(quarter: Quarter, contracts: ContractBook, ref: str, bookings: list[Booking], customer: Customer | None,
          past: History, prices: PriceBook, minimum_cents: int) -> PayoutLine:
    this_quarter = [b for b in bookings if b.quarter_start == quarter.start]
    gross, fee, share, net = quarter_value(this_quarter, prices, contracts.contract(quarter.start))
    earned_to_date = sum(quarter_value([b for b in bookings if b.quarter_start == start], prices,
                                       contracts.contract(start))[3]
                         for start in {b.quarter_start for b in bookings})
    earned = earned_to_date - past.earned_cents
    payable = earned + past.carried_out_cents

    mandate_ends = customer is not None and any(
        day is not None and day < quarter.end for day in (customer.mandate_valid_until, customer.revoked_at))
    pays_directly = contracts.contract(quarter.start).payout_model == "direct"
    hold = iban_problem(customer.iban if customer else None) if pays_directly else None
    if customer is None:
        hold = "customer not in the partner's customer file"
    if payable <= 0:
        status, reason, paid = ("netted", "negative balance nets against later payouts", 0) if payable < 0 \
            else ("nothing_due", "", 0)
    elif hold:
        status, reason, paid = "held", hold, 0
    elif payable < minimum_cents and not mandate_ends:
        status, reason, paid = "carried_over", f"below the minimum payout of EUR {cents_to_eur(minimum_cents)}", 0
    else:
        status, reason, paid = "paid", "mandate ended: final payout" if payable < minimum_cents else "", payable

    years = sorted({b.delivery_year for b in this_quarter})
    price_text = (f"{prices.price(quarter.start, years[0])}" if len(years) == 1
                  else ";".join(f"{y}:{prices.price(quarter.start, y)}" for y in years))
    sources = {b.units_source for b in this_quarter}
    return PayoutLine(
        customer_ref=ref,
        kwh=sum((b.kwh for b in this_quarter), Decimal(0)),
        units=sum((b.units for b in this_quarter), Decimal(0)),
        units_source=sources.pop() if len(sources) == 1 else ("mixed" if sources else ""),
        price_eur_per_ere=price_text,
        gross_cents=gross, fee_cents=fee, partner_share_cents=share, net_cents=net,
        adjustment_cents=earned - net,
        carried_in_cents=past.carried_out_cents,
        paid_cents=paid,
        carried_out_cents=payable - paid,
        status=status, reason=reason,
    )
