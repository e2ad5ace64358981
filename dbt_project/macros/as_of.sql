{#-
  The platform's one clock (joulo_pipelines/lib/clock.py), handed to dbt by the warehouse asset as the var
  `as_of` (ISO timestamp with offset). SQL never reads the wall clock. A build started by hand without it
  treats nothing as "in the future".
-#}
{% macro as_of() -%}
    {%- set pinned = var('as_of', none) -%}
    {%- if pinned -%} cast('{{ pinned }}' as timestamptz) {%- else -%} cast('infinity' as timestamptz) {%- endif -%}
{%- endmacro %}
