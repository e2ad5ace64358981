-- Whether each charge point may be booked in the quarter being built, with EVERY failing reason (codes in
-- data/reference/eligibility_reasons.csv) and what would make it eligible. Only the kWh of eligible
-- charge points inside their delivery period (the quarter clipped to the mandate) flow on to booking.
-- Built one quarter partition at a time: the partition's rows are replaced, other quarters left alone.
-- full_refresh=false: it keeps every quarter; --full-refresh rebuilds the models incremental by delivery.
{{
    config(
        materialized='incremental',
        full_refresh=false,
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ replace_quarter_partition() }}",
    )
}}

with quarter as (
    select
        cast('{{ quarter_start() }}' as date) as quarter_start,
        cast(cast('{{ quarter_end() }}' as date) - interval 1 day as date) as quarter_last_day,
        {{ quarter_window_start() }} as window_start,
        -- the one clock (macro as_of, from lib/clock.py): a mandate signed after it cannot be booked yet
        {{ as_of() }} as booked_at
),

charge_points as (
    select * from {{ ref('int_charge_points_latest') }}
),

customers as (
    select * from {{ ref('int_customers_latest') }}
),

customer_checks as (
    select * from {{ ref('int_customer_checks') }}
),

-- the partner's contract in force in the quarter: the IBAN rule holds only when it pays customers directly
contracts as (
    select contracts.partner_id, contracts.payout_model
    from {{ ref('stg_landing__partner_contracts') }} as contracts
    cross join quarter
    where contracts.valid_from <= quarter.quarter_start
        and (contracts.valid_until is null or quarter.quarter_start < contracts.valid_until)
),

meter_matches as (
    select * from {{ ref('int_charge_point_meter_matches') }}
),

-- per unit: a MID document a person accepted, and what an OCPP charger says of its own meter
mid_documents as (
    select * from {{ ref('int_charge_point_mid_documents') }}
),

charger_meters as (
    select * from {{ ref('int_ocpp_charge_point_meters') }}
),

claims as (
    select * from {{ ref('int_ean_year_claims') }}
),

reason_catalogue as (
    select * from {{ ref('eligibility_reasons') }}
),

pieces as (
    select partner_id, charge_point_ref, kwh, started_at from {{ ref('int_session_quarter_energy') }}
),

checked as (
    select
        charge_points.partner_id,
        charge_points.charge_point_ref,
        charge_points.customer_ref,
        customers.ean,
        quarter.quarter_start,
        quarter.quarter_last_day,
        charge_points.brand,
        charge_points.model,
        meter_matches.mid_status,
        meter_matches.register_line,
        mid_documents.document_sha256 as mid_document_sha256,
        case
            when mid_documents.document_sha256 is not null then 'accepted_document'
            when meter_matches.mid_status = 'integrated' then 'register'
            when meter_matches.mid_status <> 'none' and charge_points.mid_certificate is not null then 'partner_certificate'
        end as mid_evidence,
        customers.mandate_valid_from,
        customers.mandate_valid_until,
        customers.revoked_at,
        list_filter([
            case when customers.customer_ref is null then 'customer_unknown' end,
            -- the register's status as mid_register.mid_reason maps it: optional and external are a check
            -- of the unit, never a rejection; a MID document of the unit a person accepted passes whatever it says
            case when meter_matches.mid_status = 'none' and mid_documents.document_sha256 is null
                then 'mid_meter_absent' end,
            case when charge_points.mid_certificate is null and mid_documents.document_sha256 is null then
                case coalesce(meter_matches.mid_status, 'unmatched')
                    when 'optional' then 'mid_unit_check_needed'
                    when 'external' then 'mid_external_meter_needed'
                    when 'unknown' then 'mid_evidence_missing'
                    when 'unmatched' then 'mid_evidence_missing'
                end
            end,
            case when charge_points.meter_serial is null and charger_meters.meter_serial is null
                then 'meter_serial_missing' end,
            case when upper(replace(charge_points.meter_serial, ' ', ''))
                    <> upper(replace(charger_meters.meter_serial, ' ', ''))
                then 'meter_serial_mismatch' end,
            case when customers.customer_ref is not null and not customer_checks.has_valid_ean then 'ean_invalid' end,
            case when customers.customer_ref is not null and not customer_checks.has_dutch_postal_code
                then 'postal_code_invalid' end,
            case when customers.customer_ref is not null and not (
                    month(customers.mandate_valid_from) = 1 and day(customers.mandate_valid_from) = 1
                    and month(customers.mandate_valid_until) = 12 and day(customers.mandate_valid_until) = 31)
                then 'mandate_not_whole_years' end,
            case when customers.mandate_valid_from > quarter.quarter_last_day then 'mandate_not_started' end,
            case when customers.mandate_valid_until < quarter.quarter_start then 'mandate_expired' end,
            case when customers.revoked_at <= quarter.window_start then 'mandate_revoked' end,
            case when customers.mandate_signed_at > quarter.booked_at then 'mandate_not_signed' end,
            case when customers.customer_ref is not null and not customers.has_signing_record
                then 'mandate_signing_record_missing' end,
            case when customers.has_signing_record and not customers.is_consent_text_known
                then 'mandate_consent_text_unknown' end,
            case when customers.is_renewed_tacitly then 'mandate_renewed_tacitly' end,
            case when not claims.is_holder then 'ean_claimed_by_another_mandate' end,
            case when contracts.payout_model = 'direct' and not customer_checks.has_valid_iban
                then 'iban_invalid' end,
            case when customers.customer_ref is not null and not customer_checks.has_xml_text
                then 'customer_text_not_writable' end
        ], lambda reason: reason is not null) as reason_list
    from charge_points
    cross join quarter
    left join customers
        on charge_points.partner_id = customers.partner_id
        and charge_points.customer_ref = customers.customer_ref
    left join customer_checks
        on charge_points.partner_id = customer_checks.partner_id
        and charge_points.customer_ref = customer_checks.customer_ref
    left join contracts
        on charge_points.partner_id = contracts.partner_id
    left join meter_matches
        on charge_points.brand is not distinct from meter_matches.brand
        and charge_points.model is not distinct from meter_matches.model
    left join mid_documents
        on charge_points.partner_id = mid_documents.partner_id
        and charge_points.charge_point_ref = mid_documents.charge_point_ref
    left join charger_meters
        on charge_points.partner_id = charger_meters.partner_id
        and charge_points.charge_point_ref = charger_meters.charge_point_ref
    left join claims
        on customers.partner_id = claims.partner_id
        and customers.customer_ref = claims.customer_ref
        and year(quarter.quarter_start) = claims.claim_year
),

reasons_explained as (
    select
        checked.partner_id,
        checked.charge_point_ref,
        string_agg(reason_catalogue.action, '; ' order by list_position(checked.reason_list, reason_catalogue.reason))
            as actions,
        bool_and(reason_catalogue.can_be_fixed) as every_reason_can_be_fixed
    from checked
    inner join reason_catalogue
        on list_contains(checked.reason_list, reason_catalogue.reason)
    group by checked.partner_id, checked.charge_point_ref
),

energy as (
    select
        pieces.partner_id,
        pieces.charge_point_ref,
        cast(sum(pieces.kwh) as decimal(18, 6)) as kwh,
        count(*) as session_count,
        -- a mandate revoked inside the quarter: only sessions that began before the revocation count
        cast(coalesce(sum(pieces.kwh) filter (where checked.revoked_at is null or pieces.started_at < checked.revoked_at), 0)
            as decimal(18, 6)) as kwh_within_mandate,
        count(*) filter (where checked.revoked_at is null or pieces.started_at < checked.revoked_at)
            as sessions_within_mandate
    from pieces
    inner join checked
        on pieces.partner_id = checked.partner_id
        and pieces.charge_point_ref = checked.charge_point_ref
    group by pieces.partner_id, pieces.charge_point_ref
),

final as (
    select
        checked.partner_id,
        checked.charge_point_ref,
        checked.customer_ref,
        checked.ean,
        checked.quarter_start,
        cast(year(checked.quarter_start) as integer) as delivery_year,
        checked.brand,
        checked.model,
        coalesce(checked.mid_status, 'unmatched') as mid_status,
        checked.mid_evidence,
        checked.mid_document_sha256,
        len(checked.reason_list) = 0 as is_eligible,
        case
            when len(checked.reason_list) = 0 then 'eligible'
            when reasons_explained.every_reason_can_be_fixed then 'action_needed'
            else 'not_eligible'
        end as eligibility_status,
        nullif(array_to_string(checked.reason_list, ';'), '') as reasons,
        reasons_explained.actions,
        case when len(checked.reason_list) = 0
            then greatest(checked.quarter_start, checked.mandate_valid_from) end as delivery_period_start,
        case when len(checked.reason_list) = 0
            then least(
                checked.quarter_last_day,
                checked.mandate_valid_until,
                cast(timezone('Europe/Amsterdam', checked.revoked_at - interval 1 microsecond) as date)
            ) end as delivery_period_end,
        coalesce(energy.kwh, 0) as kwh,
        coalesce(energy.session_count, 0) as session_count,
        cast(case when len(checked.reason_list) = 0 then coalesce(energy.kwh_within_mandate, 0) else 0 end
            as decimal(18, 6)) as eligible_kwh,
        case when len(checked.reason_list) = 0 then coalesce(energy.sessions_within_mandate, 0) else 0 end
            as eligible_session_count
    from checked
    left join reasons_explained
        on checked.partner_id = reasons_explained.partner_id
        and checked.charge_point_ref = reasons_explained.charge_point_ref
    left join energy
        on checked.partner_id = energy.partner_id
        and checked.charge_point_ref = energy.charge_point_ref
)

select * from final
