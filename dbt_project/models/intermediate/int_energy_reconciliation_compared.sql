-- Every kWh explained: per partner, EAN and quarter, the raw delivered kWh against the clean kWh of the
-- energy mart plus the adjusted kWh of fct_energy_adjustments, which must be equal, exactly. The one place
-- the rule lives: the singular test assert_raw_kwh_is_clean_plus_adjusted fails the build on a row that
-- does not reconcile, and the Dagster check energy_reconciles reports them.
with amounts as (
    select partner_id, ean, quarter_start, raw_kwh, 0 as clean_kwh, 0 as adjusted_kwh
    from {{ ref('fct_energy_reconciliation') }}

    union all

    select partner_id, ean, quarter_start, 0, kwh, 0
    from {{ ref('fct_charge_point_quarter_energy') }}

    union all

    select partner_id, ean, quarter_start, 0, 0, kwh
    from {{ ref('fct_energy_adjustments') }}
),

compared as (
    select
        partner_id,
        ean,
        quarter_start,
        sum(raw_kwh) as raw_kwh,
        sum(clean_kwh) as clean_kwh,
        sum(adjusted_kwh) as adjusted_kwh
    from amounts
    group by partner_id, ean, quarter_start
),

final as (
    select *, raw_kwh = clean_kwh + adjusted_kwh as is_reconciled
    from compared
)

select * from final
