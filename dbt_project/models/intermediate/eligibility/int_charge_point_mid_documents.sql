-- The MID evidence of each unit that a person accepted (lib/eligibility/unit_evidence.py): the latest
-- accepted document per charge point, by its SHA-256. An accepted document makes the unit `evidenced`,
-- whatever the register says of its model; a rejected one changes nothing.
select
    partner_id,
    charge_point_ref,
    document_sha256,
    reviewed_by,
    reviewed_at
from {{ ref('stg_landing__mid_evidence_reviews') }}
where decision = 'accepted'
qualify row_number() over (
    partition by partner_id, charge_point_ref order by reviewed_at desc, document_sha256
) = 1
