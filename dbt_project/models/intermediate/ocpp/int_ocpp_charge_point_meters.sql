-- What each OCPP charger says of its own meter:
--   1.6:   its latest BootNotification's meterType and meterSerialNumber;
--   2.0.1: the meter serial (`MS`) inside its latest signed meter value (OCMF, as sent or base64), and
--          its latest BootNotification's chargingStation.serialNumber (2.0.1 boots carry no meter serial).
-- Eligibility fills a missing meter serial from it and checks the partner's meter_serial against it.
with boots as (
    select
        partner_id,
        charge_point_ref,
        nullif(trim(payload ->> '$.meterType'), '') as meter_type,
        nullif(trim(payload ->> '$.meterSerialNumber'), '') as meter_serial,
        nullif(trim(coalesce(payload ->> '$.chargePointSerialNumber',
                             payload ->> '$.chargingStation.serialNumber')), '') as charger_serial,
        received_at,
        journal_seq,
        message_id
    from {{ ref('int_ocpp_messages_deduplicated') }}
    where action = 'BootNotification'
),

latest_boots as (
    select *
    from boots
    where meter_serial is not null or meter_type is not null or charger_serial is not null
    qualify row_number() over (
        partition by partner_id, charge_point_ref order by received_at desc, journal_seq desc nulls last, message_id
    ) = 1
),

ocmf as (
    select
        partner_id,
        charge_point_ref,
        sampled_at,
        message_id,
        case when starts_with(signed_meter_data, 'OCMF|') then signed_meter_data
            else try(decode(from_base64(signed_meter_data))) end as ocmf_text
    from {{ ref('int_ocpp_register_samples') }}
    where ocpp_version = '2.0.1' and signed_meter_data is not null
),

ocmf_serials as (
    select
        partner_id,
        charge_point_ref,
        sampled_at,
        message_id,
        nullif(trim(try_cast(split_part(ocmf_text, '|', 2) as json) ->> '$.MS'), '') as meter_serial
    from ocmf
    where starts_with(ocmf_text, 'OCMF|')
),

signed_serials as (
    select partner_id, charge_point_ref, meter_serial
    from ocmf_serials
    where meter_serial is not null
    qualify row_number() over (partition by partner_id, charge_point_ref order by sampled_at desc, message_id) = 1
),

final as (
    select
        coalesce(latest_boots.partner_id, signed_serials.partner_id) as partner_id,
        coalesce(latest_boots.charge_point_ref, signed_serials.charge_point_ref) as charge_point_ref,
        latest_boots.meter_type,
        coalesce(latest_boots.meter_serial, signed_serials.meter_serial) as meter_serial,
        latest_boots.charger_serial
    from latest_boots
    full outer join signed_serials
        on latest_boots.partner_id = signed_serials.partner_id
        and latest_boots.charge_point_ref = signed_serials.charge_point_ref
)

select * from final
