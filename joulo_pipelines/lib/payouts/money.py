"""Money: the price of a delivery year's credits (its sales, first in, first out), the one rounding step to cents, and the largest-remainder
split of a gross amount into our fee, the partner's share and the customer's net.

Amounts are integer euro cents; prices and units are Decimal. Nothing here ever touches a float."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from joulo_pipelines.lib.payouts.settings import Sale

PRICE_PLACES = Decimal("0.000001")  # the price is stated (and used) to a millionth of a euro per ERE
HUNDRED = Decimal(100)


class NoPriceError(ValueError):
    pass


def fifo_prices(sales: list[Sale], delivery_year: int, as_of: date, consumed: Decimal,
                needs: list[tuple[date, Decimal]]) -> dict[date, Decimal]:
    """Per booking quarter of `needs` (in order), the price of its units taken from the delivery year's sales
    made on or before `as_of`, first in, first out: in sale date order (the file's order within a day), after
    the `consumed` units that approved payouts took. A quarter's price is the volume-weighted price of its
    slice, stated to six decimals (the statement shows the price that computed the gross); a quarter needing
    no units gets the price of the next unit. No sale, or fewer units sold than needed: an error, never zero
    or a guess, because a customer is paid only for credits we sold."""
    sold = sorted((s for s in sales if s.delivery_year == delivery_year and s.sale_date <= as_of),
                  key=lambda s: s.sale_date)
    queue = [[s.units, s.price_eur_per_ere] for s in sold]
    if not queue:
        raise NoPriceError(f"no ERE sales for delivery year {delivery_year} on or before {as_of} in "
                           "config/ere_sales.csv")
    left = sum((units for units, _ in queue), Decimal(0)) - consumed
    needed = sum((max(units, Decimal(0)) for _, units in needs), Decimal(0))
    if needed > left:
        raise NoPriceError(f"{needed.normalize():f} ERE of delivery year {delivery_year} to pay, but only "
                           f"{max(left, Decimal(0)).normalize():f} "
                           f"sold on or before {as_of} and not yet paid out (config/ere_sales.csv)")
    _take(queue, consumed)
    prices = {}
    for quarter_start, units in needs:
        if units <= 0:
            prices[quarter_start] = (queue[0][1] if queue else sold[-1].price_eur_per_ere).quantize(PRICE_PLACES)
            continue
        value = sum((taken * price for taken, price in _take(queue, units)), Decimal(0))
        prices[quarter_start] = (value / units).quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)
    return prices


def last_price(sales: list[Sale], delivery_year: int, as_of: date) -> Decimal | None:
    """The price of the delivery year's latest sale on or before `as_of` (what an advance is estimated at:
    its units are not sold yet), or None without one."""
    sold = [s for s in sales if s.delivery_year == delivery_year and s.sale_date <= as_of]
    return max(sold, key=lambda s: s.sale_date).price_eur_per_ere if sold else None


def _take(queue: list[list], units: Decimal) -> list[tuple[Decimal, Decimal]]:
    """Remove `units` from the front of the queue of [units, price] slices; the (units, price) taken."""
    taken = []
    while units > 0 and queue:
        part = min(units, queue[0][0])
        taken.append((part, queue[0][1]))
        queue[0][0] -= part
        units -= part
        if queue[0][0] == 0:
            queue.pop(0)
    return taken


def to_cents(amount_eur: Decimal) -> int:
    """THE rounding step from euros to cents: half away from zero, once, on the gross."""
    return int((amount_eur * HUNDRED).to_integral_value(rounding=ROUND_HALF_UP))


def cents_to_eur(cents: int) -> str:
    """1234 -> '12.34', -5 -> '-0.05': exact, for files and emails."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def allocate(total_cents: int, weights: list[Decimal]) -> list[int]:
    """Split `total_cents` in proportion to `weights` so the parts sum to the total exactly.

    Largest remainder: every part gets the floor of its exact share; the cents left over go one each to
    the parts with the largest fractional remainders (ties to the earlier part, so it is deterministic).
    A negative total (a correction) is split like its absolute value and negated."""
    if not weights or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {weights}")
    sign = -1 if total_cents < 0 else 1
    magnitude = abs(total_cents)
    weight_sum = sum(weights)
    exact = [Decimal(magnitude) * w / weight_sum for w in weights]
    floors = [int(e) for e in exact]  # exact >= 0, so int() is floor
    left = magnitude - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [sign * part for part in floors]


def split_gross(gross_cents: int, service_fee_pct: Decimal, partner_share_pct: Decimal) -> tuple[int, int, int]:
    """(our fee, the partner's share, the customer's net), summing to `gross_cents` to the cent."""
    customer_pct = HUNDRED - service_fee_pct - partner_share_pct
    fee, share, net = allocate(gross_cents, [service_fee_pct, partner_share_pct, customer_pct])
    return fee, share, net
