"""The population a verifier samples from: every submitted booking line of a delivery year, with its lineage
as far as the warehouse can tell, under exports/verification/<year>/:

population.csv            a row per booking line: booking, line, who submitted (and approved) it when, the
                          file and line its mandate came from
population_quarters.csv   a row per line and delivery quarter it books, with the EAN's sessions that quarter
population_sources.csv    per partner, EAN and delivery quarter: each source file (and its SHA-256) the
                          sessions came from, with their count and kWh
population.json           the same, nested per line

Names and street addresses stay out: the verifier reaches them through the audit pack of their sample."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from joulo_pipelines.lib import people_csv
from joulo_pipelines.lib.paths import DataDir

# A line's connection as the register has it: the latest one sent for its EAN up to the line's booking
# (ledger.rev_connections holds a row only where a booking sent or re-sent it).
_LINES = """
    select lines.booking_id, submissions.booking_kind, lines.booking_quarter_start, lines.delivery_year,
           lines.line_number, lines.kind, lines.partner_id, lines.customer_ref, lines.ean,
           lines.delivery_quarter_start, lines.delivery_period_start, lines.delivery_period_end, lines.kwh,
           lines.previous_kwh, lines.amends_booking_id, lines.register_delivery_id, lines.ere_per_kwh,
           lines.ere_estimate, connections.postal_code, connections.city, connections.mandate_issued_on,
           connections.mandate_valid_from, connections.mandate_valid_until, lines.reason,
           submissions.prepared_at, submissions.prepared_by, submissions.approved_at, submissions.approved_by,
           mandates.source_file as mandate_source_file, mandates.line_number as mandate_line_number,
           mandates.file_sha256 as mandate_file_sha256
    from ledger.rev_booking_lines as lines
    join ledger.rev_submissions as submissions using (booking_id)
    left join (
        select sent.*, sent_in.submission_seq
        from ledger.rev_connections as sent
        join ledger.rev_submissions as sent_in using (booking_id)
    ) as connections
        on lines.partner_id = connections.partner_id and lines.ean = connections.ean
        and connections.submission_seq <= submissions.submission_seq
    left join intermediate.int_customers_latest as mandates
        on lines.partner_id = mandates.partner_id and lines.customer_ref = mandates.customer_ref
    where lines.delivery_year = {year}
    qualify row_number() over (partition by lines.booking_id, lines.line_number
                               order by connections.submission_seq desc nulls last) = 1
"""

_QUARTERS = """
    with parts as (
        select parts.booking_id, parts.line_number, parts.partner_id, parts.ean, parts.delivery_quarter_start,
               parts.kwh as booked_kwh
        from ledger.rev_booking_line_quarters as parts
        semi join ({lines}) as lines using (booking_id, line_number)
    )

    select parts.*, energy.session_count, energy.eligible_session_count, energy.eligible_kwh
    from parts
    left join marts.fct_ean_quarter_energy as energy
        on parts.partner_id = energy.partner_id and parts.ean = energy.ean
        and parts.delivery_quarter_start = energy.quarter_start
"""

# A session counts for every quarter it overlaps (sessions split at quarter edges are in both).
_SOURCES = """
    with ean_quarters as (
        select distinct partner_id, ean, delivery_quarter_start from ({quarters})
    )

    select q.partner_id, q.ean, q.delivery_quarter_start, sessions.source_type, sessions.source_file,
           sessions.file_sha256, count(*) as sessions, sum(sessions.kwh) as kwh
    from ean_quarters as q
    join marts.fct_charging_sessions as sessions
        on sessions.partner_id = q.partner_id and sessions.ean = q.ean
        and timezone('Europe/Amsterdam', sessions.started_at) < q.delivery_quarter_start + interval 3 month
        and timezone('Europe/Amsterdam', sessions.ended_at) >= q.delivery_quarter_start
    group by all
"""


@dataclass(frozen=True)
class Population:
    folder: Path
    lines: int
    eans: int
    kwh: Decimal
    csv_sha256: str


def folder(data_dir: DataDir, year: int) -> Path:
    return data_dir.exports / "verification" / str(year)


def lines_sql(year: int) -> str:
    return _LINES.format(year=int(year))


def population_eans(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, set[str]]:
    """Each EAN booked in the year, with the partners it was booked for."""
    eans: dict[str, set[str]] = {}
    for ean, partner in con.execute("select distinct ean, partner_id from ledger.rev_booking_lines "
                                    "where delivery_year = ?", [year]).fetchall():
        eans.setdefault(ean, set()).add(partner)
    return eans


def export_population(con: duckdb.DuckDBPyConnection, data_dir: DataDir, year: int) -> Population:
    lines = lines_sql(year)
    # an amendment line holds its delivery's new total: the year's kWh are the sum of the lines' changes
    count, eans, kwh = con.execute(f"select count(*), count(distinct ean), sum(kwh - previous_kwh) from ({lines})").fetchone()
    if not count:
        raise RuntimeError(f"no submitted booking line of delivery year {year}: nothing to verify yet "
                           "(submit the year's bookings first)")
    quarters = _QUARTERS.format(lines=lines)
    sources = _SOURCES.format(quarters=quarters)
    target = folder(data_dir, year)
    target.mkdir(parents=True, exist_ok=True)
    order = "order by booking_id, line_number"
    people_csv.copy_query(con, f"select * from ({lines}) {order}", target / "population.csv")
    people_csv.copy_query(con, f"select * from ({quarters}) {order}, delivery_quarter_start",
                          target / "population_quarters.csv")
    people_csv.copy_query(con, f"select * from ({sources}) order by all", target / "population_sources.csv")
    _write_json(con, lines, quarters, sources, year, target / "population.json")
    digest = hashlib.sha256((target / "population.csv").read_bytes()).hexdigest()
    return Population(target, count, eans, kwh, digest)


def _write_json(con: duckdb.DuckDBPyConnection, lines: str, quarters: str, sources: str, year: int,
               target: Path) -> None:
    # DuckDB writes the JSON itself: its decimals stay exact (a float would round the ERE estimate).
    nested = f"""
        with sources as (
            select partner_id, ean, delivery_quarter_start,
                   list({{'source_type': source_type, 'source_file': source_file, 'file_sha256': file_sha256,
                         'sessions': sessions, 'kwh': kwh}} order by source_file) as source_files
            from ({sources}) group by all
        ),

        quarters as (
            select q.booking_id, q.line_number,
                   list({{'delivery_quarter_start': q.delivery_quarter_start, 'booked_kwh': q.booked_kwh,
                         'session_count': q.session_count, 'eligible_session_count': q.eligible_session_count,
                         'eligible_kwh': q.eligible_kwh, 'source_files': coalesce(s.source_files, [])}}
                        order by q.delivery_quarter_start) as delivery_quarters
            from ({quarters}) as q
            left join sources as s using (partner_id, ean, delivery_quarter_start)
            group by all
        ),

        final as (
            select lines.*, coalesce(q.delivery_quarters, []) as delivery_quarters
            from ({lines}) as lines
            left join quarters as q using (booking_id, line_number)
        )

        select to_json({{'delivery_year': {int(year)}, 'lines': list(final order by booking_id, line_number)}})::varchar
        from final
    """
    target.write_text(con.execute(nested).fetchone()[0] + "\n")
