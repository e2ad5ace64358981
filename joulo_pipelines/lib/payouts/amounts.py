"""What each customer is owed for a quarter, and what is paid now: the payout rules.

Per customer within a partner the ledger is a running account of entries (`ledger.payout_entries`), each
with its kind and the booking quarter and delivery year it is about, never recomputed once approved:
- `settlement` / `clawback`: per quarter, delivery year and kind of booking line (a delivery, by its booking
  quarter; an amendment, by the quarter of the delivery it changes), what its issued units are worth now
  minus what approved quarters already counted: the quarter's own deliveries (the line's net), units issued
  after an approval, or (negative, a clawback) a corrected result or an amendment that lowered a paid
  delivery (an EAN found ineligible after it was paid, e.g. claimed by an earlier mandate);
- `advance` (partners with `payouts.advance_pct`): that percentage of the customer's net on the estimate of
  a submitted booking the register has not issued yet, once; `advance_settled` takes it back when the units
  are issued, next to their settlement;
- `holdback` (partners with `payouts.holdback_pct`): that percentage of a settlement, held until the delivery
  year's verifier statement is recorded; `holdback_release` pays it then, and the year's clawbacks (the
  findings' amendments) net against it.
Then:
- payable = the quarter's entries + what was carried in from the previous quarter;
- payable below the minimum payout carries over; when the mandate ends, whatever is positive is paid;
- a negative payable (a correction larger than the new earnings) carries over and nets against later
  payouts: it never becomes a negative transfer;
- no transfer to a missing or invalid IBAN: the amount is held, with the reason, and carried over (only
  when the payout quarter's contract pays customers directly).

A booking quarter's fee and partner share are those of the contract in force in that quarter, frozen once a
batch valued it, like its price; an entry is split by the contract of the quarter it is about (a delivery's
and an advance's booking quarter, an amendment's the quarter it changes); the payout model is that of the
quarter being paid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from joulo_pipelines.lib.partners import Contract, Partner
from joulo_pipelines.lib.payouts.money import HUNDRED, allocate, cents_to_eur, split_gross, to_cents
from joulo_pipelines.lib.quarters import Quarter


@dataclass(frozen=True)
class Booking:
    """A customer's booked credits for one booking quarter and delivery year, summed over EANs: deliveries
    (and the register's corrections) in one, amendments apart by the quarter they change."""
    customer_ref: str
    quarter_start: date
    delivery_year: int
    kwh: Decimal
    units: Decimal
    units_source: str  # rev_issued | estimate | mixed
    line_kind: str = "delivery"  # delivery | amendment (a change to a delivery submitted earlier)
    amends_quarter_start: date | None = None  # an amendment: the quarter of the delivery it changes, if known

    @property
    def about_quarter_start(self) -> date:
        """The quarter its value is counted for: an amendment's, the delivery's it changes."""
        return self.amends_quarter_start or self.quarter_start


@dataclass(frozen=True)
class Customer:
    customer_ref: str
    iban: str | None
    mandate_valid_until: date | None
    revoked_at: date | None


@dataclass(frozen=True)
class Entry:
    """One amount in a customer's account: what it is (`kind`), the booking quarter and delivery year it is
    about, and for a settlement or clawback the kind of booking line it values ('' for the others)."""
    customer_ref: str
    kind: str  # settlement | clawback | advance | advance_settled | holdback | holdback_release
    for_quarter_start: date
    delivery_year: int
    line_kind: str
    amount_cents: int


VALUE_KINDS = ("settlement", "clawback")


def beyond_net(entries: list[Entry], quarter: Quarter) -> list[Entry]:
    """The entries a statement lists under the quarter's net: all but the value of the quarter's own
    deliveries, which is the net."""
    return [e for e in entries if not (e.kind in VALUE_KINDS and e.line_kind == "delivery"
                                       and e.for_quarter_start == quarter.start)]


@dataclass(frozen=True)
class History:
    """What the ledger holds for a customer from approved quarters before this one."""
    carried_out_cents: int = 0
    entries: tuple[Entry, ...] = ()


@dataclass(frozen=True)
class Terms:
    """What advances and holdbacks need besides the issued bookings."""
    pending: tuple[Booking, ...] = ()  # submitted units the register has not issued yet (advance partners)
    advance_prices: dict[int, Decimal] = field(default_factory=dict)  # per delivery year: the last sale's price
    verified_years: frozenset[int] = frozenset()  # delivery years whose verifier statement is recorded


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
                 history: dict[str, History], prices: PriceBook, minimum_cents: int,
                 terms: Terms = Terms()) -> list[PayoutLine]:
    """One line per customer with bookings up to the quarter or a balance in the ledger, sorted by customer."""
    return customer_accounts(quarter, contracts, bookings, customers, history, prices, minimum_cents, terms)[0]


def customer_accounts(quarter: Quarter, contracts: ContractBook, bookings: list[Booking],
                      customers: dict[str, Customer], history: dict[str, History], prices: PriceBook,
                      minimum_cents: int, terms: Terms = Terms()) -> tuple[list[PayoutLine], list[Entry]]:
    """The quarter's line per customer (sorted) and the new entries that make up each line's amount."""
    issued: dict[str, list[Booking]] = {}
    pending: dict[str, list[Booking]] = {}
    for source, target in ((bookings, issued), (terms.pending, pending)):
        for booking in source:
            if booking.quarter_start <= quarter.start:
                target.setdefault(booking.customer_ref, []).append(booking)
    lines, entries = [], []
    for ref in sorted(set(issued) | set(pending) | set(history)):
        past = history.get(ref, History())
        new = _entries(ref, contracts, issued.get(ref, []), pending.get(ref, []), past, prices, terms)
        lines.append(_line(quarter, contracts, ref, issued.get(ref, []), new, customers.get(ref), past, prices,
                           minimum_cents))
        entries.extend(new)
    return lines, entries


def _share(amount_cents: int, pct: Decimal) -> int:
    """`pct` percent of an amount, split off exactly (largest remainder)."""
    return allocate(amount_cents, [pct, HUNDRED - pct])[0]


def _sums(entries, kinds: tuple[str, ...], key) -> dict:
    sums: dict = {}
    for e in entries:
        if e.kind in kinds:
            sums[key(e)] = sums.get(key(e), 0) + e.amount_cents
    return sums


def _quarter_and_year(e: Entry | Booking) -> tuple[date, int]:
    return (e.for_quarter_start if isinstance(e, Entry) else e.quarter_start), e.delivery_year


def _entries(ref: str, contracts: ContractBook, bookings: list[Booking], pending: list[Booking], past: History,
             prices: PriceBook, terms: Terms) -> list[Entry]:
    """The customer's new entries this quarter: what changed in the value of their issued bookings, advances
    given and settled, holdbacks taken and released. Each value is split by the contract of the quarter it
    is about (an amendment's, the delivery's it changes)."""
    groups: dict[tuple[date, int, str], list[Booking]] = {}
    for b in bookings:
        groups.setdefault((b.about_quarter_start, b.delivery_year, b.line_kind), []).append(b)
    counted = _sums(past.entries, VALUE_KINDS, lambda e: (e.for_quarter_start, e.delivery_year, e.line_kind))
    new = []
    for key in sorted(set(groups) | set(counted)):
        delta = quarter_value(groups.get(key, []), prices, contracts.contract(key[0]))[3] - counted.get(key, 0)
        if delta:
            new.append(Entry(ref, "settlement" if delta > 0 else "clawback", *key, delta))

    # An advance is given once per booking quarter and delivery year, on the units still waiting for the
    # register, and settled (taken back next to the settlement) once none wait any more.
    advanced = _sums(past.entries, ("advance",), _quarter_and_year)
    settled = _sums(past.entries, ("advance_settled",), _quarter_and_year)
    waiting = {_quarter_and_year(b) for b in pending}
    pct = contracts.partner.payouts.advance_pct
    for start, year in sorted(waiting):
        if pct and (start, year) not in advanced and year in terms.advance_prices:
            estimate = [b for b in pending if _quarter_and_year(b) == (start, year)]
            net = quarter_value(estimate, PriceBook({(start, year): terms.advance_prices[year]}, {}),
                                contracts.contract(start))[3]
            if net > 0 and _share(net, pct):
                new.append(Entry(ref, "advance", start, year, "", _share(net, pct)))
    for key, amount in sorted(advanced.items()):
        if key not in settled and key not in waiting:
            new.append(Entry(ref, "advance_settled", *key, "", -amount))

    # A holdback is a share of what a settlement adds before the year's verifier statement; the statement
    # releases all of the year's, and the year's clawbacks net against it in the same account.
    pct = contracts.partner.payouts.holdback_pct
    settling = _sums([e for e in new if e.delivery_year not in terms.verified_years], ("settlement",),
                     _quarter_and_year)
    for key, amount in sorted(settling.items()):
        if pct and _share(amount, pct):
            new.append(Entry(ref, "holdback", *key, "", -_share(amount, pct)))
    held = _sums(past.entries, ("holdback", "holdback_release"), _quarter_and_year)
    for (start, year), amount in sorted(held.items()):
        if amount and year in terms.verified_years:
            new.append(Entry(ref, "holdback_release", start, year, "", -amount))
    return new


def _line(quarter: Quarter, contracts: ContractBook, ref: str, bookings: list[Booking], entries: list[Entry],
          customer: Customer | None, past: History, prices: PriceBook, minimum_cents: int) -> PayoutLine:
    this_quarter = [b for b in bookings if b.quarter_start == quarter.start and b.line_kind == "delivery"]
    values = [quarter_value([b for b in this_quarter if b.delivery_year == year], prices,
                            contracts.contract(quarter.start))
              for year in sorted({b.delivery_year for b in this_quarter})]
    gross, fee, share, net = (sum(parts) for parts in zip(*values)) if values else (0, 0, 0, 0)
    earned = sum(e.amount_cents for e in entries)
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
