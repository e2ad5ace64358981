-- Each charge point with the customer and grid connection (EAN) it belongs to.
with charge_points as (
    select * from {{ ref('int_charge_points_latest') }}
),

customers as (
    select * from {{ ref('int_customers_latest') }}
),

final as (
    select
        charge_points.partner_id,
        charge_points.charge_point_ref,
        charge_points.customer_ref,
        customers.ean,
        charge_points.brand,
        charge_points.model,
        charge_points.meter_serial
    from charge_points
    left join customers
        on charge_points.partner_id = customers.partner_id
        and charge_points.customer_ref = customers.customer_ref
)

select * from final
