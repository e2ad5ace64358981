-- Every kWh delivered that does not count as clean, per session version and quarter, with its reason:
-- per partner, EAN and quarter, raw delivered kWh = clean kWh + the kWh here, exactly
-- (fct_energy_reconciliation). A whole-session exclusion has a row in every quarter the session touches,
-- also at 0 kWh (a zero-energy session); deductions (overlap, V2G export) only where they take energy;
-- flags (long_session, meter_register_reset) are 0-kWh rows that keep the evidence.
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
    select * from {{ ref('int_session_quarter_pieces') }} as pieces
    {{ touched_only('pieces') if not quarter_pieces_whole() }}
),

adjustments as (
    select
        partner_id, ean, charge_point_ref, session_ref, source_record, quarter_start, split_method,
        excluded_micro_kwh as micro_kwh, exclusion_reason as reason_code, exclusion_detail as detail
    from pieces
    where exclusion_reason is not null

    union all

    select
        partner_id, ean, charge_point_ref, session_ref, source_record, quarter_start, split_method,
        overlap_micro_kwh, 'overlapping_session', 'overlaps an earlier session on the same charge point: counted once'
    from pieces
    where overlap_micro_kwh <> 0

    union all

    select
        partner_id, ean, charge_point_ref, session_ref, source_record, quarter_start, split_method,
        export_micro_kwh, 'v2g_export', 'energy fed back from the car (V2G) is deducted'
    from pieces
    where export_micro_kwh <> 0

    union all

    select
        partner_id, ean, charge_point_ref, session_ref, source_record, quarter_start, split_method,
        0, 'long_session', 'longer than {{ var("long_session_days") }} days: counted, flagged for review'
    from pieces
    where is_long_session and is_latest

    union all

    select
        partner_id, ean, charge_point_ref, session_ref, source_record, quarter_start, split_method,
        0, 'meter_register_reset',
        'meter_start_wh ' || meter_start_wh || ' below the previous session''s meter_stop_wh ' || previous_stop_wh
            || ': meter reset or replaced; counted, flagged for review'
    from pieces
    where has_register_reset
),

final as (
    select
        partner_id,
        ean,
        charge_point_ref,
        session_ref,
        source_record,
        quarter_start,
        {{ micro_to_kwh('micro_kwh') }} as kwh,
        reason_code,
        detail,
        split_method
    from adjustments
)

select * from final
