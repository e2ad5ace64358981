-- For the operators' review, never for partners: every refused claim on an EAN with the claim that holds it
-- (int_ean_year_claims decides), why the holder won, and whether the refused claim had landed first (a
-- later delivery with an earlier mandate_signed_at is how a backdated mandate would show). Keys and dates
-- only: no names, addresses or IBANs.
with claims as (
    select * from {{ ref('int_ean_year_claims') }}
),

holders as (
    select * from claims where is_holder
),

refused as (
    select * from claims where not is_holder
),

final as (
    select
        refused.claim_year,
        refused.ean,
        holders.partner_id as holder_partner_id,
        holders.customer_ref as holder_customer_ref,
        refused.partner_id as refused_partner_id,
        refused.customer_ref as refused_customer_ref,
        -- signed_at when the holder's mandate is the earlier one; submitted_booking when it holds only
        -- because it is already submitted (the refused mandate claims to be as old or older)
        case
            when holders.mandate_signed_at < refused.mandate_signed_at then 'signed_at'
            when holders.is_submitted and not refused.is_submitted then 'submitted_booking'
            else 'landing_order'
        end as decided_by,
        holders.mandate_signed_at as holder_signed_at,
        refused.mandate_signed_at as refused_signed_at,
        holders.first_received_at as holder_received_at,
        refused.first_received_at as refused_received_at,
        refused.first_received_at < holders.first_received_at as refused_landed_first
    from refused
    inner join holders
        on refused.ean = holders.ean
        and refused.claim_year = holders.claim_year
)

select * from final
