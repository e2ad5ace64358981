"""Money: the price of a delivery year's credits, the one rounding step to cents, and the largest-remainder
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


def realised_price(sales: list[Sale], delivery_year: int, as_of: date) -> Decimal:
    """Volume-weighted price of the sales of a delivery year's credits made on or before `as_of`.

    Stated to six decimals (the statement shows the price that computed the gross). No sale: an error,
    never zero, because a zero price would pay people nothing without anyone noticing."""
    sold = [s for s in sales if s.delivery_year == delivery_year and s.sale_date <= as_of]
    if not sold:
        raise NoPriceError(f"no ERE sales for delivery year {delivery_year} on or before {as_of} in "
                           "config/ere_sales.csv")
    value = sum((s.units * s.price_eur_per_ere for s in sold), Decimal(0))
    units = sum((s.units for s in sold), Decimal(0))
    return (value / units).quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)


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
