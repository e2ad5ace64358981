-- Clock-aligned import register readings (context Sample.Clock) from every OCPP message that carries
-- them: the readings the quarter split can lean on. A reading a charger reported twice (in MeterValues and
-- in a TransactionEvent) counts once.
select
    partner_id,
    charge_point_ref,
    sampled_at as read_at,
    cast(round(register_wh) as bigint) as register_wh,
    message_id,
    file_sha256,
    source_file,
    received_at,
    line_number
from {{ ref('int_ocpp_register_samples') }}
where context = 'Sample.Clock' and measurand = 'Energy.Active.Import.Register'
qualify row_number() over (
    partition by partner_id, charge_point_ref, sampled_at order by received_at, source_file, line_number) = 1
