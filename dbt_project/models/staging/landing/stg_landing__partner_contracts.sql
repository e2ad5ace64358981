select
    partner_id,
    valid_from,
    valid_until,
    payout_model
from {{ source('landing', 'partners') }}
