-- Which customer's EAN is already in a booking submitted to the REV, per delivery year: from the REV ledger
-- (schema `ledger`, written by joulo_pipelines/lib/registration/ledger.py once a booking is submitted). This is the
-- one place the warehouse reads the stage after it: what the register already holds decides who keeps an
-- EAN (int_ean_year_claims), so a later delivery cannot take it back. Before the first submission the
-- ledger does not exist yet and nothing is submitted.
{%- set lines = adapter.get_relation(database=target.database, schema='ledger', identifier='rev_booking_lines')
    if execute else none %}

{% if lines is not none %}
select distinct partner_id, customer_ref, ean, delivery_year
from {{ lines }}
{% else %}
select
    cast(null as varchar) as partner_id,
    cast(null as varchar) as customer_ref,
    cast(null as varchar) as ean,
    cast(null as integer) as delivery_year
where false
{% endif %}
