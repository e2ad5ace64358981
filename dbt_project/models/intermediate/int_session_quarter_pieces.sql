-- The part of each session's energy that falls in the quarter being built (var quarter_start/_end).
-- Ephemeral: it only means something inside the quarter partition's run.
{{ config(materialized='ephemeral') }}

--
-- A session spanning the quarter's edge is split pro rata by time. Each piece is the difference of two
-- rounded cumulative shares (energy up to the window's end minus energy up to its start), so the pieces
-- of one session over consecutive quarters telescope back to its exact total: nothing created or lost.
-- Integer arithmetic in micro-kWh and microseconds keeps it exact.
with sessions as (
    select * from {{ ref('fct_charging_sessions') }}
),

quarter as (
    select
        {{ quarter_window_start() }} as window_start,
        {{ quarter_window_end() }} as window_end
),

overlapping as (
    select
        sessions.*,
        quarter.window_start,
        cast(sessions.kwh * 1000000 as hugeint) as micro_kwh,
        epoch_us(sessions.ended_at) - epoch_us(sessions.started_at) as duration_us,
        least(greatest(epoch_us(quarter.window_start) - epoch_us(sessions.started_at), 0),
              epoch_us(sessions.ended_at) - epoch_us(sessions.started_at)) as us_before_window,
        least(greatest(epoch_us(quarter.window_end) - epoch_us(sessions.started_at), 0),
              epoch_us(sessions.ended_at) - epoch_us(sessions.started_at)) as us_until_window_end
    from sessions
    cross join quarter
    where (sessions.started_at < quarter.window_end and sessions.ended_at > quarter.window_start)
        or (sessions.started_at = sessions.ended_at
            and sessions.started_at >= quarter.window_start and sessions.started_at < quarter.window_end)
),

pieces as (
    select
        *,
        case
            when duration_us = 0 then micro_kwh
            else (micro_kwh * us_until_window_end * 2 + duration_us) // (2 * duration_us)
                - (micro_kwh * us_before_window * 2 + duration_us) // (2 * duration_us)
        end as piece_micro_kwh
    from overlapping
),

final as (
    select
        partner_id,
        session_ref,
        charge_point_ref,
        customer_ref,
        ean,
        cast(window_start at time zone 'Europe/Amsterdam' as date) as quarter_start,
        kwh as session_kwh,
        cast(cast(piece_micro_kwh as decimal(38, 0)) * 0.000001 as decimal(18, 6)) as kwh
    from pieces
)

select * from final
