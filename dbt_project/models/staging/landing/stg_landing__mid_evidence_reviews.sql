with source as (
    select * from {{ source('landing', 'mid_evidence_reviews') }}
),

renamed as (
    select
        record_id,
        partner_id,
        charge_point_ref,
        document_sha256,
        decision,
        reviewed_by,
        reviewed_at,
        markings_counted
    from source
)

select * from renamed
