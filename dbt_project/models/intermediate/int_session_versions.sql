-- Every delivered version of every session, numbered in delivery order, with the energy it claims. The
-- latest delivery of a session_ref wins (the order of the latest_delivery macro); an earlier version is an
-- exact duplicate when it says the same as the winner, else it was superseded by a correction. Nothing is
-- dropped here: versions that lose become adjustments, so every delivered kWh stays explained.
-- A version whose energy is beyond the plausible bound (var max_session_kwh) carries no delivered_kwh or
-- export_kwh: its claim is kept as text (energy_claim) for the exclusion's detail, so no arithmetic
-- downstream ever sees a number that could overflow, whichever version wins.
-- Nearly every session is delivered once: only the redelivered ones go through the ordering window (one
-- sort, the winner's content from the same window), the rest win as they are.
{{ session_versions(ref('int_sessions_unioned')) }}
