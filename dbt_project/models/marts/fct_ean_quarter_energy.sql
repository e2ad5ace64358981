-- kWh and estimated ERE per grid connection (EAN) per partner per quarter. Built one quarter partition at
-- a time: the partition's rows are replaced, the other quarters are left alone.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ replace_quarter_partition() }}",
    )
}}

with charge_points as (
    select * from {{ ref('fct_charge_point_quarter_energy') }}
    where quarter_start = cast('{{ var("quarter_start") }}' as date)
),

parameters as (
    select * from {{ ref('ere_parameters') }}
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

final as (
    select
        per_ean.partner_id,
        per_ean.ean,
        per_ean.quarter_start,
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
