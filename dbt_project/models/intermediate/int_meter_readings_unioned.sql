-- Cumulative import register readings of the chargers' integrated meters, from every kind of source
-- (meter_readings files; clock-aligned OCPP readings join here), one row per delivered reading.
with file_readings as (
    select
        partner_id,
        charge_point_ref,
        read_at,
        register_wh,
        'file' as source_type,
        source_file || ':' || line_number as source_record
    from {{ ref('stg_landing__meter_readings') }}
),

ocpp_readings as (
    select
        partner_id,
        charge_point_ref,
        read_at,
        register_wh,
        'ocpp' as source_type,
        message_id as source_record
    from {{ ref('int_ocpp_meter_readings') }}
),

final as (
    select * from file_readings
    union all
    select * from ocpp_readings
)

select * from final
