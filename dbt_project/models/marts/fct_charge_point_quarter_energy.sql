-- Clean kWh per charge point per quarter: the grain at which eligibility (MID meter, mandate) is decided.
-- Only sessions that pass every cleaning rule count; what does not is in fct_energy_adjustments.
-- Built one quarter partition at a time: the partition's rows are replaced, other quarters left alone.
-- full_refresh=false: it keeps every quarter; --full-refresh rebuilds the models incremental by delivery.
-- Incremental by delivery too: when int_session_quarter_pieces replaced only the touched charge points'
-- pieces, only their rows of the quarter are replaced here.
{{
    config(
        materialized='incremental',
        full_refresh=false,
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ replace_quarter_of_touched_charge_points() }}",
    )
}}
-- depends_on: {{ ref('int_session_charge_points_touched') }}

with pieces as (
    select * from {{ ref('int_session_quarter_energy') }} as pieces
    {{ touched_only('pieces') if not quarter_pieces_whole() }}
    where ean is not null
),

final as (
    select
        partner_id,
        charge_point_ref,
        customer_ref,
        ean,
        quarter_start,
        cast(sum(kwh) as decimal(18, 6)) as kwh,
        count(*) as session_count
    from pieces
    group by partner_id, charge_point_ref, customer_ref, ean, quarter_start
)

select * from final
