{#-
  The quarter partition as instants: local midnight in Europe/Amsterdam at both ends, so a quarter that
  contains a DST change is an hour shorter or longer than its calendar days suggest.
-#}
{% macro quarter_window_start() -%}
    timezone('Europe/Amsterdam', cast('{{ var("quarter_start") }}' as timestamp))
{%- endmacro %}

{% macro quarter_window_end() -%}
    timezone('Europe/Amsterdam', cast('{{ var("quarter_end") }}' as timestamp))
{%- endmacro %}
