-- One row per session (its latest delivered version) with its energy and the connection it belongs to,
-- traceable to the delivered file and line it came from. Read from the cleaned versions, which already
-- carry the winner of each session_ref and its connection: no second pass over every delivered session.
-- A view over that table: a copy would cost a full write of every session and is read about once a run.
{{ config(materialized='view') }}
with sessions as (
    select * from {{ ref('int_sessions_cleaned') }}
    where is_latest
),

final as (
    select
        partner_id,
        session_ref,
        charge_point_ref,
        customer_ref,
        ean,
        started_at,
        ended_at,
        meter_start_wh,
        meter_stop_wh,
        has_registers,
        delivered_kwh,
        export_kwh,
        -- as delivered, by the file contract's rule; the cleaning rules decide how much of it counts
        cast(delivered_kwh - export_kwh as decimal(18, 6)) as kwh,
        source_type,
        source_record,
        signature_status,
        file_sha256,
        source_file,
        line_number,
        received_at
    from sessions
)

select * from final
