-- Every delivered version of every session (the history behind fct_charging_sessions): which version won,
-- whether the others were exact duplicates or corrected, and what each version's energy became.
-- A view: a projection of the int_sessions_cleaned table, which a copy would only double on disk.
{{ config(materialized='view') }}
with cleaned as (
    select * from {{ ref('int_sessions_cleaned') }}
),

final as (
    select
        partner_id,
        session_ref,
        source_record,
        version_status,
        is_latest,
        charge_point_ref,
        ean,
        started_at,
        ended_at,
        meter_start_wh,
        meter_stop_wh,
        {{ micro_to_kwh('raw_micro_kwh') }} as raw_kwh,
        {{ micro_to_kwh('clean_micro_kwh') }} as clean_kwh,
        exclusion_reason,
        exclusion_detail,
        is_long_session,
        has_register_reset,
        signature_status,
        source_type,
        file_sha256,
        source_file,
        line_number,
        received_at
    from cleaned
)

select * from final
