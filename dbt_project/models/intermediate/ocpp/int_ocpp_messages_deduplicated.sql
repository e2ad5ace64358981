-- One row per OCPP call. The gateway already answers a retried call from its journal without writing it
-- twice; this catches what reaches us twice by other ways (a CPMS log imported over traffic the gateway
-- also received). The first receipt wins.
select *
from {{ ref('stg_ocpp__messages') }}
qualify row_number() over (
    partition by partner_id, charge_point_ref, message_id, action
    order by received_at, source_file, line_number
) = 1
