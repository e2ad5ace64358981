-- Every delivered version of every session, numbered in delivery order, with the energy it claims. The
-- latest delivery of a session_ref wins (the order of the latest_delivery macro); an earlier version is an
-- exact duplicate when it says the same as the winner, else it was superseded by a correction. Nothing is
-- dropped here: versions that lose become adjustments, so every delivered kWh stays explained.
with versions as (
    select
        *,
        row_number() over (
            partition by partner_id, session_ref
            order by received_at desc, source_file desc, line_number desc
        ) as versions_after_this_one
    from {{ ref('int_sessions_unioned') }}
),

winners as (
    select * from versions where versions_after_this_one = 1
),

final as (
    select
        versions.partner_id,
        versions.session_ref,
        versions.charge_point_ref,
        versions.started_at,
        versions.ended_at,
        versions.meter_start_wh,
        versions.meter_stop_wh,
        versions.energy_kwh,
        versions.energy_export_kwh,
        versions.meter_start_wh is not null and versions.meter_stop_wh is not null as has_registers,
        {{ delivered_kwh('versions.meter_start_wh', 'versions.meter_stop_wh', 'versions.energy_kwh') }} as delivered_kwh,
        cast(coalesce(versions.energy_export_kwh, 0) as decimal(18, 6)) as export_kwh,
        versions.versions_after_this_one = 1 as is_latest,
        case
            when versions.versions_after_this_one = 1 then 'latest'
            when (versions.charge_point_ref, versions.started_at, versions.ended_at, versions.meter_start_wh,
                  versions.meter_stop_wh, versions.energy_kwh, versions.energy_export_kwh, versions.signature_status)
                is not distinct from
                (winners.charge_point_ref, winners.started_at, winners.ended_at, winners.meter_start_wh,
                 winners.meter_stop_wh, winners.energy_kwh, winners.energy_export_kwh, winners.signature_status)
                then 'duplicate_delivery'
            else 'superseded_by_correction'
        end as version_status,
        versions.source_type,
        versions.source_record,
        versions.signature_status,
        versions.file_sha256,
        versions.source_file,
        versions.received_at,
        versions.line_number
    from versions
    inner join winners
        on versions.partner_id = winners.partner_id
        and versions.session_ref = winners.session_ref
)

select * from final
