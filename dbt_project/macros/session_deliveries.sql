{#-
  What each charge point's session rows are made of, compared build to build by
  int_session_charge_points_touched. Landed session files are immutable, so a file's sha256 stands for its
  rows: (partner, charge point, file) from a few columns, without reading the rest. Rows from OCPI and OCPP
  are derived from several messages (a CDR settled with its credits, a transaction from its start and stop)
  and meter readings are read by the quarter's split: a fingerprint of the rows themselves, per charge point.
-#}
{% macro session_deliveries() -%}
    select partner_id, charge_point_ref, 'file ' || file_sha256 as delivery
    from {{ ref('int_sessions_unioned') }}
    where source_type = 'file'
    group by all
    union all
    select partner_id, charge_point_ref, source_type || ' rows ' || count(*) || ' ' || sum(hash(derived)) as delivery
    from {{ ref('int_sessions_unioned') }} as derived
    where source_type <> 'file'
    group by partner_id, charge_point_ref, source_type
    union all
    select partner_id, charge_point_ref, 'readings ' || count(*) || ' ' || sum(hash(readings)) as delivery
    from {{ ref('int_meter_readings_unioned') }} as readings
    group by partner_id, charge_point_ref
{%- endmacro %}

{#-
  What the cleaning rules read of each charge point besides its sessions: its customer and EAN, its
  installation date and power limit.
-#}
{% macro session_charge_point_inputs() -%}
    with charge_points as (
        select * from {{ ref('int_charge_points_latest') }}
    ),

    power_limits as (
        select * from {{ ref('charge_point_power_limits') }}
    ),

    limits as (
        {{ charge_point_limits('charge_points', 'power_limits') }}
    )

    select
        coalesce(connected.partner_id, limits.partner_id) as partner_id,
        coalesce(connected.charge_point_ref, limits.charge_point_ref) as charge_point_ref,
        connected.customer_ref,
        connected.ean,
        limits.installed_date,
        limits.max_power_kw
    from {{ ref('int_charge_points_connected') }} as connected
    full join limits
        on connected.partner_id = limits.partner_id
        and connected.charge_point_ref = limits.charge_point_ref
{%- endmacro %}

{#-
  Pre-hook of the models incremental by delivery (int_sessions_cleaned, int_session_quarter_pieces): the
  touched charge points' rows go before they are appended again.
-#}
{% macro delete_touched_charge_points() -%}
    {% if is_incremental() -%}
        delete from {{ this }} as built
        using {{ ref('int_session_charge_points_touched') }} as touched
        where built.partner_id = touched.partner_id
            and built.charge_point_ref is not distinct from touched.charge_point_ref
    {%- endif %}
{%- endmacro %}

{#-
  In an incremental build, a semi join of `rows` (partner_id, charge_point_ref) with the touched charge points.
-#}
{% macro touched_only(rows) -%}
    semi join {{ ref('int_session_charge_points_touched') }} as touched
        on {{ rows }}.partner_id = touched.partner_id
        and {{ rows }}.charge_point_ref is not distinct from touched.charge_point_ref
{%- endmacro %}

{#-
  Whether int_session_quarter_pieces is built whole: on a full build, and when the table holds another
  quarter (it holds the last quarter built) or nothing. Else only the touched charge points are replaced.
-#}
{% macro whole_quarter_again() -%}
    {%- if not is_incremental() or not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set other = run_query("select count(*) filter (where quarter_start <> cast('" ~ quarter_start()
        ~ "' as date)), count(*) from " ~ this) -%}
    {{ return(other.rows[0][0] > 0 or other.rows[0][1] == 0) }}
{%- endmacro %}

{#- Pre-hook of int_session_quarter_pieces: what is about to be appended again goes first. -#}
{% macro replace_quarter_pieces() -%}
    {%- if is_incremental() -%}
        {%- if whole_quarter_again() -%} delete from {{ this }} {%- else -%} {{ delete_touched_charge_points() }} {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#-
  The data tests on the session models whose `where` is __touched_charge_points_only__ (dbt's test config;
  dbt renders it before any macro of the project is known, hence the placeholder): in an incremental build
  they read only the touched charge points' rows, the only ones it wrote (a session_ref on two charge
  points makes both touched), by a semi join; on a full build, where none is touched, every row. dbt's
  own where otherwise.
-#}
{% macro get_where_subquery(relation) -%}
    {%- if config.get('where') != '__touched_charge_points_only__' -%}
        {%- do return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) -%}
    {%- endif -%}
    {#- by name, not ref: a ref here would be a dependency of every test -#}
    {%- set touched = api.Relation.create(database=relation.database, schema='intermediate',
                                          identifier='int_session_charge_points_touched') -%}
    {%- if not execute or run_query("select count(*) from " ~ touched).rows[0][0] == 0 -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- set filtered -%}
        (select tested.* from {{ relation }} as tested
         semi join {{ touched }} as touched
             on tested.partner_id = touched.partner_id
             and tested.charge_point_ref is not distinct from touched.charge_point_ref) dbt_subquery
    {%- endset -%}
    {%- do return(filtered) -%}
{%- endmacro %}

{#-
  Pre-hook of int_session_quarter_pieces, after replace_quarter_pieces: whether this build replaces the
  quarter's pieces whole or only the touched charge points', for the marts built from them (below).
-#}
{% macro record_quarter_pieces_scope() -%}
    create or replace table {{ this.schema }}.int_session_quarter_pieces_scope as
    select {{ 'true' if not is_incremental() or whole_quarter_again() else 'false' }} as whole_quarter
{%- endmacro %}

{#-
  Whether the marts built from int_session_quarter_pieces replace their quarter partition whole (what the
  pieces did, or the mart is new) rather than only the touched charge points' rows.
-#}
{% macro quarter_pieces_whole() -%}
    {%- if not is_incremental() or not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set scope = run_query("select whole_quarter from intermediate.int_session_quarter_pieces_scope") -%}
    {{ return(scope.rows[0][0]) }}
{%- endmacro %}

{#-
  Pre-hook of the per-charge-point marts of the quarter (fct_charge_point_quarter_energy,
  fct_energy_adjustments): the quarter partition goes before it is appended again, whole or only the
  touched charge points' rows, as int_session_quarter_pieces did.
-#}
{% macro replace_quarter_of_touched_charge_points() -%}
    {% if is_incremental() -%}
        delete from {{ this }} as built
        {%- if not quarter_pieces_whole() %}
        using {{ ref('int_session_charge_points_touched') }} as touched
        where built.partner_id = touched.partner_id
            and built.charge_point_ref is not distinct from touched.charge_point_ref
            and built.quarter_start = cast('{{ quarter_start() }}' as date)
        {%- else %}
        where built.quarter_start = cast('{{ quarter_start() }}' as date)
        {%- endif %}
    {%- endif %}
{%- endmacro %}
