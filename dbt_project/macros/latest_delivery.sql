{#-
  Partners correct a record by delivering it again: the latest delivery of a key wins. "Latest" is the
  file's arrival time, then its name, then the line in it, so the choice is total and repeatable.
-#}
{% macro latest_delivery(key_columns) -%}
    qualify row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by received_at desc, source_file desc, line_number desc
    ) = 1
{%- endmacro %}
