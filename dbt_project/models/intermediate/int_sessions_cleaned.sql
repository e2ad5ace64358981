-- Every delivered session version with how much of its energy counts and why the rest does not. Amounts
-- are integer micro-kWh so that raw = clean + every adjustment holds exactly:
--   raw_micro_kwh       what the version claims it delivered (registers, else energy_kwh)
--   excluded_micro_kwh  all of raw when a whole-session rule fails (exclusion_reason, first failing rule)
--   overlap_micro_kwh   energy another session on the same charge point already counted
--   export_micro_kwh    V2G export deducted (never more than what is left: no negative energy)
--   clean_micro_kwh     what counts
-- Flags (is_long_session, has_register_reset) keep evidence without changing energy.
{{ config(materialized='table') }}

with versions as (
    select * from {{ ref('int_session_versions') }}
),

connected as (
    select * from {{ ref('int_charge_points_connected') }}
),

charge_points as (
    select * from {{ ref('int_charge_points_latest') }}
),

power_limits as (
    select * from {{ ref('charge_point_power_limits') }}
),

located as (
    select
        versions.*,
        connected.customer_ref,
        connected.ean,
        charge_points.charge_point_ref is not null as is_known_charge_point,
        charge_points.installed_date,
        epoch_us(greatest(versions.ended_at, versions.started_at)) - epoch_us(versions.started_at) as duration_us,
        cast(versions.delivered_kwh * 1000000 as hugeint) as raw_micro_kwh,
        cast(greatest(versions.export_kwh, 0) * 1000000 as hugeint) as claimed_export_micro_kwh,
        coalesce(
            (select max(power_limits.max_power_kw) from power_limits
             where lower(trim(charge_points.brand)) = power_limits.brand
                and regexp_full_match(lower(trim(replace(charge_points.model, '-', ' '))), power_limits.model_pattern)),
            {{ var('default_max_power_kw') }}
        ) as max_power_kw
    from versions
    left join connected
        on versions.partner_id = connected.partner_id
        and versions.charge_point_ref = connected.charge_point_ref
    left join charge_points
        on versions.partner_id = charge_points.partner_id
        and versions.charge_point_ref = charge_points.charge_point_ref
),

classified as (
    select
        *,
        case
            when version_status <> 'latest' then version_status
            when not is_known_charge_point then 'unknown_charge_point'
            when ean is null then 'unknown_ean'
            when signature_status = 'signed_invalid' then 'invalid_signature'
            when started_at > {{ as_of() }} or ended_at > {{ as_of() }} then 'timestamp_in_future'
            when started_at < timezone('Europe/Amsterdam', cast(installed_date as timestamp)) then 'before_installation'
            when has_registers and meter_stop_wh < meter_start_wh then 'register_backwards'
            when raw_micro_kwh < 0 then 'negative_energy'
            when raw_micro_kwh = 0 then 'zero_energy'
            -- kWh / hours > limit, compared without division: kWh x 3.6e9 us/h > limit x margin x us
            when duration_us = 0
                or delivered_kwh * 3600000000 > max_power_kw * (100 + {{ var('power_margin_pct') }}) / 100 * duration_us
                then 'implausible_power'
        end as exclusion_reason
    from located
),

-- Sessions that count, in order on their charge point: what the earlier ones already covered.
counted as (
    select
        *,
        max(ended_at) over earlier as covered_until,
        max(meter_stop_wh) over earlier as covered_register_wh,
        lag(meter_stop_wh) over in_order as previous_stop_wh,
        lag(ended_at) over in_order as previous_ended_at
    from classified
    where exclusion_reason is null
    window
        earlier as (partition by partner_id, charge_point_ref order by started_at, received_at, session_ref
                    rows between unbounded preceding and 1 preceding),
        in_order as (partition by partner_id, charge_point_ref order by started_at, received_at, session_ref)
),

overlapped as (
    select
        partner_id,
        session_ref,
        source_record,
        case
            when covered_until is null or covered_until <= started_at then cast(0 as hugeint)
            -- Registers say exactly which energy the earlier session already counted.
            when has_registers and covered_register_wh is not null
                then cast(least(greatest(covered_register_wh - meter_start_wh, 0), meter_stop_wh - meter_start_wh)
                          as hugeint) * 1000
            -- Without registers: the share of this session's energy in the time already covered.
            else (raw_micro_kwh * (epoch_us(least(ended_at, covered_until)) - epoch_us(started_at)) * 2 + duration_us)
                 // (2 * duration_us)
        end as overlap_micro_kwh,
        -- A register below the previous session's stop, without overlapping it: the meter was reset or replaced.
        coalesce(has_registers and meter_start_wh < previous_stop_wh and started_at >= previous_ended_at, false)
            as has_register_reset,
        previous_stop_wh
    from counted
),

layered as (
    select
        classified.partner_id,
        classified.session_ref,
        classified.charge_point_ref,
        classified.customer_ref,
        classified.ean,
        classified.started_at,
        classified.ended_at,
        classified.duration_us,
        classified.meter_start_wh,
        classified.meter_stop_wh,
        classified.has_registers,
        classified.is_latest,
        classified.version_status,
        classified.exclusion_reason,
        case classified.exclusion_reason
            when 'duplicate_delivery' then 'the same session delivered again; the latest delivery counts'
            when 'superseded_by_correction' then 'a later delivery of this session_ref corrects it'
            when 'unknown_charge_point' then 'charge point ' || classified.charge_point_ref || ' was never delivered'
            when 'unknown_ean' then 'the customer of charge point ' || classified.charge_point_ref || ' (and its EAN) is unknown'
            when 'invalid_signature' then 'signed meter values do not verify'
            when 'timestamp_in_future' then 'ends after ' || cast({{ as_of() }} as varchar) || ' (as of)'
            when 'before_installation' then 'starts before installation on ' || cast(classified.installed_date as varchar)
            when 'register_backwards' then 'meter_stop_wh ' || classified.meter_stop_wh || ' < meter_start_wh ' || classified.meter_start_wh
            when 'negative_energy' then 'energy_kwh is negative'
            when 'zero_energy' then 'no energy delivered'
            when 'implausible_power' then 'average power above ' || classified.max_power_kw || ' kW + '
                || {{ var('power_margin_pct') }} || ' %'
        end as exclusion_detail,
        classified.raw_micro_kwh,
        case when classified.exclusion_reason is null then 0 else classified.raw_micro_kwh end as excluded_micro_kwh,
        coalesce(overlapped.overlap_micro_kwh, 0) as overlap_micro_kwh,
        case
            when classified.exclusion_reason is null
                then least(classified.claimed_export_micro_kwh, classified.raw_micro_kwh - overlapped.overlap_micro_kwh)
            else 0
        end as export_micro_kwh,
        classified.duration_us > {{ var('long_session_days') }} * 86400000000 as is_long_session,
        coalesce(overlapped.has_register_reset, false) as has_register_reset,
        overlapped.previous_stop_wh,
        classified.signature_status,
        classified.source_type,
        classified.source_record,
        classified.file_sha256,
        classified.source_file,
        classified.line_number,
        classified.received_at
    from classified
    left join overlapped
        on classified.partner_id = overlapped.partner_id
        and classified.session_ref = overlapped.session_ref
        and classified.source_record = overlapped.source_record
),

final as (
    select
        *,
        raw_micro_kwh - excluded_micro_kwh - overlap_micro_kwh - export_micro_kwh as clean_micro_kwh
    from layered
)

select * from final
