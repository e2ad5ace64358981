-- The part of each session version's energy that falls in the quarter being built (var quarter_start/_end),
-- for every layer of int_sessions_cleaned (raw, clean, and each adjustment): the explanation behind
-- int_session_quarter_energy (clean pieces only), fct_energy_adjustments and fct_energy_reconciliation.
-- A table of the quarter partition's run only (replaced by the next quarter's): the energy marts and
-- eligibility all read it, and computing it once is cheaper than once in each of them.
-- Incremental by delivery, like int_sessions_cleaned: a build of the same quarter again replaces only the
-- touched charge points' pieces; another quarter's build replaces them all (macro whole_quarter_again).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook=["{{ replace_quarter_pieces() }}", "{{ record_quarter_pieces_scope() }}"],
) }}
-- depends_on: {{ ref('int_session_charge_points_touched') }}
{%- set only_touched = not whole_quarter_again() %}

--
-- Where a session spans the quarter's edge (Europe/Amsterdam midnight), its cumulative share at the edge
-- comes from the meter: the register of a reading within 15 minutes of the edge; else the register
-- interpolated between the nearest readings around it (the session's own start and stop registers
-- anchor the ends); pro rata by time only when no reading lies in the session (or it has no registers).
-- The share is an exact fraction of integers, and each piece is the difference of two rounded cumulative
-- amounts (macro cumulative_share), so the pieces over consecutive quarters add back to the exact total.
-- The layers are stacked (clean, + export, + overlap, + exclusion = raw) and each adjustment's piece is
-- the difference of two stacked pieces: per quarter, raw = clean + adjustments holds exactly too.
with quarter as (
    select
        {{ quarter_window_start() }} as window_start,
        {{ quarter_window_end() }} as window_end
),

-- Only the columns the pieces and `final` need: the wide cleaned row would be carried through every step.
sessions as (
    select
        cleaned.partner_id,
        cleaned.session_ref,
        cleaned.source_record,
        cleaned.charge_point_ref,
        cleaned.customer_ref,
        cleaned.ean,
        cleaned.started_at,
        cleaned.is_latest,
        cleaned.exclusion_reason,
        cleaned.exclusion_detail,
        cleaned.is_long_session,
        cleaned.has_register_reset,
        cleaned.previous_stop_wh,
        cleaned.meter_start_wh,
        cleaned.raw_micro_kwh,
        cleaned.overlap_micro_kwh,
        cleaned.export_micro_kwh,
        cleaned.clean_micro_kwh,
        quarter.window_start,
        quarter.window_end
    from {{ ref('int_sessions_cleaned') }} as cleaned
    cross join quarter
    {{ touched_only('cleaned') if only_touched }}
    where ((cleaned.started_at < quarter.window_end and greatest(cleaned.ended_at, cleaned.started_at) > quarter.window_start)
        or (cleaned.started_at >= cleaned.ended_at
            and cleaned.started_at >= quarter.window_start and cleaned.started_at < quarter.window_end))
),

-- The few sessions that run over one of the quarter's edges, read on their own (a filter on the edges,
-- narrow columns) so that `sessions` is read once, streaming, instead of being held whole for two readers.
crossing_sessions as (
    select
        cleaned.partner_id,
        cleaned.session_ref,
        cleaned.source_record,
        cleaned.charge_point_ref,
        cleaned.started_at,
        greatest(cleaned.ended_at, cleaned.started_at) as effective_end,
        cleaned.meter_start_wh,
        cleaned.meter_stop_wh,
        cleaned.has_registers,
        quarter.window_start,
        quarter.window_end
    from {{ ref('int_sessions_cleaned') }} as cleaned
    cross join quarter
    {{ touched_only('cleaned') if only_touched }}
    where ((cleaned.started_at < quarter.window_start and greatest(cleaned.ended_at, cleaned.started_at) > quarter.window_start)
        or (cleaned.started_at < quarter.window_end and greatest(cleaned.ended_at, cleaned.started_at) > quarter.window_end))
),

readings as (
    select distinct partner_id, charge_point_ref, read_at, register_wh
    from {{ ref('int_meter_readings_unioned') }}
),

-- The quarter's edges that fall strictly inside a session: only there is a split needed.
edges as (
    select
        crossing_sessions.partner_id,
        crossing_sessions.session_ref,
        crossing_sessions.source_record,
        crossing_sessions.charge_point_ref,
        crossing_sessions.started_at,
        crossing_sessions.effective_end,
        crossing_sessions.meter_start_wh,
        crossing_sessions.meter_stop_wh,
        crossing_sessions.has_registers and crossing_sessions.meter_stop_wh > crossing_sessions.meter_start_wh as can_use_registers,
        edge.edge,
        edge.edge_at
    from crossing_sessions
    cross join lateral (
        select 'start' as edge, crossing_sessions.window_start as edge_at
        union all
        select 'end' as edge, crossing_sessions.window_end as edge_at
    ) as edge
    where edge.edge_at > crossing_sessions.started_at and edge.edge_at < crossing_sessions.effective_end
),

readings_around_edges as (
    select
        edges.partner_id,
        edges.session_ref,
        edges.source_record,
        edges.edge,
        -- The nearest reading within the tolerance; on a tie the earlier one. Two readings of the same moment
        -- with different registers are broken by the register too (the lower one), or the two quarters that
        -- share this edge could each pick another and create or lose energy between them.
        arg_min(readings.register_wh,
                (abs(epoch_us(readings.read_at) - epoch_us(edges.edge_at)) * 2
                 + case when readings.read_at <= edges.edge_at then 0 else 1 end, readings.register_wh))
            filter (where abs(epoch_us(readings.read_at) - epoch_us(edges.edge_at))
                          <= {{ var('boundary_reading_minutes') }} * 60000000) as register_at_edge_wh,
        max(readings.read_at) filter (where readings.read_at <= edges.edge_at) as before_at,
        arg_min(readings.register_wh, (-epoch_us(readings.read_at), readings.register_wh))
            filter (where readings.read_at <= edges.edge_at) as before_wh,
        min(readings.read_at) filter (where readings.read_at > edges.edge_at) as after_at,
        arg_min(readings.register_wh, (readings.read_at, readings.register_wh))
            filter (where readings.read_at > edges.edge_at) as after_wh
    from edges
    inner join readings
        on edges.partner_id = readings.partner_id
        and edges.charge_point_ref = readings.charge_point_ref
        and readings.read_at between edges.started_at and edges.effective_end
    where edges.can_use_registers
    group by all
),

edge_shares as (
    select
        edges.partner_id,
        edges.session_ref,
        edges.source_record,
        edges.edge,
        case
            when around.register_at_edge_wh is not null then 'meter_reading'
            when around.before_wh is not null or around.after_wh is not null then 'interpolated'
            else 'pro_rata_time'
        end as split_method,
        -- Register at the edge minus meter_start, as numerator / denominator (Wh x us when interpolated).
        -- Registers are widened before they are subtracted: any two BIGINT registers differ by a HUGEINT.
        case
            when around.register_at_edge_wh is not null
                then (cast(around.register_at_edge_wh as hugeint) - edges.meter_start_wh)
            when around.before_wh is not null or around.after_wh is not null
                then (cast(coalesce(around.before_wh, edges.meter_start_wh) as hugeint) - edges.meter_start_wh)
                    * (epoch_us(coalesce(around.after_at, edges.effective_end)) - epoch_us(coalesce(around.before_at, edges.started_at)))
                    + (cast(coalesce(around.after_wh, edges.meter_stop_wh) as hugeint) - coalesce(around.before_wh, edges.meter_start_wh))
                    * (epoch_us(edges.edge_at) - epoch_us(coalesce(around.before_at, edges.started_at)))
            else cast(epoch_us(edges.edge_at) - epoch_us(edges.started_at) as hugeint)
        end as share_numerator,
        case
            when around.register_at_edge_wh is not null
                then (cast(edges.meter_stop_wh as hugeint) - edges.meter_start_wh)
            when around.before_wh is not null or around.after_wh is not null
                then (cast(edges.meter_stop_wh as hugeint) - edges.meter_start_wh)
                    * (epoch_us(coalesce(around.after_at, edges.effective_end)) - epoch_us(coalesce(around.before_at, edges.started_at)))
            else cast(epoch_us(edges.effective_end) - epoch_us(edges.started_at) as hugeint)
        end as share_denominator
    from edges
    left join readings_around_edges as around
        on edges.partner_id = around.partner_id
        and edges.session_ref = around.session_ref
        and edges.source_record = around.source_record
        and edges.edge = around.edge
),

-- Cumulative share at the window's start and end: 0 before the session, 1 after it.
shares as (
    select
        sessions.*,
        coalesce(at_start.share_numerator, case when sessions.window_start <= sessions.started_at then 0 else 1 end)
            as start_numerator,
        coalesce(at_start.share_denominator, 1) as start_denominator,
        coalesce(at_end.share_numerator, case when sessions.window_end <= sessions.started_at then 0 else 1 end)
            as end_numerator,
        coalesce(at_end.share_denominator, 1) as end_denominator,
        coalesce(at_start.split_method, at_end.split_method, 'whole_session') as split_method,
        sessions.clean_micro_kwh as layer_clean,
        sessions.clean_micro_kwh + sessions.export_micro_kwh as layer_export,
        sessions.clean_micro_kwh + sessions.export_micro_kwh + sessions.overlap_micro_kwh as layer_overlap,
        sessions.raw_micro_kwh as layer_raw
    from sessions
    left join edge_shares as at_start
        on sessions.partner_id = at_start.partner_id
        and sessions.session_ref = at_start.session_ref
        and sessions.source_record = at_start.source_record
        and at_start.edge = 'start'
    left join edge_shares as at_end
        on sessions.partner_id = at_end.partner_id
        and sessions.session_ref = at_end.session_ref
        and sessions.source_record = at_end.source_record
        and at_end.edge = 'end'
),

{%- set layers = ['clean', 'export', 'overlap', 'raw'] %}

pieces as (
    select
        *,
        {%- for layer in layers %}
        {{ cumulative_share('layer_' ~ layer, 'end_numerator', 'end_denominator') }}
            - {{ cumulative_share('layer_' ~ layer, 'start_numerator', 'start_denominator') }} as piece_{{ layer }}
        {{- "," if not loop.last }}
        {%- endfor %}
    from shares
),

final as (
    select
        partner_id,
        session_ref,
        source_record,
        charge_point_ref,
        customer_ref,
        ean,
        started_at,
        cast('{{ quarter_start() }}' as date) as quarter_start,  -- window_start's local date, not converted per row
        is_latest,
        exclusion_reason,
        exclusion_detail,
        is_long_session,
        has_register_reset,
        previous_stop_wh,
        meter_start_wh,
        split_method,
        clean_micro_kwh as session_clean_micro_kwh,
        piece_clean as clean_micro_kwh,
        piece_export - piece_clean as export_micro_kwh,
        piece_overlap - piece_export as overlap_micro_kwh,
        piece_raw - piece_overlap as excluded_micro_kwh,
        piece_raw as raw_micro_kwh
    from pieces
)

select * from final
