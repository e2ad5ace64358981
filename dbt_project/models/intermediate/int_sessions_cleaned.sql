-- Every delivered session version with how much of its energy counts and why the rest does not. Amounts
-- are integer micro-kWh so that raw = clean + every adjustment holds exactly:
--   raw_micro_kwh       what the version claims it delivered (registers, else energy_kwh)
--   excluded_micro_kwh  all of raw when a whole-session rule fails (exclusion_reason, first failing rule)
--   overlap_micro_kwh   energy another session on the same charge point already counted
--   export_micro_kwh    V2G export deducted (never more than what is left: no negative energy)
--   clean_micro_kwh     what counts
-- Flags (is_long_session, has_register_reset) keep evidence without changing energy.
-- Incremental by delivery: after a late file, only the charge points it touched are cleaned again
-- (int_session_charge_points_touched), every row of them, since the rules read a charge point's whole
-- history (overlaps, register order) and a session's every version; other rows stay as they are.
-- `joulo run --full-refresh` rebuilds it whole, to the same rows.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_touched_charge_points() }}",
) }}
-- depends_on: {{ ref('int_session_charge_points_touched') }}

{% if is_incremental() -%}
{#- int_sessions_unioned by name, not ref: int_session_versions, its view, is built before this model, and a
    ref would make every unit test of this model give it too. -#}
{%- set unioned = api.Relation.create(database=this.database, schema=this.schema, identifier='int_sessions_unioned') %}
with touched as (
    select * from {{ ref('int_session_charge_points_touched') }}
),

-- Every version of every session that has one on a touched charge point: which version wins needs them all.
touched_sessions as (
    select distinct unioned.partner_id, unioned.session_ref
    from {{ unioned }} as unioned
    semi join touched
        on unioned.partner_id = touched.partner_id
        and unioned.charge_point_ref is not distinct from touched.charge_point_ref
),

-- Materialized: session_versions reads it three times, and finding these rows scans every delivered row.
touched_unioned as materialized (
    select unioned.*
    from {{ unioned }} as unioned
    semi join touched_sessions
        on unioned.partner_id = touched_sessions.partner_id
        and unioned.session_ref = touched_sessions.session_ref
),

versions as (
    select touched_versions.*
    from ({{ session_versions('touched_unioned') }}) as touched_versions
    semi join touched
        on touched_versions.partner_id = touched.partner_id
        and touched_versions.charge_point_ref is not distinct from touched.charge_point_ref
),
{%- else -%}
with versions as (
    select * from {{ ref('int_session_versions') }}
),
{%- endif %}

connected as (
    select * from {{ ref('int_charge_points_connected') }}
),

charge_points as (
    select * from {{ ref('int_charge_points_latest') }}
),

power_limits as (
    select * from {{ ref('charge_point_power_limits') }}
),

-- Each charge point's power limit, and the instant its installation day began (Europe/Amsterdam), worked
-- out once per charge point rather than once per session (a time zone conversion per session is costly).
charge_point_limits as (
    select
        *,
        timezone('Europe/Amsterdam', cast(installed_date as timestamp)) as installed_at
    from ({{ charge_point_limits('charge_points', 'power_limits') }})
),

located as (
    select
        versions.*,
        connected.customer_ref,
        connected.ean,
        charge_point_limits.charge_point_ref is not null as is_known_charge_point,
        charge_point_limits.installed_date,
        charge_point_limits.installed_at,
        epoch_us(greatest(versions.ended_at, versions.started_at)) - epoch_us(versions.started_at) as duration_us,
        coalesce({{ kwh_to_micro('versions.delivered_kwh') }}, 0) as raw_micro_kwh,
        coalesce(charge_point_limits.max_power_kw, {{ var('default_max_power_kw') }}) as max_power_kw
    from versions
    left join connected
        on versions.partner_id = connected.partner_id
        and versions.charge_point_ref = connected.charge_point_ref
    left join charge_point_limits
        on versions.partner_id = charge_point_limits.partner_id
        and versions.charge_point_ref = charge_point_limits.charge_point_ref
),

classified as (
    select
        *,
        case
            -- First, whatever the version: an implausible claim carries no energy (delivered_kwh is null).
            when delivered_kwh is null then 'implausible_energy'
            when version_status <> 'latest' then version_status
            when not is_known_charge_point then 'unknown_charge_point'
            when ean is null then 'unknown_ean'
            when signature_status = 'signed_invalid' then 'invalid_signature'
            when started_at > {{ as_of() }} or ended_at > {{ as_of() }} then 'timestamp_in_future'
            when started_at < installed_at then 'before_installation'
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

-- Sessions that count, in order on their charge point: what the earlier ones already covered. Excluded
-- versions sit in partitions of their own (is_counted) and their results are discarded, so one window
-- pass over every version does it, without filtering and joining back.
-- The window sorts every column it carries, so it carries only what the rules after it need that cannot
-- be had cheaply afterwards: the charge point's customer, EAN, installation date and power limit are
-- looked up again after it (per charge point, a small join), the micro-kWh amounts recomputed from kWh.
counted as (
    select
        partner_id,
        session_ref,
        charge_point_ref,
        started_at,
        ended_at,
        duration_us,
        meter_start_wh,
        meter_stop_wh,
        has_registers,
        delivered_kwh,
        export_kwh,
        is_latest,
        version_status,
        exclusion_reason,
        signature_status,
        source_type,
        source_record,
        file_sha256,
        source_file,
        line_number,
        received_at,
        energy_claim,
        exclusion_reason is null as is_counted,
        max(ended_at) over earlier as covered_until,
        max(meter_stop_wh) over earlier as covered_register_wh,
        lag(meter_stop_wh) over in_order as counted_previous_stop_wh,
        lag(ended_at) over in_order as previous_ended_at
    from classified
    window
        in_order as (partition by partner_id, charge_point_ref, exclusion_reason is null
                     order by started_at, received_at, session_ref),
        earlier as (partition by partner_id, charge_point_ref, exclusion_reason is null
                    order by started_at, received_at, session_ref
                    rows between unbounded preceding and 1 preceding)
),

-- The counted versions with their charge point's customer, EAN, installation date and power limit, and
-- their energy in micro-kWh (see the comment above the window).
counted_on_charge_points as (
    select
        counted.*,
        connected.customer_ref,
        connected.ean,
        charge_point_limits.installed_date,
        coalesce({{ kwh_to_micro('counted.delivered_kwh') }}, 0) as raw_micro_kwh,
        coalesce({{ kwh_to_micro('greatest(counted.export_kwh, 0)') }}, 0) as claimed_export_micro_kwh,
        coalesce(charge_point_limits.max_power_kw, {{ var('default_max_power_kw') }}) as max_power_kw
    from counted
    left join connected
        on counted.partner_id = connected.partner_id
        and counted.charge_point_ref = connected.charge_point_ref
    left join charge_point_limits
        on counted.partner_id = charge_point_limits.partner_id
        and counted.charge_point_ref = charge_point_limits.charge_point_ref
),

overlapped as (
    select
        *,
        case
            when not is_counted or covered_until is null or covered_until <= started_at then cast(0 as hugeint)
            -- Registers say exactly which energy the earlier session already counted.
            when has_registers and covered_register_wh is not null
                then least(greatest(cast(covered_register_wh as hugeint) - meter_start_wh, 0),
                           cast(meter_stop_wh as hugeint) - meter_start_wh) * 1000
            -- Without registers: the share of this session's energy in the time already covered.
            else (raw_micro_kwh * (epoch_us(least(ended_at, covered_until)) - epoch_us(started_at)) * 2 + duration_us)
                 // (2 * duration_us)
        end as overlap_micro_kwh,
        -- A register below the previous session's stop, without overlapping it: the meter was reset or replaced.
        is_counted and coalesce(has_registers and meter_start_wh < counted_previous_stop_wh
                                and started_at >= previous_ended_at, false) as has_register_reset,
        case when is_counted then counted_previous_stop_wh end as previous_stop_wh
    from counted_on_charge_points
),

-- Each version's raw energy split into what is excluded, overlapped and exported, with the detail of its
-- exclusion.
energy_split as (
    select
        overlapped.partner_id,
        overlapped.session_ref,
        overlapped.charge_point_ref,
        overlapped.customer_ref,
        overlapped.ean,
        overlapped.started_at,
        overlapped.ended_at,
        overlapped.duration_us,
        overlapped.meter_start_wh,
        overlapped.meter_stop_wh,
        overlapped.has_registers,
        overlapped.is_latest,
        overlapped.version_status,
        overlapped.exclusion_reason,
        case overlapped.exclusion_reason
            when 'implausible_energy' then overlapped.energy_claim || ': beyond ' || {{ var('max_session_kwh') }}
                || ' kWh, more than any session can deliver; not counted (0 kWh)'
            when 'duplicate_delivery' then 'the same session delivered again; the latest delivery counts'
            when 'superseded_by_correction' then 'a later delivery of this session_ref corrects it'
            when 'unknown_charge_point' then 'charge point ' || overlapped.charge_point_ref || ' was never delivered'
            when 'unknown_ean' then 'the customer of charge point ' || overlapped.charge_point_ref || ' (and its EAN) is unknown'
            when 'invalid_signature' then 'signed meter values do not verify'
            when 'timestamp_in_future' then 'ends after ' || cast({{ as_of() }} as varchar) || ' (as of)'
            when 'before_installation' then 'starts before installation on ' || cast(overlapped.installed_date as varchar)
            when 'register_backwards' then 'meter_stop_wh ' || overlapped.meter_stop_wh || ' < meter_start_wh ' || overlapped.meter_start_wh
            when 'negative_energy' then 'energy_kwh is negative'
            when 'zero_energy' then 'no energy delivered'
            when 'implausible_power' then 'average power above ' || overlapped.max_power_kw || ' kW + '
                || {{ var('power_margin_pct') }} || ' %'
        end as exclusion_detail,
        overlapped.delivered_kwh,
        overlapped.export_kwh,
        overlapped.raw_micro_kwh,
        case when overlapped.exclusion_reason is null then 0 else overlapped.raw_micro_kwh end as excluded_micro_kwh,
        overlapped.overlap_micro_kwh,
        case
            when overlapped.is_counted
                then least(overlapped.claimed_export_micro_kwh, overlapped.raw_micro_kwh - overlapped.overlap_micro_kwh)
            else 0
        end as export_micro_kwh,
        overlapped.duration_us > {{ var('long_session_days') }} * 86400000000 as is_long_session,
        overlapped.has_register_reset,
        overlapped.previous_stop_wh,
        overlapped.signature_status,
        overlapped.source_type,
        overlapped.source_record,
        overlapped.file_sha256,
        overlapped.source_file,
        overlapped.line_number,
        overlapped.received_at
    from overlapped
),

final as (
    select
        *,
        raw_micro_kwh - excluded_micro_kwh - overlap_micro_kwh - export_micro_kwh as clean_micro_kwh
    from energy_split
)

select * from final
