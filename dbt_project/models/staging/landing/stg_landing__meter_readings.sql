with source as (
    select * from {{ source('landing', 'meter_readings') }}
),

renamed as (
    select
        partner_id,
        charge_point_ref,
        read_at,
        register_wh,
        file_sha256,
        source_file,
        received_at,
        line_number
    from source
)

select * from renamed
