-- A delivery year without ERE parameters is an error, never a default: add the year to
-- data/reference/ere_parameters.csv (with its source) before booking it.
select distinct delivery_year as year_missing_from_ere_parameters_csv
from {{ ref('fct_ean_quarter_energy') }}
where ere_per_kwh is null
