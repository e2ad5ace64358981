"""Booking lines, computed set-based in the warehouse.

A delivery is the kWh of one EAN in one delivery period (its quarter, clipped to the mandate). A quarter's
draft holds a 'delivery' line per EAN with the quarter's eligible kWh and, when the quarter is the first
open (unsubmitted) quarter of its delivery year, what changed in the earlier, submitted quarters of that
year: an 'amendment' line per changed delivery (the same EAN and period, the new total, the reason), or a
'delivery' line for an EAN and quarter never delivered before. Once every quarter of a year is submitted,
such changes form a supplementary booking of the year instead. kWh are never negative.

Rounding happens at one place, `KWH_DECIMALS`: the eligible kWh of an EAN in a delivery quarter is rounded
once and an amendment's new total is that rounded figure, so the latest kWh per EAN and delivery quarter
over all bookings are exactly round(eligible), and a rounding difference is never booked twice nor lost.
"""

from __future__ import annotations

import duckdb

from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.registration.booking_ids import BookingId
from joulo_pipelines.lib.registration.ledger import CONNECTION_FIELDS

KWH_DECIMALS = 3


def rounded_kwh(expression: str) -> str:
    """The one place booked kWh are rounded (half away from zero, to KWH_DECIMALS)."""
    return f"cast(round({expression}, {KWH_DECIMALS}) as decimal(18, {KWH_DECIMALS}))"


def eligible_minus_booked(quarters: str) -> str:
    """A query: per partner, EAN and delivery quarter in the list parameter `$<quarters>`, the rounded
    eligible kWh (the target, from marts.fct_ean_quarter_energy), what submitted bookings hold of it (the
    latest total: the delivery, or the last amendment of it) and unbooked_kwh, the one minus the other. The
    one place "not booked yet" is computed: an amendment or late delivery books it, the deadline watch and
    the after-deadline report count it. Customer and ERE per kWh are the target's, else those of the latest
    booking line; delivered_* name the submitted delivery line, where there is one."""
    return f"""
    with targets as (
        select partner_id, ean, eligible_customer_ref as customer_ref, quarter_start, delivery_period_start,
               delivery_period_end, ere_per_kwh, {rounded_kwh('eligible_kwh')} as kwh
        from marts.fct_ean_quarter_energy
        where eligible_kwh > 0 and list_contains(${quarters}, quarter_start)
    ),

    booked as (
        select
            lines.partner_id, lines.ean, lines.delivery_quarter_start as quarter_start,
            arg_max(lines.kwh, submissions.submission_seq) as kwh,
            arg_max(lines.customer_ref, submissions.submission_seq) as customer_ref,
            arg_max(lines.ere_per_kwh, submissions.submission_seq) as ere_per_kwh,
            any_value(lines.booking_id) filter (where lines.kind = 'delivery') as delivered_booking_id,
            any_value(lines.line_number) filter (where lines.kind = 'delivery') as delivered_line_number,
            any_value(lines.delivery_period_start) filter (where lines.kind = 'delivery') as delivered_period_start,
            any_value(lines.delivery_period_end) filter (where lines.kind = 'delivery') as delivered_period_end
        from ledger.rev_booking_lines as lines
        join ledger.rev_submissions as submissions on lines.booking_id = submissions.booking_id
        where list_contains(${quarters}, lines.delivery_quarter_start)
        group by lines.partner_id, lines.ean, lines.delivery_quarter_start
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
        coalesce(targets.kwh, 0) - coalesce(booked.kwh, 0) as unbooked_kwh,
        booked.delivered_booking_id,
        booked.delivered_line_number,
        booked.delivered_period_start,
        booked.delivered_period_end
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
    """Replace the draft of `booking` in schema `registration` by what the warehouse says now: its lines,
    and the connections of its EANs that were never sent or whose data changed since. Returns the number of
    lines. Never touches the ledger."""
    own = None if booking.is_supplementary else booking.quarter.start
    quarters = ([] if own is None else [own]) + [q.start for q in corrected_quarters(booking, submitted)]
    params = {"booking_id": booking.label, "booking_quarter_start": booking.booking_quarter_start,
              "delivery_year": booking.delivery_year, "quarters": quarters, "own_quarter": own}
    con.execute("begin transaction")
    try:
        con.execute("delete from registration.rev_booking_drafts where booking_id = ?", [booking.label])
        con.execute("delete from registration.rev_connection_drafts where booking_id = ?", [booking.label])
        con.execute(f"insert into registration.rev_booking_drafts by name {_LINES_SQL}", params)
        con.execute(f"insert into registration.rev_connection_drafts by name {_CONNECTIONS_SQL}",
                    {"booking_id": booking.label})
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return con.execute("select count(*) from registration.rev_booking_drafts where booking_id = ?",
                       [booking.label]).fetchone()[0]


# Per partner, EAN and delivery quarter that this booking books: a delivery where none was submitted yet
# (the booking's own quarter, or an earlier one booked late), else an amendment to the new total where the
# rounded eligible kWh differ from the latest total submitted.
_LINES_SQL = f"""
with changes as (
    {eligible_minus_booked('quarters')}
),

lines as (
    select
        partner_id, ean, customer_ref, quarter_start as delivery_quarter_start,
        case when delivered_booking_id is null then 'delivery' else 'amendment' end as kind,
        coalesce(delivered_period_start, delivery_period_start) as delivery_period_start,
        coalesce(delivered_period_end, delivery_period_end) as delivery_period_end,
        eligible_kwh as kwh,
        booked_kwh as previous_kwh,
        delivered_booking_id as amends_booking_id,
        delivered_line_number,
        ere_per_kwh,
        case
            when delivered_booking_id is null and quarter_start is not distinct from $own_quarter then null
            when delivered_booking_id is null then 'late delivery of an earlier period'
            when eligible_kwh = 0 then 'no longer eligible'
            when booked_kwh = 0 then 'eligible again'
            when unbooked_kwh > 0 then 'late or corrected data added kWh'
            else 'late or corrected data removed kWh'
        end || case when delivered_booking_id is null then '' else ' (was ' || booked_kwh || ' kWh)' end
            as reason
    from changes
    where (delivered_booking_id is null and eligible_kwh <> 0)
        or (delivered_booking_id is not null and unbooked_kwh <> 0)
),

final as (
    select
        $booking_id as booking_id,
        cast($booking_quarter_start as date) as booking_quarter_start,
        cast($delivery_year as integer) as delivery_year,
        cast(row_number() over (order by lines.partner_id, lines.ean, lines.delivery_quarter_start) as integer)
            as line_number,
        lines.kind,
        lines.partner_id,
        lines.customer_ref,
        lines.ean,
        lines.delivery_quarter_start,
        lines.delivery_period_start,
        lines.delivery_period_end,
        lines.kwh,
        lines.previous_kwh,
        lines.amends_booking_id,
        ids.delivery_id as register_delivery_id,
        lines.ere_per_kwh,
        cast((lines.kwh - lines.previous_kwh) * lines.ere_per_kwh as decimal(38, 12)) as ere_estimate,
        lines.reason
    from lines
    left join ledger.rev_delivery_ids as ids
        on lines.amends_booking_id = ids.booking_id
        and lines.delivered_line_number = ids.line_number
)

select * from final
"""

# The connections of the booking's EANs, with the customer's current data, where the EAN was never sent or
# a field changed since it was last sent (the latest submission that sent it).
_CONNECTION_CHANGED = " or ".join(f"sent.{name} is distinct from current.{name}" for name in CONNECTION_FIELDS)
_CONNECTIONS_SQL = f"""
with eans as (
    select ean, arg_max(partner_id, line_number) as partner_id, arg_max(customer_ref, line_number) as customer_ref
    from registration.rev_booking_drafts
    where booking_id = $booking_id
    group by ean
),

current as (
    select
        eans.partner_id,
        eans.customer_ref,
        eans.ean,
        customers.customer_name as holder_name,
        customers.street,
        customers.house_number,
        customers.postal_code,
        customers.city,
        -- not in our data yet: the grid operator, a business's company name and signatory
        cast(null as varchar) as grid_operator,
        cast(timezone('Europe/Amsterdam', customers.mandate_signed_at) as date) as mandate_issued_on,
        customers.mandate_valid_from,
        customers.mandate_valid_until,
        cast(null as varchar) as company_name,
        customers.kvk_number,
        cast(null as varchar) as signatory_name
    from eans
    left join intermediate.int_customers_latest as customers
        on eans.partner_id = customers.partner_id
        and eans.customer_ref = customers.customer_ref
),

sent as (
    select connections.*
    from ledger.rev_connections as connections
    join ledger.rev_submissions as submissions on connections.booking_id = submissions.booking_id
    qualify row_number() over (partition by connections.ean order by submissions.submission_seq desc) = 1
)

select $booking_id as booking_id, current.*, ids.connection_id as register_connection_id
from current
left join sent on current.ean = sent.ean
left join ledger.rev_connection_ids as ids on current.ean = ids.ean
where sent.ean is null or {_CONNECTION_CHANGED}
"""
