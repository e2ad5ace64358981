-- The energy of each session, by the rule of the file contract: the meter's registers when the partner
-- sent them, else its energy_kwh; energy fed back from the car (V2G) is deducted. As delivered: the
-- cleaning rules (int_sessions_cleaned) decide how much of it counts.
with sessions as (
    select * from {{ ref('int_sessions_latest') }}
),

measured as (
    select
        *,
        meter_start_wh is not null and meter_stop_wh is not null as has_registers,
        {{ delivered_kwh() }} as delivered_kwh,
        coalesce(energy_export_kwh, 0) as export_kwh
    from sessions
),

final as (
    select
        *,
        cast(delivered_kwh - export_kwh as decimal(18, 6)) as kwh
    from measured
)

select * from final
