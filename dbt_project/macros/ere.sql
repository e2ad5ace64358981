{#-
  ERE per kWh (DOMAIN.md): renewable_share x reference [gCO2eq/MJ] x 3.6 [MJ/kWh] / 1000 [g per kg].
  Exact decimals throughout: kWh at 6 places times a factor at 10 places, kept at 12 places. Rounding to
  whole units is the REV's, and is applied only where we book.
-#}
{% macro ere_per_kwh(renewable_share, reference_g_co2_per_mj) -%}
    cast({{ renewable_share }} * {{ reference_g_co2_per_mj }} * 0.0036 as decimal(20, 10))
{%- endmacro %}
