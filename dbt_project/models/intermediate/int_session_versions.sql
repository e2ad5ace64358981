-- Every delivered version of every session, numbered in delivery order, with the energy it claims. The
-- latest delivery of a session_ref wins (the order of the latest_delivery macro); an earlier version is an
-- exact duplicate when it says the same as the winner, else it was superseded by a correction. Nothing is
-- dropped here: versions that lose become adjustments, so every delivered kWh stays explained.
-- The winner's content comes from the same window as the numbering: one sort, no self-join.
with versions as (
    select
        *,
        row_number() over latest_first as versions_after_this_one,
        first_value(row(charge_point_ref, started_at, ended_at, meter_start_wh, meter_stop_wh, energy_kwh,
                        energy_export_kwh, signature_status)) over latest_first as winner_content
    from {{ ref('int_sessions_unioned') }}
    window latest_first as (
        partition by partner_id, session_ref
        order by received_at desc, source_file desc, line_number desc
    )
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
