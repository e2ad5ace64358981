-- One row per customer and built quarter: the customer's status, every failing reason of their charge
-- points, kWh, eligible kWh and ERE estimate of the quarter and of its year up to it. The one definition of
-- a customer's status, which the partner API, the reports and the statements read:
--   eligible       at least one of their charge points may be booked;
--   action_needed  none may, but at least one would after an action (its every reason can be fixed);
--   not_eligible   else, and so a customer without a charge point (reason no_charge_point).
-- A view: customers are the latest delivered (int_customers_latest) against each quarter's eligibility, as
-- every reader saw them before; nothing is stored twice.
{{ config(materialized='view') }}

with customers as (
    select partner_id, customer_ref from {{ ref('int_customers_latest') }}
),

charge_points as (
    select * from {{ ref('fct_charge_point_eligibility') }}
    where customer_ref is not null
),

quarters as (
    select distinct quarter_start from {{ ref('fct_charge_point_eligibility') }}
),

per_customer as (
    select
        partner_id,
        customer_ref,
        quarter_start,
        count(*) as charge_point_count,
        count(*) filter (where is_eligible) as eligible_charge_point_count,
        bool_or(eligibility_status = 'action_needed') as has_fixable_charge_point,
        -- every failing reason of any charge point, once, in code order
        nullif(array_to_string(
            list_sort(list_distinct(flatten(list(coalesce(string_split(reasons, ';'), []))))), ';'), '')
            as reasons
    from charge_points
    group by partner_id, customer_ref, quarter_start
),

energy as (
    select partner_id, customer_ref, quarter_start, sum(kwh) as kwh, sum(session_count) as session_count
    from {{ ref('fct_charge_point_quarter_energy') }}
    group by partner_id, customer_ref, quarter_start
),

eligible_energy as (
    select
        partner_id,
        eligible_customer_ref as customer_ref,
        quarter_start,
        sum(eligible_kwh) as eligible_kwh,
        sum(eligible_ere_estimate) as ere_estimate
    from {{ ref('fct_ean_quarter_energy') }}
    where eligible_kwh > 0
    group by partner_id, eligible_customer_ref, quarter_start
),

per_quarter as (
    select
        customers.partner_id,
        customers.customer_ref,
        quarters.quarter_start,
        cast(year(quarters.quarter_start) as integer) as delivery_year,
        case
            when per_customer.eligible_charge_point_count > 0 then 'eligible'
            when per_customer.has_fixable_charge_point then 'action_needed'
            else 'not_eligible'
        end as status,
        case when per_customer.customer_ref is null then 'no_charge_point' else per_customer.reasons end
            as reasons,
        coalesce(per_customer.charge_point_count, 0) as charge_point_count,
        coalesce(per_customer.eligible_charge_point_count, 0) as eligible_charge_point_count,
        cast(coalesce(energy.kwh, 0) as decimal(18, 6)) as kwh,
        cast(coalesce(energy.session_count, 0) as bigint) as session_count,
        cast(coalesce(eligible_energy.eligible_kwh, 0) as decimal(18, 6)) as eligible_kwh,
        cast(coalesce(eligible_energy.ere_estimate, 0) as decimal(38, 12)) as ere_estimate
    from customers
    cross join quarters
    left join per_customer
        on customers.partner_id = per_customer.partner_id
        and customers.customer_ref = per_customer.customer_ref
        and quarters.quarter_start = per_customer.quarter_start
    left join energy
        on customers.partner_id = energy.partner_id
        and customers.customer_ref = energy.customer_ref
        and quarters.quarter_start = energy.quarter_start
    left join eligible_energy
        on customers.partner_id = eligible_energy.partner_id
        and customers.customer_ref = eligible_energy.customer_ref
        and quarters.quarter_start = eligible_energy.quarter_start
),

final as (
    select
        *,
        cast(sum(kwh) over year_so_far as decimal(18, 6)) as year_to_date_kwh,
        cast(sum(eligible_kwh) over year_so_far as decimal(18, 6)) as year_to_date_eligible_kwh,
        cast(sum(ere_estimate) over year_so_far as decimal(38, 12)) as year_to_date_ere_estimate
    from per_quarter
    window year_so_far as (
        partition by partner_id, customer_ref, delivery_year
        order by quarter_start
        rows between unbounded preceding and current row
    )
)

select * from final
