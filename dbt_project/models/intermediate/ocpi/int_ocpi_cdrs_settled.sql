-- The OCPI CDRs that stand: the latest version of each CDR, minus credit CDRs and the CDRs they credit,
-- with the signature status every source reports.
--
-- CDRs are immutable by the spec, but a sender may still re-send one with a later last_updated; that
-- version wins. A credit CDR (is_credit, credit_reference_id) cancels the CDR it names; a corrected
-- session arrives as a new CDR with its own id.
with cdrs as (
    select * from {{ ref('stg_ocpi__cdrs') }}
),

latest as (
    select *
    from cdrs
    qualify row_number() over (
        partition by partner_id, cdr_id
        order by last_updated_at desc, received_at desc, source_file desc, line_number desc
    ) = 1
),

credits as (
    select distinct partner_id, credit_reference_id
    from latest
    where is_credit
),

standing as (
    select latest.*
    from latest
    where not latest.is_credit
        and not exists (
            select 1 from credits
            where credits.partner_id = latest.partner_id
                and credits.credit_reference_id = latest.cdr_id
        )
),

-- A valid signature only backs the energy if the signed registers say the same as total_energy; the
-- tolerance allows for the meter's resolution.
final as (
    select
        *,
        case
            when signature_check = 'verified'
                and abs(signed_energy_kwh - total_energy_kwh) <= {{ var('ocpi_signed_energy_tolerance_kwh', 0.001) }}
                then 'signed_verified'
            when signature_check in ('verified', 'invalid') then 'signed_invalid'
            else 'unsigned'
        end as signature_status,
        case
            when signature_check = 'verified'
                and abs(signed_energy_kwh - total_energy_kwh) > {{ var('ocpi_signed_energy_tolerance_kwh', 0.001) }}
                then 'signed registers give ' || signed_energy_kwh || ' kWh, total_energy says ' || total_energy_kwh
            else signature_reason
        end as signature_detail
    from standing
)

select * from final
