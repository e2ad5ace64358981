"""Booking lines, computed set-based in the warehouse.

A quarter's draft holds, per EAN, a 'regular' line with the quarter's eligible kWh and, when the quarter is
the first open (unsubmitted) quarter of its delivery year, a 'correction' line with what changed since
the earlier, submitted quarters of that year were booked. Once every quarter of a year is submitted, such
changes form a supplementary booking of the year instead (kind 'supplementary').

Rounding happens at one place, `KWH_DECIMALS`: the eligible kWh of an EAN in a delivery quarter is rounded
once, and every correction is the rounded target minus what is already booked for that EAN and quarter,
so over all bookings the kWh per EAN and delivery quarter add up to exactly round(eligible) and a
rounding difference is never booked twice nor lost.
"""

from __future__ import annotations

import duckdb

from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.registration.booking_ids import BookingId

KWH_DECIMALS = 3


def rounded_kwh(expression: str) -> str:
    """The one place booked kWh are rounded (half away from zero, to KWH_DECIMALS)."""
    return f"cast(round({expression}, {KWH_DECIMALS}) as decimal(18, {KWH_DECIMALS}))"


def eligible_minus_booked(quarters: str) -> str:
    """A query: per partner, EAN and delivery quarter in the list parameter `$<quarters>`, the rounded
    eligible kWh (the target, from marts.fct_ean_quarter_energy), what submitted bookings hold of it, and
    unbooked_kwh, the one minus the other. The one place "not booked yet" is computed: a correction or
    supplementary booking books it, the deadline watch and the after-deadline report count it. Customer,
    delivery period and ERE per kWh are the target's, else those of the latest booking line."""
    return f"""
    with targets as (
        select partner_id, ean, eligible_customer_ref as customer_ref, quarter_start, delivery_period_start,
               delivery_period_end, ere_per_kwh, {rounded_kwh('eligible_kwh')} as kwh
        from marts.fct_ean_quarter_energy
        where eligible_kwh > 0 and list_contains(${quarters}, quarter_start)
    ),

    booked as (
        select parts.partner_id, parts.ean, parts.delivery_quarter_start as quarter_start, sum(parts.kwh) as kwh,
               arg_max(lines.customer_ref, lines.booking_quarter_start) as customer_ref,
               arg_max(lines.ere_per_kwh, lines.booking_quarter_start) as ere_per_kwh
        from ledger.rev_booking_line_quarters as parts
        join ledger.rev_booking_lines as lines
            on parts.booking_id = lines.booking_id and parts.line_number = lines.line_number
        where list_contains(${quarters}, parts.delivery_quarter_start)
        group by parts.partner_id, parts.ean, parts.delivery_quarter_start
    )

    select
        coalesce(targets.partner_id, booked.partner_id) as partner_id,
        coalesce(targets.ean, booked.ean) as ean,
        coalesce(targets.customer_ref, booked.customer_ref) as customer_ref,
        coalesce(targets.quarter_start, booked.quarter_start) as quarter_start,
        targets.delivery_period_start,
        targets.delivery_period_end,
        coalesce(targets.ere_per_kwh, booked.ere_per_kwh) as ere_per_kwh,
        coalesce(targets.kwh, 0) as eligible_kwh,
        coalesce(booked.kwh, 0) as booked_kwh,
        coalesce(targets.kwh, 0) - coalesce(booked.kwh, 0) as unbooked_kwh
    from targets
    full outer join booked
        on targets.partner_id = booked.partner_id
        and targets.ean = booked.ean
        and targets.quarter_start = booked.quarter_start
    """


def year_quarters(year: int) -> list[Quarter]:
    return [Quarter(year, number) for number in range(1, 5)]


# `submitted` below is the delivery year's submitted booking ids (ledger.submitted_booking_ids), read once where
# a run or a submission starts and handed down: every decision of that run sees the same ledger.


def first_open_quarter(year: int, submitted: set[str]) -> Quarter | None:
    return next((quarter for quarter in year_quarters(year) if quarter.label not in submitted), None)


def next_supplementary(year: int, submitted: set[str]) -> BookingId:
    count = sum(1 for booking_id in submitted if BookingId.parse(booking_id).is_supplementary)
    return BookingId.supplementary(year, count + 1)


def corrected_quarters(booking: BookingId, submitted: set[str]) -> list[Quarter]:
    """The submitted quarters whose changes this booking carries: for the first open quarter of a year the
    submitted quarters before it; for a supplementary booking the whole year; otherwise none."""
    quarters = year_quarters(booking.delivery_year)
    if booking.is_supplementary:
        return quarters if all(q.label in submitted for q in quarters) else []
    if booking.quarter != first_open_quarter(booking.delivery_year, submitted):
        return []
    return [q for q in quarters if q < booking.quarter and q.label in submitted]


def build_draft(con: duckdb.DuckDBPyConnection, booking: BookingId, submitted: set[str]) -> int:
    """Replace the draft of `booking` in schema `registration` by what the warehouse says now.
    Returns the number of lines. Never touches the ledger."""
    regular = [] if booking.is_supplementary else [booking.quarter.start]
    corrected = [q.start for q in corrected_quarters(booking, submitted)]
    correction_kind = "supplementary" if booking.is_supplementary else "correction"
    part_params = {"regular_quarters": regular, "corrected_quarters": corrected, "correction_kind": correction_kind}
    line_params = {"booking_id": booking.label, "booking_quarter_start": booking.booking_quarter_start,
                   "delivery_year": booking.delivery_year}
    con.execute("begin transaction")
    try:
        con.execute("delete from registration.rev_booking_drafts where booking_id = ?", [booking.label])
        con.execute("delete from registration.rev_booking_draft_quarters where booking_id = ?", [booking.label])
        con.execute(f"create or replace temp table draft_parts as {_PARTS_SQL}", part_params)
        con.execute(f"insert into registration.rev_booking_drafts by name {_LINES_SQL}", line_params)
        con.execute(
            """
            insert into registration.rev_booking_draft_quarters by name
            select lines.booking_id, lines.line_number, parts.partner_id, parts.ean,
                   parts.quarter_start as delivery_quarter_start, parts.kwh
            from draft_parts as parts
            join registration.rev_booking_drafts as lines
                on lines.booking_id = $booking_id
                and lines.partner_id = parts.partner_id
                and lines.ean = parts.ean
                and lines.kind = parts.kind
            """,
            {"booking_id": booking.label},
        )
        con.execute("drop table draft_parts")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return con.execute("select count(*) from registration.rev_booking_drafts where booking_id = ?",
                       [booking.label]).fetchone()[0]


# Per partner, EAN and delivery quarter, what this booking adds: the regular quarter's rounded eligible kWh,
# and for corrected quarters the rounded eligible kWh now minus what submitted bookings hold for it.
_PARTS_SQL = f"""
with regular as (
    select partner_id, ean, eligible_customer_ref as customer_ref, quarter_start, delivery_period_start,
           delivery_period_end, ere_per_kwh, {rounded_kwh('eligible_kwh')} as kwh, 'regular' as kind, null as reason
    from marts.fct_ean_quarter_energy
    where eligible_kwh > 0 and list_contains($regular_quarters, quarter_start)
        and {rounded_kwh('eligible_kwh')} <> 0
),

changes as (
    {eligible_minus_booked('corrected_quarters')}
),

corrections as (
    select
        partner_id, ean, customer_ref, quarter_start,
        coalesce(delivery_period_start, quarter_start) as delivery_period_start,
        coalesce(delivery_period_end, cast(quarter_start + interval 3 month - interval 1 day as date))
            as delivery_period_end,
        ere_per_kwh, unbooked_kwh as kwh, $correction_kind as kind,
        year(quarter_start) || '-Q' || quarter(quarter_start) || ': '
            || case
                when booked_kwh = 0 then 'newly eligible'
                when eligible_kwh = 0 then 'no longer eligible'
                when unbooked_kwh > 0 then 'late or corrected data added kWh'
                else 'late or corrected data removed kWh'
            end
            || ' (eligible now ' || eligible_kwh || ' kWh, booked ' || booked_kwh || ' kWh)' as reason
    from changes
    where unbooked_kwh <> 0
)

select * from regular
union all
select * from corrections
"""

# One line per partner, EAN and kind, with the connection's booking data (name, address, mandate).
_LINES_SQL = f"""
with per_line as (
    select
        partner_id, ean, kind,
        arg_max(customer_ref, quarter_start) as customer_ref,
        min(delivery_period_start) as delivery_period_start,
        max(delivery_period_end) as delivery_period_end,
        cast(sum(kwh) as decimal(18, {KWH_DECIMALS})) as kwh,
        arg_max(ere_per_kwh, quarter_start) as ere_per_kwh,
        string_agg(reason, '; ' order by quarter_start) as reason
    from draft_parts
    group by partner_id, ean, kind
),

customers as (
    select * from intermediate.int_customers_latest
),

final as (
    select
        $booking_id as booking_id,
        cast($booking_quarter_start as date) as booking_quarter_start,
        cast($delivery_year as integer) as delivery_year,
        cast(row_number() over (order by per_line.partner_id, per_line.ean, per_line.kind desc) as integer)
            as line_number,
        per_line.kind,
        per_line.partner_id,
        per_line.customer_ref,
        per_line.ean,
        per_line.delivery_period_start,
        per_line.delivery_period_end,
        per_line.kwh,
        per_line.ere_per_kwh,
        cast(per_line.kwh * per_line.ere_per_kwh as decimal(38, 12)) as ere_estimate,
        customers.customer_name as connection_name,
        customers.street,
        customers.house_number,
        customers.postal_code,
        customers.city,
        cast(timezone('Europe/Amsterdam', customers.mandate_signed_at) as date) as mandate_issued_on,
        customers.mandate_valid_from,
        customers.mandate_valid_until,
        per_line.reason
    from per_line
    left join customers
        on per_line.partner_id = customers.partner_id
        and per_line.customer_ref = customers.customer_ref
)

select * from final
"""
