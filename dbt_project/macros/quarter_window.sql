{#-
  The quarter partition being built, as Europe/Amsterdam dates. The warehouse asset passes them in the
  environment (JOULO_QUARTER_START, JOULO_QUARTER_END): dbt re-parses only the files that read an
  environment variable that changed, while other --vars make it parse the whole project again, ~3 s of
  every quarter's build. Without them (a build by hand, a unit test) the vars quarter_start and quarter_end.
-#}
{% macro quarter_start() -%}
    {{ env_var('JOULO_QUARTER_START', var('quarter_start')) }}
{%- endmacro %}

{% macro quarter_end() -%}
    {{ env_var('JOULO_QUARTER_END', var('quarter_end')) }}
{%- endmacro %}

{#-
  The quarter partition as instants: local midnight in Europe/Amsterdam at both ends, so a quarter that
  contains a DST change is an hour shorter or longer than its calendar days suggest.
-#}
{% macro quarter_window_start() -%}
    timezone('Europe/Amsterdam', cast('{{ quarter_start() }}' as timestamp))
{%- endmacro %}

{% macro quarter_window_end() -%}
    timezone('Europe/Amsterdam', cast('{{ quarter_end() }}' as timestamp))
{%- endmacro %}
