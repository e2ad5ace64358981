{#- Rows that share the combination of columns. Grouping 53M sessions by their strings is the slow part of a
    national quarter's tests, so the rows are grouped by a 64-bit hash of the combination first, and only
    the rows whose hash repeats (none, unless a duplicate or a collision) are grouped by the columns
    themselves: the same answer as grouping by the columns. -#}
{% test unique_combination(model, columns) %}
with repeated_hashes as (
    select hash({{ columns | join(', ') }}) as combination_hash
    from {{ model }}
    group by combination_hash
    having count(*) > 1
)

select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
where hash({{ columns | join(', ') }}) in (select combination_hash from repeated_hashes)
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
