with source as (
    select * from {{ source('landing', 'customers') }}
),

renamed as (
    select
        partner_id,
        customer_ref,
        name as customer_name,
        email,
        replace(upper(iban), ' ', '') as iban,
        coalesce(account_holder, name) as account_holder,
        street,
        house_number,
        upper(replace(postal_code, ' ', '')) as postal_code,
        city,
        ean,
        mandate_signed_at,
        mandate_valid_from,
        mandate_valid_until,
        revoked_at,
        kvk_number,
        coalesce(language, 'nl') as language,
        consent_text_version,
        lower(consent_text_sha256) as consent_text_sha256,
        signer_user_id,
        lower(signer_authentication) as signer_authentication,
        signer_ip,
        signer_user_agent,
        file_sha256,
        source_file,
        received_at,
        line_number
    from source
)

select * from renamed
