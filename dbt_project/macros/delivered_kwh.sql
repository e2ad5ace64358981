{#-
  What a session says it delivered, by the file contract's rule: the meter's registers when both are
  given, else energy_kwh. Export (V2G) is not deducted here: that is a cleaning rule of its own.
-#}
{% macro delivered_kwh(meter_start_wh='meter_start_wh', meter_stop_wh='meter_stop_wh', energy_kwh='energy_kwh') -%}
    case
        when {{ meter_start_wh }} is not null and {{ meter_stop_wh }} is not null
            then cast(({{ meter_stop_wh }} - {{ meter_start_wh }}) * 0.001 as decimal(18, 6))
        else cast({{ energy_kwh }} as decimal(18, 6))
    end
{%- endmacro %}
