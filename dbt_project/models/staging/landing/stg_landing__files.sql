with source as (
    select * from {{ source('landing', 'files') }}
),

renamed as (
    select
        partner_id,
        dataset,
        file_sha256,
        source_file,
        received_at,
        size_bytes,
        status,
        rows_total,
        rows_loaded,
        rows_rejected,
        quarantine_report
    from source
)

select * from renamed
