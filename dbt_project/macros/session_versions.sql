{#-
  The body of int_session_versions over any set of delivered session rows in the shape of
  int_sessions_unioned (a relation or a CTE's name): the whole of them in a full build, only the sessions
  of the charge points a late delivery touched in an incremental one (int_sessions_cleaned). A session's
  versions must all be in the set: the order of its deliveries decides which one wins.
  The rows are read three times and not materialized: DuckDB would otherwise copy every delivered row whole
  first (in a full build, all of them), which costs more than reading them three times (README Performance).
  A caller whose rows are costly to find materializes them itself (int_sessions_cleaned's touched_unioned).
-#}
{% macro session_versions(unioned_rows) -%}
with unioned as not materialized (
    select * from {{ unioned_rows }}
),

redelivered as (
    select partner_id, session_ref
    from unioned
    group by partner_id, session_ref
    having count(*) > 1
),

delivered_once as (
    select
        unioned.*,
        1 as versions_after_this_one,
        null as winner_content
    from unioned
    anti join redelivered
        on unioned.partner_id = redelivered.partner_id
        and unioned.session_ref = redelivered.session_ref
),

delivered_again as (
    select
        unioned.*,
        row_number() over latest_first as versions_after_this_one,
        first_value(row(unioned.charge_point_ref, unioned.started_at, unioned.ended_at, unioned.meter_start_wh,
                        unioned.meter_stop_wh, unioned.energy_kwh, unioned.energy_export_kwh,
                        unioned.signature_status)) over latest_first as winner_content
    from unioned
    semi join redelivered
        on unioned.partner_id = redelivered.partner_id
        and unioned.session_ref = redelivered.session_ref
    window latest_first as (
        partition by unioned.partner_id, unioned.session_ref
        order by unioned.received_at desc, unioned.source_file desc, unioned.line_number desc
    )
),

versions as (
    select * from delivered_once
    union all by name
    select * from delivered_again
),

-- What each version claims it delivered, by the file contract's rule: the meter's registers when both are
-- given, else energy_kwh (V2G export is a cleaning rule of its own). In micro-kWh as HUGEINT, so that any
-- BIGINT register jump fits; a claim that cannot be read (null) is not plausible either.
claimed as (
    select
        *,
        case
            when meter_start_wh is not null and meter_stop_wh is not null
                then (cast(meter_stop_wh as hugeint) - meter_start_wh) * 1000
            else {{ kwh_to_micro('energy_kwh') }}
        end as claimed_micro_kwh
    from versions
),

plausible as (
    select
        *,
        coalesce(abs(claimed_micro_kwh) <= cast({{ var('max_session_kwh') }} as hugeint) * 1000000
                 and coalesce(abs(energy_export_kwh), 0) <= {{ var('max_session_kwh') }}, false) as is_plausible
    from claimed
),

final as (
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
        meter_start_wh is not null and meter_stop_wh is not null as has_registers,
        case when is_plausible then {{ micro_to_kwh('claimed_micro_kwh') }} end as delivered_kwh,
        case when is_plausible then cast(coalesce(energy_export_kwh, 0) as decimal(18, 6)) end as export_kwh,
        case when not is_plausible then
            case
                when meter_start_wh is not null and meter_stop_wh is not null
                    then 'meter_stop_wh ' || meter_stop_wh || ' - meter_start_wh ' || meter_start_wh
                else 'energy_kwh ' || coalesce(cast(energy_kwh as varchar), 'unreadable')
            end || coalesce(', energy_export_kwh ' || energy_export_kwh, '')
        end as energy_claim,
        versions_after_this_one = 1 as is_latest,
        case
            when versions_after_this_one = 1 then 'latest'
            when row(charge_point_ref, started_at, ended_at, meter_start_wh, meter_stop_wh, energy_kwh,
                     energy_export_kwh, signature_status) is not distinct from winner_content
                then 'duplicate_delivery'
            else 'superseded_by_correction'
        end as version_status,
        source_type,
        source_record,
        signature_status,
        file_sha256,
        source_file,
        received_at,
        line_number
    from plausible
)

select * from final
{%- endmacro %}
