{#-
  Pre-hook of the marts built one quarter partition at a time: the partition's rows are deleted before
  the quarter is appended again, so a rerun replaces the quarter and leaves the other quarters alone.
-#}
{% macro replace_quarter_partition() -%}
    {% if is_incremental() -%}
        delete from {{ this }} where quarter_start = cast('{{ quarter_start() }}' as date)
    {%- endif %}
{%- endmacro %}
