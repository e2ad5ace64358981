{#-
  The platform's one clock (joulo_pipelines/lib/clock.py), handed to dbt by the warehouse asset in the
  environment as JOULO_BUILD_AS_OF (ISO timestamp with offset; an environment variable for the reason in
  quarter_window.sql), by hand or in a unit test as the var `as_of`. SQL never reads the wall clock. A build
  started without either treats nothing as "in the future".
-#}
{% macro as_of() -%}
    {%- set pinned = env_var('JOULO_BUILD_AS_OF', '') or var('as_of', none) -%}
    {%- if pinned -%} cast('{{ pinned }}' as timestamptz) {%- else -%} cast('infinity' as timestamptz) {%- endif -%}
{%- endmacro %}
