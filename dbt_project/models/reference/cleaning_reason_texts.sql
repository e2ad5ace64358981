-- The cleaning reasons (seed cleaning_reasons) in the partner's words, with the dbt vars they name filled
-- in: the figure stays in dbt_project.yml and the words in the seed, each in one place.
select
    reason_code,
    kind,
    replace(description, '{long_session_days}', '{{ var("long_session_days") }}') as description
from {{ ref('cleaning_reasons') }}
