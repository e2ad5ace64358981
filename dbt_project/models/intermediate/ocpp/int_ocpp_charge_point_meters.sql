-- What each OCPP charger says of its own meter, from its latest BootNotification that says anything:
--   1.6:   meterType and meterSerialNumber;
--   2.0.1: the charging station's serialNumber (its model and vendor; 2.0.1 has no meter serial there).
-- Eligibility fills a missing meter serial from it and checks the partner's meter_serial against it.
with boots as (
    select
        partner_id,
        charge_point_ref,
        ocpp_version,
        nullif(trim(payload ->> '$.meterType'), '') as meter_type,
        nullif(trim(payload ->> '$.meterSerialNumber'), '') as meter_serial,
        nullif(trim(coalesce(payload ->> '$.chargePointSerialNumber',
                             payload ->> '$.chargingStation.serialNumber')), '') as charger_serial,
        message_id,
        received_at,
        journal_seq
    from {{ ref('int_ocpp_messages_deduplicated') }}
    where action = 'BootNotification'
),

final as (
    select *
    from boots
    where meter_serial is not null or meter_type is not null or charger_serial is not null
    qualify row_number() over (
        partition by partner_id, charge_point_ref order by received_at desc, journal_seq desc nulls last, message_id
    ) = 1
)

select * from final
