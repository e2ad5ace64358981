with source as (
    select * from {{ source('landing', 'sessions') }}
),

renamed as (
    select
        partner_id,
        session_ref,
        charge_point_ref,
        started_at,
        ended_at,
        meter_start_wh,
        meter_stop_wh,
        energy_kwh,
        energy_export_kwh,
        file_sha256,
        source_file,
        received_at,
        line_number
    from source
)

select * from renamed
