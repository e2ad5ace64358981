-- Who holds each grid connection (EAN) in each calendar year. One provider per EAN per year is the law,
-- and the one place this is decided: every consumer reads is_holder here.
--
-- A claim is a customer (of any partner) whose mandate is valid for the year: whole calendar years,
-- covering the year, signed with a signing record that names a consent text we have, not renewed
-- tacitly, not revoked before the year began. (A mandate revoked during the year still holds that
-- year, as the register has it for the year; from the next year the connection is free.) Of the claims on
-- one EAN and year the holder is, in this order:
--   1. a claim already in a booking submitted to the REV for that year (int_ean_claims_submitted): a later
--      delivery, even with an earlier mandate_signed_at, never takes a submitted connection back;
--   2. the earliest mandate_signed_at;
--   3. the earliest landing of the claim (the file's arrival, its name, the line), then partner and ref.
-- Every other claim is refused (reason ean_claimed_by_another_mandate) and goes to the operators' review
-- (fct_ean_claim_conflicts), never to the holder.
with customers as (
    select * from {{ ref('int_customers_latest') }}
    where ean is not null
),

-- when this customer first landed with this EAN: re-delivering a customer does not move it back in line
first_landings as (
    select partner_id, customer_ref, ean, received_at, source_file, line_number
    from {{ ref('stg_landing__customers') }}
    where ean is not null
    qualify row_number() over (
        partition by partner_id, customer_ref, ean order by received_at, source_file, line_number
    ) = 1
),

submitted as (
    select * from {{ ref('int_ean_claims_submitted') }}
),

claimed_years as (
    select
        partner_id,
        customer_ref,
        ean,
        mandate_signed_at,
        revoked_at,
        -- capped so that a "valid until 9999" mandate does not explode into thousands of rows
        unnest(range(year(mandate_valid_from), least(year(mandate_valid_until), year(mandate_valid_from) + 50) + 1))
            as claim_year
    from customers
    where month(mandate_valid_from) = 1 and day(mandate_valid_from) = 1
        and month(mandate_valid_until) = 12 and day(mandate_valid_until) = 31
        -- a mandate we cannot prove, or one extended without a signing, claims nothing
        and has_signing_record and is_consent_text_known and not is_renewed_tacitly
),

claims as (
    select
        claimed_years.partner_id,
        claimed_years.customer_ref,
        claimed_years.ean,
        cast(claimed_years.claim_year as integer) as claim_year,
        claimed_years.mandate_signed_at,
        first_landings.received_at as first_received_at,
        first_landings.source_file as first_source_file,
        first_landings.line_number as first_line_number,
        submitted.partner_id is not null as is_submitted
    from claimed_years
    left join first_landings
        on claimed_years.partner_id = first_landings.partner_id
        and claimed_years.customer_ref = first_landings.customer_ref
        and claimed_years.ean = first_landings.ean
    left join submitted
        on claimed_years.partner_id = submitted.partner_id
        and claimed_years.customer_ref = submitted.customer_ref
        and claimed_years.ean = submitted.ean
        and claimed_years.claim_year = submitted.delivery_year
    where claimed_years.revoked_at is null
        or claimed_years.revoked_at > timezone('Europe/Amsterdam', make_timestamp(claimed_years.claim_year, 1, 1, 0, 0, 0))
),

ranked as (
    select
        *,
        row_number() over (
            partition by ean, claim_year
            order by is_submitted desc, mandate_signed_at, first_received_at, first_source_file,
                first_line_number, partner_id, customer_ref
        ) as claim_rank,
        count(*) over (partition by ean, claim_year) as claimant_count
    from claims
),

final as (
    select
        partner_id,
        customer_ref,
        ean,
        claim_year,
        claim_rank,
        claim_rank = 1 as is_holder,
        claimant_count,
        is_submitted,
        mandate_signed_at,
        first_received_at
    from ranked
)

select * from final
