-- One row per energy register reading inside an OCPP message: 1.6 MeterValues and StopTransaction
-- transactionData, 2.0.1 MeterValues and TransactionEvent. Values become Wh, exactly: 1.6 `unit` Wh/kWh,
-- 2.0.1 `unitOfMeasure.unit` and its power-of-ten `multiplier`. Only the whole meter's reading counts
-- (no per-phase values, location Outlet), and only the registers (import; export for V2G).
with messages as (
    select * from {{ ref('int_ocpp_messages_deduplicated') }}
    where action in ('MeterValues', 'StopTransaction', 'TransactionEvent')
),

meter_value_lists as (
    select
        *,
        case when action = 'StopTransaction' then payload -> '$.transactionData'
            else payload -> '$.meterValue' end as meter_value_list,
        case when ocpp_version = '1.6' then payload ->> '$.transactionId'
            else payload ->> '$.transactionInfo.transactionId' end as transaction_ref
    from messages
),

meter_values as (
    select *, unnest(cast(meter_value_list as json[])) as meter_value
    from meter_value_lists
    where json_type(meter_value_list) = 'ARRAY'
),

sampled_values as (
    select *, unnest(cast(meter_value -> '$.sampledValue' as json[])) as sampled_value
    from meter_values
    where json_type(meter_value, '$.sampledValue') = 'ARRAY'
),

typed as (
    select
        partner_id,
        charge_point_ref,
        ocpp_version,
        message_id,
        action,
        transaction_ref,
        payload ->> '$.eventType' as event_type,
        coalesce(try_cast(payload ->> '$.offline' as boolean), false) as is_offline,
        try_cast(meter_value ->> '$.timestamp' as timestamptz) as sampled_at,
        coalesce(sampled_value ->> '$.measurand', 'Energy.Active.Import.Register') as measurand,
        coalesce(sampled_value ->> '$.context', 'Sample.Periodic') as context,
        sampled_value ->> '$.phase' as phase,
        coalesce(sampled_value ->> '$.location', 'Outlet') as location,
        coalesce(sampled_value ->> '$.unit', sampled_value ->> '$.unitOfMeasure.unit', 'Wh') as unit,
        coalesce(try_cast(sampled_value ->> '$.unitOfMeasure.multiplier' as integer), 0) as multiplier,
        -- 1.6 sends the value as a string, 2.0.1 as a number; a 1.6 SignedData value is not a number.
        try_cast(sampled_value ->> '$.value' as decimal(38, 9)) as reading,
        (sampled_value -> '$.signedMeterValue') is not null as is_signed,
        sampled_value ->> '$.signedMeterValue.signedMeterData' as signed_meter_data,
        file_sha256,
        source_file,
        received_at,
        line_number
    from sampled_values
),

final as (
    select
        partner_id,
        charge_point_ref,
        ocpp_version,
        message_id,
        action,
        transaction_ref,
        event_type,
        is_offline,
        sampled_at,
        measurand,
        context,
        -- A reading beyond 10^18 Wh (or a multiplier no DECIMAL holds) is no meter's: unreadable, like a
        -- value that is not a number, rather than an overflow that fails the build.
        try(cast(reading * cast('1e' || (multiplier + case unit when 'kWh' then 3 else 0 end) as decimal(38, 9))
            as decimal(24, 6))) as register_wh,
        is_signed,
        signed_meter_data,
        file_sha256,
        source_file,
        received_at,
        line_number
    from typed
    where measurand in ('Energy.Active.Import.Register', 'Energy.Active.Export.Register')
        and unit in ('Wh', 'kWh')
        and phase is null
        and location = 'Outlet'
        and register_wh is not null
        and sampled_at is not null
)

select * from final
