with source as (
    select * from {{ source('landing', 'charge_points') }}
),

renamed as (
    select
        partner_id,
        charge_point_ref,
        customer_ref,
        brand,
        model,
        serial_number,
        meter_serial,
        mid_certificate,
        installed_at as installed_date,
        file_sha256,
        source_file,
        received_at,
        line_number
    from source
)

select * from renamed
