-- One row per session (its latest delivered version) with its energy and the connection it belongs to,
-- traceable to the delivered file and line it came from.
with sessions as (
    select * from {{ ref('int_sessions_measured') }}
),

charge_points as (
    select * from {{ ref('int_charge_points_connected') }}
),

final as (
    select
        sessions.partner_id,
        sessions.session_ref,
        sessions.charge_point_ref,
        charge_points.customer_ref,
        charge_points.ean,
        sessions.started_at,
        sessions.ended_at,
        sessions.meter_start_wh,
        sessions.meter_stop_wh,
        sessions.has_registers,
        sessions.delivered_kwh,
        sessions.export_kwh,
        sessions.kwh,
        sessions.source_type,
        sessions.source_record,
        sessions.signature_status,
        sessions.file_sha256,
        sessions.source_file,
        sessions.line_number,
        sessions.received_at
    from sessions
    left join charge_points
        on sessions.partner_id = charge_points.partner_id
        and sessions.charge_point_ref = charge_points.charge_point_ref
)

select * from final
