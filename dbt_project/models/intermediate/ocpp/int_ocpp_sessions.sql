-- One row per finished OCPP transaction, with the import registers at its start and end. Timestamps are
-- the charger's own (an offline-queued message counts when it happened, not when it reached us); the
-- session is traceable to the message that ended it.
--   1.6:   StartTransaction.meterStart .. StopTransaction.meterStop (integer Wh), joined on the transactionId
--          the gateway (or, for an imported log, the CPMS) assigned.
--   2.0.1: TransactionEvent Started .. Ended; registers from the earliest and latest import reading of the
--          transaction (Transaction.Begin / .End when the charger sends them).
-- V2G export is the rise of the export register over the transaction. Registers are wide enough for any
-- BIGINT meterStart/meterStop; an absurd jump saturates the kWh (see wh_to_kwh_saturated) and is excluded in
-- int_sessions_cleaned.
with messages as (
    select * from {{ ref('int_ocpp_messages_deduplicated') }}
),

samples as (
    select * from {{ ref('int_ocpp_register_samples') }}
),

starts_16 as (
    select
        partner_id,
        charge_point_ref,
        cast(assigned_transaction_id as varchar) as transaction_ref,
        try_cast(payload ->> '$.timestamp' as timestamptz) as started_at,
        cast(try_cast(payload ->> '$.meterStart' as bigint) as decimal(38, 6)) as start_register_wh
    from messages
    where ocpp_version = '1.6' and action = 'StartTransaction' and assigned_transaction_id is not null
),

stops_16 as (
    select
        partner_id,
        charge_point_ref,
        payload ->> '$.transactionId' as transaction_ref,
        try_cast(payload ->> '$.timestamp' as timestamptz) as ended_at,
        cast(try_cast(payload ->> '$.meterStop' as bigint) as decimal(38, 6)) as stop_register_wh,
        message_id,
        file_sha256,
        source_file,
        received_at,
        line_number
    from messages
    where ocpp_version = '1.6' and action = 'StopTransaction'
),

sessions_16 as (
    select
        stops_16.partner_id,
        stops_16.charge_point_ref,
        stops_16.transaction_ref,
        '1.6' as ocpp_version,
        starts_16.started_at,
        stops_16.ended_at,
        starts_16.start_register_wh,
        stops_16.stop_register_wh,
        stops_16.message_id,
        stops_16.file_sha256,
        stops_16.source_file,
        stops_16.received_at,
        stops_16.line_number
    from stops_16
    inner join starts_16
        on stops_16.partner_id = starts_16.partner_id
        and stops_16.charge_point_ref = starts_16.charge_point_ref
        and stops_16.transaction_ref = starts_16.transaction_ref
),

events_201 as (
    select
        *,
        payload ->> '$.transactionInfo.transactionId' as transaction_ref,
        payload ->> '$.eventType' as event_type,
        try_cast(payload ->> '$.timestamp' as timestamptz) as event_at
    from messages
    where ocpp_version = '2.0.1' and action = 'TransactionEvent'
),

ended_201 as (
    select *
    from events_201
    where event_type = 'Ended'
    qualify row_number() over (
        partition by partner_id, charge_point_ref, transaction_ref order by event_at, received_at) = 1
),

started_201 as (
    select
        partner_id,
        charge_point_ref,
        transaction_ref,
        coalesce(min(event_at) filter (where event_type = 'Started'), min(event_at)) as started_at
    from events_201
    group by all
),

import_registers_201 as (
    select
        partner_id,
        charge_point_ref,
        transaction_ref,
        arg_min(register_wh, sampled_at) as start_register_wh,
        arg_max(register_wh, sampled_at) as stop_register_wh
    from samples
    where ocpp_version = '2.0.1' and action = 'TransactionEvent'
        and measurand = 'Energy.Active.Import.Register'
    group by all
),

sessions_201 as (
    select
        ended_201.partner_id,
        ended_201.charge_point_ref,
        ended_201.transaction_ref,
        '2.0.1' as ocpp_version,
        started_201.started_at,
        ended_201.event_at as ended_at,
        import_registers_201.start_register_wh,
        import_registers_201.stop_register_wh,
        ended_201.message_id,
        ended_201.file_sha256,
        ended_201.source_file,
        ended_201.received_at,
        ended_201.line_number
    from ended_201
    inner join started_201 using (partner_id, charge_point_ref, transaction_ref)
    inner join import_registers_201 using (partner_id, charge_point_ref, transaction_ref)
),

export_registers as (
    select
        partner_id,
        charge_point_ref,
        transaction_ref,
        arg_max(register_wh, sampled_at) - arg_min(register_wh, sampled_at) as export_wh
    from samples
    where measurand = 'Energy.Active.Export.Register' and transaction_ref is not null
    group by all
),

signed as (
    select partner_id, charge_point_ref, transaction_ref, bool_or(is_signed) as has_signed_meter_values
    from samples
    where transaction_ref is not null
    group by all
),

sessions as (
    select * from sessions_16
    union all
    select * from sessions_201
),

final as (
    select
        sessions.partner_id,
        'ocpp:' || sessions.charge_point_ref || ':' || sessions.transaction_ref as session_ref,
        sessions.charge_point_ref,
        sessions.transaction_ref,
        sessions.ocpp_version,
        sessions.started_at,
        sessions.ended_at,
        sessions.start_register_wh,
        sessions.stop_register_wh,
        -- The file contract's registers are whole Wh; a fractional register (kWh with decimals, a negative
        -- multiplier) still gives the exact energy through energy_kwh.
        case when sessions.start_register_wh = floor(sessions.start_register_wh)
                and sessions.stop_register_wh = floor(sessions.stop_register_wh)
            then cast(sessions.start_register_wh as bigint) end as meter_start_wh,
        case when sessions.start_register_wh = floor(sessions.start_register_wh)
                and sessions.stop_register_wh = floor(sessions.stop_register_wh)
            then cast(sessions.stop_register_wh as bigint) end as meter_stop_wh,
        {{ wh_to_kwh_saturated('sessions.stop_register_wh - sessions.start_register_wh') }} as energy_kwh,
        {{ wh_to_kwh_saturated('export_registers.export_wh') }} as energy_export_kwh,
        coalesce(signed.has_signed_meter_values, false) as has_signed_meter_values,
        sessions.message_id,
        sessions.file_sha256,
        sessions.source_file,
        sessions.received_at,
        sessions.line_number
    from sessions
    left join export_registers using (partner_id, charge_point_ref, transaction_ref)
    left join signed using (partner_id, charge_point_ref, transaction_ref)
    where sessions.start_register_wh is not null and sessions.stop_register_wh is not null
)

select * from final
