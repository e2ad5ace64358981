-- Every delivered version of every session, numbered in delivery order, with the energy it claims. The
-- latest delivery of a session_ref wins (the order of the latest_delivery macro); an earlier version is an
-- exact duplicate when it says the same as the winner, else it was superseded by a correction. Nothing is
-- dropped here: versions that lose become adjustments, so every delivered kWh stays explained.
-- Nearly every session is delivered once: only the redelivered ones go through the ordering window (one
-- sort, the winner's content from the same window), the rest win as they are.
with unioned as (
    select * from {{ ref('int_sessions_unioned') }}
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
        {{ delivered_kwh() }} as delivered_kwh,
        cast(coalesce(energy_export_kwh, 0) as decimal(18, 6)) as export_kwh,
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
    from versions
)

select * from final
