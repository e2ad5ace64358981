-- Raw delivered, clean and adjusted kWh per partner, EAN and quarter (EAN null: sessions whose charge point
-- or customer is unknown). Raw is every delivered session version's energy as claimed; the singular test
-- assert_raw_kwh_is_clean_plus_adjusted and the Dagster check energy_reconciles hold the marts to it.
-- Built one quarter partition at a time: the partition's rows are replaced, other quarters left alone.
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

with pieces as (
    select * from {{ ref('int_session_quarter_pieces') }}
),

final as (
    select
        partner_id,
        ean,
        quarter_start,
        {{ micro_to_kwh('sum(raw_micro_kwh)') }} as raw_kwh,
        {{ micro_to_kwh('sum(clean_micro_kwh)') }} as clean_kwh,
        {{ micro_to_kwh('sum(raw_micro_kwh - clean_micro_kwh)') }} as adjusted_kwh,
        count(*) as session_versions
    from pieces
    group by partner_id, ean, quarter_start
)

select * from final
