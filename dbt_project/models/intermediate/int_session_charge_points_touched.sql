-- The charge points whose sessions must be cleaned again since the last build: what an incremental build of
-- int_sessions_cleaned and int_session_quarter_pieces recomputes (every row of them), leaving every other
-- charge point's rows as they are. Empty on a full build (--full-refresh, or no earlier build).
-- A charge point is touched when what its rows are made of changed:
--   its deliveries: a landed session file with rows on it came or went (files are immutable: the file's
--     sha256 names its rows); rows from OCPI and OCPP, derived from several messages, and meter readings
--     by a fingerprint of the rows themselves;
--   its inputs: customer, EAN, installation date or power limit;
--   the clock: it has a session after the build's as_of, or one that was "in the future" at the last build;
-- and then every charge point that shares a session_ref with a touched one, before or now (a correction
-- may move a session to another charge point: both charge points' versions change).
-- The post-hook keeps what this build was made of (int_session_deliveries_built and
-- int_session_charge_point_inputs_built) for the next build to compare with.
{{ config(materialized='table', post_hook=[
    "create or replace table {{ this.schema }}.int_session_deliveries_built as select * from {{ this.schema }}.int_session_deliveries_now",
    "create or replace table {{ this.schema }}.int_session_charge_point_inputs_built as select * from {{ this.schema }}.int_session_charge_point_inputs_now",
    "drop table {{ this.schema }}.int_session_deliveries_now",
    "drop table {{ this.schema }}.int_session_charge_point_inputs_now",
], pre_hook=[
    "create or replace table {{ this.schema }}.int_session_deliveries_now as {{ session_deliveries() }}",
    "create or replace table {{ this.schema }}.int_session_charge_point_inputs_now as {{ session_charge_point_inputs() }}",
]) }}
-- depends_on: {{ ref('int_sessions_unioned') }}
-- depends_on: {{ ref('int_meter_readings_unioned') }}
-- depends_on: {{ ref('int_charge_points_connected') }}
-- depends_on: {{ ref('int_charge_points_latest') }}
-- depends_on: {{ ref('charge_point_power_limits') }}

{%- set cleaned = adapter.get_relation(this.database, this.schema, 'int_sessions_cleaned') %}
{%- set deliveries_built = adapter.get_relation(this.database, this.schema, 'int_session_deliveries_built') %}
{%- set inputs_built = adapter.get_relation(this.database, this.schema, 'int_session_charge_point_inputs_built') %}

{%- if flags.FULL_REFRESH or cleaned is none %}

select cast(null as varchar) as partner_id, cast(null as varchar) as charge_point_ref
where false

{%- elif deliveries_built is none or inputs_built is none %}
-- (a table cleaned before its deliveries were recorded: every charge point, then and now)
select partner_id, charge_point_ref from {{ this.schema }}.int_session_deliveries_now
union
select partner_id, charge_point_ref from {{ cleaned }}

{%- else %}

with -- Whole rows compared, both ways: a delivery that came and one that went alike.
deliveries_changed as (
    select partner_id, charge_point_ref from (
        (select * from {{ this.schema }}.int_session_deliveries_now except select * from {{ deliveries_built }})
        union all
        (select * from {{ deliveries_built }} except select * from {{ this.schema }}.int_session_deliveries_now)
    )
),

inputs_changed as (
    select partner_id, charge_point_ref from (
        (select * from {{ this.schema }}.int_session_charge_point_inputs_now except select * from {{ inputs_built }})
        union all
        (select * from {{ inputs_built }} except select * from {{ this.schema }}.int_session_charge_point_inputs_now)
    )
),

clock_changed as (
    select partner_id, charge_point_ref
    from {{ ref('int_sessions_unioned') }}
    where started_at > {{ as_of() }} or ended_at > {{ as_of() }}
    union all
    select partner_id, charge_point_ref
    from {{ cleaned }}
    where exclusion_reason = 'timestamp_in_future'
),

directly as (
    select partner_id, charge_point_ref from deliveries_changed
    union
    select partner_id, charge_point_ref from inputs_changed
    union
    select partner_id, charge_point_ref from clock_changed
),

-- The sessions on those charge points, before (the cleaned table) and now, and every charge point they are on.
-- Each is read twice: not materialized, since DuckDB would otherwise copy every session's keys (all of them,
-- not the touched ones) to read the copy twice, which costs more than reading them again (README Performance).
sessions_now as not materialized (
    select partner_id, session_ref, charge_point_ref from {{ ref('int_sessions_unioned') }}
),

sessions_before as not materialized (
    select partner_id, session_ref, charge_point_ref from {{ cleaned }}
),

touched_sessions as (
    select sessions_now.partner_id, sessions_now.session_ref
    from sessions_now
    semi join directly
        on sessions_now.partner_id = directly.partner_id
        and sessions_now.charge_point_ref is not distinct from directly.charge_point_ref
    union
    select sessions_before.partner_id, sessions_before.session_ref
    from sessions_before
    semi join directly
        on sessions_before.partner_id = directly.partner_id
        and sessions_before.charge_point_ref is not distinct from directly.charge_point_ref
),

final as (
    select partner_id, charge_point_ref from directly
    union
    select sessions_now.partner_id, sessions_now.charge_point_ref
    from sessions_now
    semi join touched_sessions
        on sessions_now.partner_id = touched_sessions.partner_id
        and sessions_now.session_ref = touched_sessions.session_ref
    union
    select sessions_before.partner_id, sessions_before.charge_point_ref
    from sessions_before
    semi join touched_sessions
        on sessions_before.partner_id = touched_sessions.partner_id
        and sessions_before.session_ref = touched_sessions.session_ref
)

select * from final

{%- endif %}
