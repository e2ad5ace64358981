-- Every delivered version of every session, from every kind of source, in one shape. Each source's
-- staging model maps its protocol onto these columns; the rules downstream do not know protocols.
with file_sessions as (
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
        'file' as source_type,
        source_file || ':' || line_number as source_record,
        -- signed_verified | signed_invalid | unsigned: whether signed meter values (OCMF) back the energy
        'unsigned' as signature_status,
        file_sha256,
        source_file,
        received_at,
        line_number
    from {{ ref('stg_landing__sessions') }}
),

-- OCPI: one row per CDR that stands (latest version, credits applied); the CDR id is the session.
ocpi_sessions as (
    select
        partner_id,
        cdr_id as session_ref,
        charge_point_ref,
        started_at,
        ended_at,
        cast(null as bigint) as meter_start_wh,
        cast(null as bigint) as meter_stop_wh,
        total_energy_kwh as energy_kwh,
        energy_export_kwh,
        'ocpi' as source_type,
        cdr_id as source_record,
        signature_status,
        file_sha256,
        source_file,
        received_at,
        line_number
    from {{ ref('int_ocpi_cdrs_settled') }}
),

-- OCPP: one row per finished transaction; the message that ended it is the record.
ocpp_sessions as (
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
        'ocpp' as source_type,
        message_id as source_record,
        -- signedMeterValue is kept in the journal but not verified yet: it does not back the energy.
        'unsigned' as signature_status,
        file_sha256,
        source_file,
        received_at,
        line_number
    from {{ ref('int_ocpp_sessions') }}
),

final as (
    select * from file_sessions
    union all
    select * from ocpp_sessions
    union all
    select * from ocpi_sessions
)

select * from final
