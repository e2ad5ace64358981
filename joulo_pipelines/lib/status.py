"""Read-only views for people at a terminal: what landed, what was quarantined, what each quarter holds."""

from __future__ import annotations

import duckdb

from joulo_pipelines.lib import warehouse
from joulo_pipelines.lib.paths import DataDir


def files_by_partner(data_dir: DataDir) -> list[tuple]:
    """(partner, files landed, files with quarantined rows, files rejected whole, rows loaded, rows quarantined)."""
    return _from_manifests(data_dir, """
        select partner_id,
               count(*) filter (where status in ('landed', 'landed_with_errors')),
               count(*) filter (where status = 'landed_with_errors'),
               count(*) filter (where status = 'rejected'),
               sum(rows_loaded), sum(rows_rejected)
        from read_json($pattern, format = 'auto', columns = {partner_id: 'VARCHAR', status: 'VARCHAR',
                       rows_loaded: 'BIGINT', rows_rejected: 'BIGINT'})
        where partner_id is not null
        group by partner_id order by partner_id
        """)


def files_refused(data_dir: DataDir) -> list[tuple]:
    """(partner, file, reason) of every file rejected whole and every inbox entry the intake would not read
    (links, FIFOs): the reasons hold no cell values."""
    return _from_manifests(data_dir, """
        select partner_id, source_file, coalesce(array_to_string(reasons, '; '), 'see quarantine_report')
        from read_json($pattern, format = 'auto', columns = {partner_id: 'VARCHAR', source_file: 'VARCHAR',
                       status: 'VARCHAR', reasons: 'VARCHAR[]'})
        where status = 'rejected' and partner_id is not null
        order by partner_id, source_file
        """)


def _from_manifests(data_dir: DataDir, sql: str) -> list[tuple]:
    """`sql` over every landing manifest (`$pattern`); no rows before the first file landed. The columns are
    named in `sql`: the intake's empty manifest (landing/_schema/) is all there is until a partner delivers."""
    if not any(data_dir.landing.glob("*/manifest/*.json")):
        return []
    with duckdb.connect() as con:
        return con.execute(sql, {"pattern": str(data_dir.landing / "*" / "manifest" / "*.json")}).fetchall()


def quarter_totals(data_dir: DataDir) -> list[tuple]:
    """(quarter_start, partner, EANs, charge points, sessions, kWh, ERE) from the marts."""
    if not data_dir.warehouse.exists():
        return []
    with warehouse.connect(data_dir, read_only=True) as con:
        if not warehouse.has_table(con, "marts", "fct_ean_quarter_energy"):
            return []
        return con.execute(
            """
            select quarter_start, partner_id, count(*) as eans, sum(charge_point_count), sum(session_count),
                   sum(kwh), sum(ere_estimate)
            from marts.fct_ean_quarter_energy
            group by quarter_start, partner_id order by quarter_start, partner_id
            """
        ).fetchall()


def adjustments_by_reason(data_dir: DataDir) -> list[tuple]:
    """(partner, reason, sessions, kWh) over every quarter built: the kWh that did not count, and why."""
    if not data_dir.warehouse.exists():
        return []
    with warehouse.connect(data_dir, read_only=True) as con:
        if not warehouse.has_table(con, "marts", "fct_energy_adjustments"):
            return []
        return con.execute(
            """
            select partner_id, reason_code, count(distinct (session_ref, source_record)), sum(kwh)
            from marts.fct_energy_adjustments
            group by partner_id, reason_code order by partner_id, reason_code
            """
        ).fetchall()


def reconciliation_breaks(con: duckdb.DuckDBPyConnection) -> tuple[int, list[tuple]]:
    """(groups checked, breaks) of intermediate.int_energy_reconciliation_compared, where the rule raw
    delivered = clean + adjusted kWh lives. A break is (quarter_start, partner, raw, clean, adjusted),
    without the EAN: it identifies a household and this goes into logs and Dagster metadata."""
    rows = con.execute("""
        select quarter_start, partner_id, raw_kwh, clean_kwh, adjusted_kwh, is_reconciled
        from intermediate.int_energy_reconciliation_compared
        order by all
    """).fetchall()
    return len(rows), [row[:5] for row in rows if not row[5]]
