{#-
  The part of `amount` (an integer, micro-kWh) delivered before an instant, given the session's cumulative
  share at that instant as the exact fraction numerator / denominator (integers). Rounded half away from zero.

  Every piece of a session is cumulative_share(at the window's end) - cumulative_share(at its start), so the
  pieces over consecutive windows telescope back to the whole amount: nothing is created or lost, whatever
  the rounding. The ends are pinned (0 before the session, the whole amount after it). A negative amount is
  rounded on its magnitude (half away from zero) because DuckDB's integer division truncates toward zero:
  (2an + d) // 2d on a negative amount would be up to 1.5 micro-kWh off instead of half of one.
-#}
{% macro cumulative_share(amount, numerator, denominator) -%}
    case
        when {{ numerator }} <= 0 then cast(0 as hugeint)
        when {{ numerator }} >= {{ denominator }} then cast({{ amount }} as hugeint)
        else sign(cast({{ amount }} as hugeint))
            * ((abs(cast({{ amount }} as hugeint)) * {{ numerator }} * 2 + {{ denominator }}) // (2 * {{ denominator }}))
    end
{%- endmacro %}

{#- micro-kWh (hugeint) back to kWh with six decimals, exactly. -#}
{% macro micro_to_kwh(micro_kwh) -%}
    cast(cast({{ micro_kwh }} as decimal(38, 0)) * 0.000001 as decimal(18, 6))
{%- endmacro %}

{#- kWh (any DECIMAL) to micro-kWh (hugeint), exactly, widened first so no kWh value can overflow. -#}
{% macro kwh_to_micro(kwh) -%}
    cast(cast({{ kwh }} as decimal(38, 6)) * 1000000 as hugeint)
{%- endmacro %}

{#-
  Wh (a wide DECIMAL) to kWh as DECIMAL(18,6), saturated at +-999,999,999,999 kWh instead of overflowing:
  a register jump that large is far beyond var max_session_kwh either way, and is excluded there as
  implausible_energy, with its registers in the detail, instead of failing the build.
-#}
{% macro wh_to_kwh_saturated(wh) -%}
    {#- DuckDB's least and greatest skip NULLs: a missing register must stay missing, not become the bound. -#}
    cast(case when ({{ wh }}) is not null
        then greatest(least(({{ wh }}) * 0.001, 999999999999), -999999999999) end as decimal(18, 6))
{%- endmacro %}
