-- One row per charge point: the latest delivered version of each partner's charge_point_ref.
select *
from {{ ref('stg_landing__charge_points') }}
{{ latest_delivery(['partner_id', 'charge_point_ref']) }}
