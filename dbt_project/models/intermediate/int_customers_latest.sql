-- One row per customer: the latest delivered version of each partner's customer_ref, with what the
-- customer's deliveries together settle about the mandate (the one place it is decided):
-- - the signing record: the first delivery of this mandate (the same mandate_signed_at) with every column
--   of one, preferring one that names a consent text we have (version and the hash of its bytes). A later
--   file that leaves the columns empty does not take it away; a new signing moment needs its own.
-- - the revocation: the earliest revoked_at delivered for the customer (at the latest the moment its file
--   arrived) ends the mandate, and no later delivery undoes or postpones it, unless it is a new mandate:
--   signed after the revocation, with a signing record of its own.
-- - tacit renewal: the mandate's validity ends later than an earlier delivery of the same signing said.
with deliveries as (
    select * from {{ ref('stg_landing__customers') }}
),

consent_texts as (
    select * from {{ ref('stg_landing__consent_texts') }}
),

latest as (
    select *
    from deliveries
    {{ latest_delivery(['partner_id', 'customer_ref']) }}
),

signing_records as (
    select
        deliveries.partner_id,
        deliveries.customer_ref,
        deliveries.mandate_signed_at,
        deliveries.consent_text_version,
        deliveries.consent_text_sha256,
        consent_texts.language as consent_text_language,
        consent_texts.consent_text_sha256 is not null as is_consent_text_known,
        deliveries.signer_user_id,
        deliveries.signer_authentication,
        deliveries.signer_ip,
        deliveries.signer_user_agent,
        deliveries.source_file as signing_record_source_file,
        deliveries.line_number as signing_record_line_number
    from deliveries
    left join consent_texts
        on deliveries.consent_text_version = consent_texts.consent_text_version
        and deliveries.consent_text_sha256 = consent_texts.consent_text_sha256
    where deliveries.consent_text_version is not null
        and deliveries.consent_text_sha256 is not null
        and deliveries.signer_user_id is not null
        and deliveries.signer_authentication is not null
        and deliveries.signer_ip is not null
        and deliveries.signer_user_agent is not null
    qualify row_number() over (
        partition by deliveries.partner_id, deliveries.customer_ref, deliveries.mandate_signed_at
        order by consent_texts.consent_text_sha256 is null, deliveries.received_at, deliveries.source_file,
            deliveries.line_number
    ) = 1
),

mandate_record as (
    select
        latest.partner_id,
        latest.customer_ref,
        signing_records.* exclude (partner_id, customer_ref, mandate_signed_at)
    from latest
    left join signing_records
        on latest.partner_id = signing_records.partner_id
        and latest.customer_ref = signing_records.customer_ref
        and latest.mandate_signed_at = signing_records.mandate_signed_at
),

-- a revocation ends the mandate at revoked_at, and at the latest when it arrives (one dated ahead ends it then)
revocations as (
    select partner_id, customer_ref, least(revoked_at, received_at) as revoked_at
    from deliveries
    where revoked_at is not null
),

standing_revocations as (
    select
        latest.partner_id,
        latest.customer_ref,
        min(revocations.revoked_at) as revoked_at
    from latest
    inner join revocations
        on latest.partner_id = revocations.partner_id
        and latest.customer_ref = revocations.customer_ref
    inner join mandate_record
        on latest.partner_id = mandate_record.partner_id
        and latest.customer_ref = mandate_record.customer_ref
    where not (latest.mandate_signed_at > revocations.revoked_at and mandate_record.signer_user_id is not null)
    group by latest.partner_id, latest.customer_ref
),

first_validity as (
    select
        latest.partner_id,
        latest.customer_ref,
        min(deliveries.mandate_valid_until) as first_valid_until
    from latest
    inner join deliveries
        on latest.partner_id = deliveries.partner_id
        and latest.customer_ref = deliveries.customer_ref
        and latest.mandate_signed_at = deliveries.mandate_signed_at
    group by latest.partner_id, latest.customer_ref
),

final as (
    select
        latest.* exclude (revoked_at, consent_text_version, consent_text_sha256, signer_user_id,
            signer_authentication, signer_ip, signer_user_agent),
        standing_revocations.revoked_at,
        mandate_record.signer_user_id is not null as has_signing_record,
        coalesce(mandate_record.is_consent_text_known, false) as is_consent_text_known,
        latest.mandate_valid_until > first_validity.first_valid_until as is_renewed_tacitly,
        mandate_record.consent_text_version,
        mandate_record.consent_text_sha256,
        mandate_record.consent_text_language,
        mandate_record.signer_user_id,
        mandate_record.signer_authentication,
        mandate_record.signer_ip,
        mandate_record.signer_user_agent,
        mandate_record.signing_record_source_file,
        mandate_record.signing_record_line_number
    from latest
    inner join mandate_record
        on latest.partner_id = mandate_record.partner_id
        and latest.customer_ref = mandate_record.customer_ref
    inner join first_validity
        on latest.partner_id = first_validity.partner_id
        and latest.customer_ref = first_validity.customer_ref
    left join standing_revocations
        on latest.partner_id = standing_revocations.partner_id
        and latest.customer_ref = standing_revocations.customer_ref
)

select * from final
