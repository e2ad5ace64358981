{#-
  Pre-hook of int_customer_checks (incremental): a customer no longer among the latest customers loses its
  verdicts, as a full build would leave it out.
-#}
{% macro drop_customers_gone() -%}
    {% if is_incremental() -%}
        delete from {{ this }} as built
        where not exists (
            select 1 from {{ ref('int_customers_latest') }} as customers
            where customers.partner_id = built.partner_id and customers.customer_ref = built.customer_ref)
    {%- endif %}
{%- endmacro %}
