"""The warehouse queries behind the API's status snapshot, set-based: DuckDB builds each customer's and
each quarter's JSON document. Decimals leave as strings, so no kWh or ERE ever passes through a float."""

# Per customer of the latest quarter the pipeline built (up to today): eligibility with every reason,
# kWh and ERE of that quarter's year, the mandate's dates, and the file the customer's row came from
# (the API compares it with what it accepted since, to say "received" until a run has seen the change).
CUSTOMER_DOCUMENTS = """
with latest as (
    select max(quarter_start) as quarter_start
    from marts.fct_charge_point_eligibility
    where quarter_start <= $today
),

charge_points as (
    select eligibility.*
    from marts.fct_charge_point_eligibility as eligibility
    inner join latest on eligibility.quarter_start = latest.quarter_start
    where eligibility.customer_ref is not null
),

customers as (
    select customers.*, latest.quarter_start
    from intermediate.int_customers_latest as customers
    cross join latest
    where latest.quarter_start is not null
),

catalogue as (
    select reason, rule, action from reference.eligibility_reasons
    union all
    select 'no_charge_point', 'no charge point of this customer was delivered',
        'deliver the customer''s charge point (charge_points file or the API)'
),

customer_charge_points as (
    select
        customers.partner_id,
        customers.customer_ref,
        bool_or(charge_points.is_eligible) as any_eligible,
        count(charge_points.charge_point_ref) as charge_point_count,
        bool_and(charge_points.eligibility_status = 'action_needed') as all_fixable,
        list({'charge_point_ref': charge_points.charge_point_ref, 'status': charge_points.eligibility_status,
              'reasons': coalesce(string_split(charge_points.reasons, ';'), [])}
             order by charge_points.charge_point_ref) filter (where charge_points.charge_point_ref is not null)
            as charge_point_list,
        list(distinct reason_code) filter (where reason_code is not null) as reason_codes
    from customers
    left join (
        select *, unnest(coalesce(string_split(reasons, ';'), [null])) as reason_code from charge_points
    ) as charge_points
        on customers.partner_id = charge_points.partner_id
        and customers.customer_ref = charge_points.customer_ref
    group by customers.partner_id, customers.customer_ref
),

verdicts as (
    select
        partner_id,
        customer_ref,
        coalesce(charge_point_list, []) as charge_point_list,
        case
            when any_eligible then 'eligible'
            when charge_point_count > 0 and all_fixable then 'action_needed'
            else 'not_eligible'
        end as status,
        case
            when any_eligible then []
            when charge_point_count = 0 then ['no_charge_point']
            else list_sort(reason_codes)
        end as reason_codes
    from customer_charge_points
),

explained as (
    select
        verdicts.partner_id,
        verdicts.customer_ref,
        list({'code': catalogue.reason, 'rule': catalogue.rule, 'action': catalogue.action}
             order by catalogue.reason) filter (where catalogue.reason is not null) as reasons
    from verdicts
    left join catalogue on list_contains(verdicts.reason_codes, catalogue.reason)
    group by verdicts.partner_id, verdicts.customer_ref
),

year_energy as (
    select partner_id, customer_ref, sum(kwh) as kwh
    from marts.fct_charge_point_quarter_energy
    where year(quarter_start) = (select year(quarter_start) from latest)
        and quarter_start <= (select quarter_start from latest)
    group by partner_id, customer_ref
),

year_eligible as (
    select partner_id, customer_ref, sum(eligible_kwh) as eligible_kwh
    from marts.fct_charge_point_eligibility
    where year(quarter_start) = (select year(quarter_start) from latest)
        and quarter_start <= (select quarter_start from latest)
    group by partner_id, customer_ref
),

year_ere as (
    select partner_id, customer_ref, sum(ere_estimate) as ere_estimate
    from marts.fct_eligible_ean_quarter_energy
    where year(quarter_start) = (select year(quarter_start) from latest)
        and quarter_start <= (select quarter_start from latest)
    group by partner_id, customer_ref
),

final as (
    select
        customers.partner_id,
        customers.customer_ref,
        customers.source_file,
        {
            'customer_ref': customers.customer_ref,
            'as_of': $as_of,
            'mandate': {
                'signed_at': strftime(timezone('UTC', customers.mandate_signed_at), '%Y-%m-%dT%H:%M:%S.%fZ'),
                'valid_from': customers.mandate_valid_from,
                'valid_until': customers.mandate_valid_until,
                'revoked_at': strftime(timezone('UTC', customers.revoked_at), '%Y-%m-%dT%H:%M:%S.%fZ')
            },
            'charge_point_refs': list_transform(verdicts.charge_point_list, lambda cp: cp.charge_point_ref),
            'eligibility': {
                'status': verdicts.status,
                'quarter': year(customers.quarter_start) || '-Q' || quarter(customers.quarter_start),
                'reasons': coalesce(explained.reasons, []),
                'charge_points': verdicts.charge_point_list
            },
            'year_to_date': {
                'year': year(customers.quarter_start),
                'kwh': cast(coalesce(year_energy.kwh, 0) as varchar),
                'eligible_kwh': cast(coalesce(year_eligible.eligible_kwh, 0) as varchar),
                'ere_estimate': cast(coalesce(year_ere.ere_estimate, 0) as varchar)
            }
        } as document
    from customers
    inner join verdicts using (partner_id, customer_ref)
    inner join explained using (partner_id, customer_ref)
    left join year_energy using (partner_id, customer_ref)
    left join year_eligible using (partner_id, customer_ref)
    left join year_ere using (partner_id, customer_ref)
)

select partner_id, customer_ref, source_file, to_json(document) as document
from final
order by partner_id, customer_ref
"""

# Per partner and built quarter: charge points per status and reason, kWh, eligible kWh and ERE.
QUARTER_DOCUMENTS = """
with charge_points as (
    select * from marts.fct_charge_point_eligibility where quarter_start <= $today
),

by_status as (
    select partner_id, quarter_start, map_from_entries(list({'key': eligibility_status, 'value': n})) as statuses
    from (
        select partner_id, quarter_start, eligibility_status, count(*) as n
        from charge_points
        group by all
    )
    group by all
),

by_reason as (
    select partner_id, quarter_start, map_from_entries(list({'key': reason, 'value': n} order by reason)) as reasons
    from (
        select partner_id, quarter_start, reason, count(*) as n
        from (
            select partner_id, quarter_start, unnest(string_split(reasons, ';')) as reason
            from charge_points
            where reasons is not null
        )
        group by all
    )
    group by all
),

totals as (
    select
        partner_id,
        quarter_start,
        count(distinct customer_ref) as customers,
        sum(kwh) as kwh,
        sum(eligible_kwh) as eligible_kwh
    from charge_points
    group by all
),

ere as (
    select partner_id, quarter_start, count(distinct ean) as eligible_eans, sum(ere_estimate) as ere_estimate
    from marts.fct_eligible_ean_quarter_energy
    group by all
)

select
    totals.partner_id,
    totals.quarter_start,
    to_json({
        'quarter': year(totals.quarter_start) || '-Q' || quarter(totals.quarter_start),
        'as_of': $as_of,
        'customers': totals.customers,
        'charge_points': coalesce(by_status.statuses, map()),
        'reasons': coalesce(by_reason.reasons, map()),
        'eligible_eans': coalesce(ere.eligible_eans, 0),
        'kwh': cast(totals.kwh as varchar),
        'eligible_kwh': cast(totals.eligible_kwh as varchar),
        'ere_estimate': cast(coalesce(ere.ere_estimate, 0) as varchar)
    }) as document
from totals
left join by_status using (partner_id, quarter_start)
left join by_reason using (partner_id, quarter_start)
left join ere using (partner_id, quarter_start)
order by totals.partner_id, totals.quarter_start
"""

# Per partner and booking quarter: what is booked (submitted or still a draft) in the REV ledger.
BOOKINGS = """
select
    partner_id,
    booking_quarter_start as quarter_start,
    case when bool_and(status = 'submitted') then 'submitted' else 'draft' end as status,
    list(distinct booking_id order by booking_id) as booking_ids,
    count(distinct ean) as eans,
    cast(sum(kwh) as varchar) as kwh,
    cast(sum(units) as varchar) as units
from ledger.booked_units
group by all
order by all
"""

# Per partner and submitted booking: the partner's part of it (booking.submitted events).
SUBMITTED_BOOKINGS = """
select
    units.partner_id,
    submissions.booking_id,
    submissions.booking_kind,
    submissions.delivery_year,
    submissions.submitted_at,
    count(distinct units.ean) as eans,
    cast(sum(units.kwh) as varchar) as kwh,
    cast(sum(units.units) as varchar) as units
from ledger.rev_submissions as submissions
inner join ledger.booked_units as units
    on submissions.booking_id = units.booking_id
    and units.status = 'submitted'
group by all
order by all
"""

# Per approved payout batch: its totals (payout.approved and payout.sent events, quarter summaries).
PAYOUT_BATCHES = """
select
    batches.partner_id,
    batches.batch_id,
    batches.quarter_start,
    batches.approved_at,
    batches.payment_date,
    count(*) filter (where lines.paid_cents > 0) as customers_paid,
    coalesce(sum(lines.paid_cents), 0) as paid_cents,
    coalesce(sum(lines.carried_out_cents), 0) as carried_over_cents
from ledger.payout_batches as batches
left join ledger.payout_lines as lines using (batch_id)
group by all
order by all
"""

# Per customer, the latest approved payout line.
LAST_PAYOUTS = """
select
    lines.partner_id,
    lines.customer_ref,
    lines.quarter_start,
    lines.paid_cents,
    lines.status,
    lines.reason,
    batches.payment_date
from ledger.payout_lines as lines
inner join ledger.payout_batches as batches using (batch_id)
qualify row_number() over (partition by lines.partner_id, lines.customer_ref order by lines.quarter_start desc) = 1
"""
