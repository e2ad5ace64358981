with source as (
    select * from {{ source('ocpi', 'cdrs') }}
),

renamed as (
    select
        partner_id,
        cdr_id,
        country_code,
        party_id,
        session_id,
        location_id,
        evse_uid as charge_point_ref,
        evse_id,
        meter_id,
        start_date_time as started_at,
        end_date_time as ended_at,
        total_energy_kwh,
        energy_export_kwh,
        is_credit,
        credit_reference_id,
        home_charging_compensation as is_home_charging_compensation,
        last_updated as last_updated_at,
        signed_encoding_method,
        signature_check,
        signed_energy_kwh,
        signature_reason,
        file_sha256,
        source_file,
        received_at,
        line_number
    from source
)

select * from renamed
