-- ERE per kWh per delivery year (DOMAIN.md): renewable_share x reference [gCO2eq/MJ] x 3.6 [MJ/kWh] / 1000
-- [g per kg], from the seed ere_parameters. The one place the factor is computed: every ERE estimate (the
-- energy marts, the reports' months, the MID scan) reads it here. Exact decimals: the factor at 10 places;
-- rounding to whole units is the REV's, applied only where we book.
with parameters as (
    select * from {{ ref('ere_parameters') }}
),

final as (
    select
        cast(year as integer) as delivery_year,
        renewable_share,
        reference_g_co2_per_mj,
        cast(renewable_share * reference_g_co2_per_mj * 0.0036 as decimal(20, 10)) as ere_per_kwh,
        source
    from parameters
)

select * from final
