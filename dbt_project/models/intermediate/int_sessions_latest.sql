-- One row per session: a later delivery of the same session_ref corrects the earlier one.
select *
from {{ ref('int_sessions_unioned') }}
{{ latest_delivery(['partner_id', 'session_ref']) }}
