-- kWh and estimated ERE per grid connection (EAN) per partner per quarter: all clean kWh, and the part
-- booking may use (eligible charge points inside their delivery period, the quarter clipped to the
-- mandate's validity and revocation) with its ERE. The booking engine, the API and the reports read the
-- eligible columns here; tools outside the project read the first columns, which keep their names.
-- Built one quarter partition at a time: the partition's rows are replaced, the other quarters are left alone.
-- full_refresh=false: it keeps every quarter; --full-refresh rebuilds the models incremental by delivery.
{{
    config(
        materialized='incremental',
        full_refresh=false,
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ replace_quarter_partition() }}",
    )
}}

with charge_points as (
    select * from {{ ref('fct_charge_point_quarter_energy') }}
    where quarter_start = cast('{{ quarter_start() }}' as date)
),

eligible as (
    select * from {{ ref('fct_charge_point_eligibility') }}
    where quarter_start = cast('{{ quarter_start() }}' as date)
        and is_eligible
        and eligible_kwh > 0
),

factors as (
    select * from {{ ref('dim_ere_factors') }}
),

per_ean as (
    select
        partner_id,
        ean,
        quarter_start,
        cast(sum(kwh) as decimal(18, 6)) as kwh,
        cast(sum(session_count) as bigint) as session_count,
        count(*) as charge_point_count
    from charge_points
    group by partner_id, ean, quarter_start
),

-- grouped by customer too: one mandate holds an EAN in a year (int_ean_year_claims), and should two
-- customers' eligible kWh ever share one, the unique test on partner, EAN and quarter fails the build
eligible_per_ean as (
    select
        partner_id,
        ean,
        customer_ref,
        quarter_start,
        min(delivery_period_start) as delivery_period_start,
        max(delivery_period_end) as delivery_period_end,
        cast(sum(eligible_kwh) as decimal(18, 6)) as eligible_kwh,
        cast(sum(eligible_session_count) as bigint) as eligible_session_count,
        count(*) as eligible_charge_point_count
    from eligible
    group by partner_id, ean, customer_ref, quarter_start
),

-- a full join: eligible kWh are a part of the clean kWh, but should an EAN ever have the one without the
-- other, its eligible kWh still reach booking
joined as (
    select
        coalesce(per_ean.partner_id, eligible_per_ean.partner_id) as partner_id,
        coalesce(per_ean.ean, eligible_per_ean.ean) as ean,
        coalesce(per_ean.quarter_start, eligible_per_ean.quarter_start) as quarter_start,
        coalesce(per_ean.kwh, 0) as kwh,
        coalesce(per_ean.session_count, 0) as session_count,
        coalesce(per_ean.charge_point_count, 0) as charge_point_count,
        eligible_per_ean.customer_ref as eligible_customer_ref,
        eligible_per_ean.delivery_period_start,
        eligible_per_ean.delivery_period_end,
        coalesce(eligible_per_ean.eligible_kwh, 0) as eligible_kwh,
        coalesce(eligible_per_ean.eligible_session_count, 0) as eligible_session_count,
        coalesce(eligible_per_ean.eligible_charge_point_count, 0) as eligible_charge_point_count
    from per_ean
    full outer join eligible_per_ean
        on per_ean.partner_id = eligible_per_ean.partner_id
        and per_ean.ean = eligible_per_ean.ean
        and per_ean.quarter_start = eligible_per_ean.quarter_start
),

final as (
    select
        joined.partner_id,
        joined.ean,
        joined.quarter_start,
        cast(year(joined.quarter_start) as integer) as delivery_year,
        joined.kwh,
        joined.session_count,
        joined.charge_point_count,
        factors.ere_per_kwh,
        cast(joined.kwh * factors.ere_per_kwh as decimal(38, 12)) as ere_estimate,
        joined.eligible_customer_ref,
        joined.delivery_period_start,
        joined.delivery_period_end,
        joined.eligible_kwh,
        joined.eligible_session_count,
        joined.eligible_charge_point_count,
        cast(joined.eligible_kwh * factors.ere_per_kwh as decimal(38, 12)) as eligible_ere_estimate
    from joined
    left join factors
        on year(joined.quarter_start) = factors.delivery_year
)

select * from final
