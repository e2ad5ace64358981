-- How much of each partner's energy per quarter is backed by verified signed meter values (OCMF), and
-- how much carries a signature that failed. A reporting figure: a session counts in the quarter
-- (Europe/Amsterdam) it started in; the booking's split at quarter edges lives in the energy marts.
with sessions as (
    select * from {{ ref('fct_charging_sessions') }}
),

-- Summed per hour (UTC) first, in integer arithmetic: Europe/Amsterdam is whole hours off UTC (since 1940), so an
-- hour's sessions all start in one local quarter, and the time zone is looked up once per hour rather than once
-- per session (a time zone conversion of every session was most of this model's time).
per_hour as (
    select
        partner_id,
        signature_status,
        epoch_us(started_at) - (epoch_us(started_at) % 3600000000 + 3600000000) % 3600000000 as hour_us,
        count(*) as session_count,
        sum(kwh) as kwh
    from sessions
    where started_at is not null
    group by all
),

per_quarter as (
    select
        partner_id,
        cast(date_trunc('quarter', timezone('Europe/Amsterdam', make_timestamptz(hour_us))) as date) as quarter_start,
        cast(sum(session_count) as bigint) as session_count,
        cast(sum(kwh) as decimal(18, 6)) as kwh,
        cast(coalesce(sum(kwh) filter (where signature_status = 'signed_verified'), 0) as decimal(18, 6))
            as signed_verified_kwh,
        cast(coalesce(sum(kwh) filter (where signature_status = 'signed_invalid'), 0) as decimal(18, 6))
            as signed_invalid_kwh,
        cast(coalesce(sum(kwh) filter (where signature_status = 'unsigned'), 0) as decimal(18, 6)) as unsigned_kwh
    from per_hour
    group by all
),

-- The share to six places, rounded half up in integer micro-units: decimal division would go via double.
-- Widened to 38 digits first: a partner's quarter in micro-kWh does not fit in 18.
final as (
    select
        *,
        case
            when kwh > 0 then cast(
                (cast(cast(signed_verified_kwh as decimal(38, 6)) * 1000000 as hugeint) * 2000000
                    + cast(cast(kwh as decimal(38, 6)) * 1000000 as hugeint))
                // (2 * cast(cast(kwh as decimal(38, 6)) * 1000000 as hugeint)) as decimal(18, 0))
                * cast(0.000001 as decimal(9, 6))
        end::decimal(9, 6) as verified_kwh_share
    from per_quarter
)

select * from final
