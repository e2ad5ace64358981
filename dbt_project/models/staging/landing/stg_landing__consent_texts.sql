select
    consent_text_version,
    language,
    consent_text_sha256,
    consent_text
from {{ source('landing', 'consent_texts') }}
