-- What booking may use: per partner, EAN and quarter, only the kWh of eligible charge points inside the
-- delivery period (the quarter clipped to the mandate's validity and revocation), with estimated ERE.
-- Built one quarter partition at a time: the partition's rows are replaced, other quarters left alone.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ replace_quarter_partition() }}",
    )
}}

with eligible as (
    select * from {{ ref('fct_charge_point_eligibility') }}
    where quarter_start = cast('{{ var("quarter_start") }}' as date)
        and is_eligible
        and eligible_kwh > 0
),

parameters as (
    select * from {{ ref('ere_parameters') }}
),

per_ean as (
    select
        partner_id,
        ean,
        customer_ref,
        quarter_start,
        min(delivery_period_start) as delivery_period_start,
        max(delivery_period_end) as delivery_period_end,
        cast(sum(eligible_kwh) as decimal(18, 6)) as kwh,
        cast(sum(eligible_session_count) as bigint) as session_count,
        count(*) as charge_point_count
    from eligible
    group by partner_id, ean, customer_ref, quarter_start
),

final as (
    select
        per_ean.partner_id,
        per_ean.ean,
        per_ean.customer_ref,
        per_ean.quarter_start,
        per_ean.delivery_period_start,
        per_ean.delivery_period_end,
        cast(year(per_ean.quarter_start) as integer) as delivery_year,
        per_ean.kwh,
        per_ean.session_count,
        per_ean.charge_point_count,
        {{ ere_per_kwh('parameters.renewable_share', 'parameters.reference_g_co2_per_mj') }} as ere_per_kwh,
        cast(per_ean.kwh * {{ ere_per_kwh('parameters.renewable_share', 'parameters.reference_g_co2_per_mj') }}
            as decimal(38, 12)) as ere_estimate
    from per_ean
    left join parameters
        on year(per_ean.quarter_start) = parameters.year
)

select * from final
