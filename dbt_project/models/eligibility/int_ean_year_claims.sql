-- Who claims each grid connection (EAN) in each calendar year: every customer (of any partner) whose
-- mandate covers part of that year and was not revoked before it began. One provider per EAN per year
-- is the law, so more than one claimant is a conflict and nothing of that EAN is booked that year.
with customers as (
    select * from {{ ref('int_customers_latest') }}
    where ean is not null
),

claimed_years as (
    select
        partner_id,
        customer_ref,
        ean,
        revoked_at,
        -- capped so that a "valid until 9999" mandate does not explode into thousands of rows
        unnest(range(year(mandate_valid_from), least(year(mandate_valid_until), year(mandate_valid_from) + 50) + 1))
            as claim_year
    from customers
),

claims as (
    select *
    from claimed_years
    where revoked_at is null
        or revoked_at > timezone('Europe/Amsterdam', make_timestamp(claim_year, 1, 1, 0, 0, 0))
),

final as (
    select
        ean,
        cast(claim_year as integer) as claim_year,
        count(*) as claimant_count,
        count(distinct partner_id) as partner_count,
        list(partner_id || '/' || customer_ref order by partner_id, customer_ref) as claimants
    from claims
    group by ean, claim_year
)

select * from final
