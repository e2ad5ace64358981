-- One row per customer: the latest delivered version of each partner's customer_ref.
select *
from {{ ref('stg_landing__customers') }}
{{ latest_delivery(['partner_id', 'customer_ref']) }}
