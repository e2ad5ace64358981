-- The clean energy of each session that counts, inside the quarter being built: one row per session and
-- quarter, kwh its piece of the quarter. The split at the quarter's edges and every kWh that does not
-- count are in int_session_quarter_pieces.
-- Ephemeral: it only means something inside the quarter partition's run.
{{ config(materialized='ephemeral') }}

with pieces as (
    select * from {{ ref('int_session_quarter_pieces') }}
    where is_latest
        and exclusion_reason is null
        and clean_micro_kwh <> 0
),

final as (
    select
        partner_id,
        session_ref,
        charge_point_ref,
        customer_ref,
        ean,
        started_at,
        quarter_start,
        {{ micro_to_kwh('session_clean_micro_kwh') }} as session_kwh,
        {{ micro_to_kwh('clean_micro_kwh') }} as kwh,
        split_method
    from pieces
)

select * from final
