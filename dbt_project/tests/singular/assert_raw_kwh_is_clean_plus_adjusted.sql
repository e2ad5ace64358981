-- Every kWh explained (int_energy_reconciliation_compared): rows returned are the failures.
select * from {{ ref('int_energy_reconciliation_compared') }}
where not is_reconciled
