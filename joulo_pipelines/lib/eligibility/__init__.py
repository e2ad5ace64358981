"""Eligibility: which charge points qualify and why not (the rules and their reasons, the MID meter register,
the MID scan for prospects, the pandera models of the rows the rules read, the report of a quarter's verdicts
and the review of EAN claims). The verdicts themselves are dbt's (models/*/eligibility/)."""
