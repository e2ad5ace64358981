{#-
  Each charge point's installation date and power limit (its model's, from the seed
  charge_point_power_limits, else var default_max_power_kw), from relations or CTEs named like
  int_charge_points_latest and the seed: read by int_sessions_cleaned's rules and by
  int_session_charge_points_touched, which notices when they change.
-#}
{% macro charge_point_limits(charge_points, power_limits) -%}
    select
        charge_points.partner_id,
        charge_points.charge_point_ref,
        charge_points.installed_date,
        coalesce(max(power_limits.max_power_kw), {{ var('default_max_power_kw') }}) as max_power_kw
    from {{ charge_points }} as charge_points
    left join {{ power_limits }} as power_limits
        on lower(trim(charge_points.brand)) = power_limits.brand
        and regexp_full_match(lower(trim(replace(charge_points.model, '-', ' '))), power_limits.model_pattern)
    group by charge_points.partner_id, charge_points.charge_point_ref, charge_points.installed_date
{%- endmacro %}
