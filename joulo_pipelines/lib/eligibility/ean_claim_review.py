"""The operators' review of refused EAN claims (marts.fct_ean_claim_conflicts): a claim on a connection
another mandate already holds that year. Written for us, never for a partner: the refused partner only
sees the reason ean_claimed_by_another_mandate, the holder sees nothing at all.

The file holds keys and dates (partner ids, customer refs, EAN, signing and landing moments), no names,
addresses or IBANs; Dagster metadata holds only counts per refused partner.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from joulo_pipelines.lib.paths import write_if_changed

COLUMNS = ["claim_year", "ean", "holder_partner_id", "holder_customer_ref", "refused_partner_id",
           "refused_customer_ref", "decided_by", "holder_signed_at", "refused_signed_at", "holder_received_at",
           "refused_received_at", "refused_landed_first"]


def write_review(con: duckdb.DuckDBPyConnection, year: int, path: Path) -> dict[str, int]:
    """Write the year's refused claims to `path` (CSV, in a fixed order, so a rerun gives the same bytes)
    and return how many each refused partner has."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute("set TimeZone = 'UTC'")  # the moments are written in UTC whatever the machine's zone
    query = (f"select {', '.join(COLUMNS)} from marts.fct_ean_claim_conflicts where claim_year = {int(year)} "
             "order by ean, refused_partner_id, refused_customer_ref")
    # written beside it first: a rerun with the same conflicts keeps the file's bytes and time
    draft = path.with_name(f".{path.name}.new")
    con.execute(f"copy ({query}) to '{_quoted(draft)}' (header, delimiter ',')")
    write_if_changed(path, draft.read_bytes())
    draft.unlink()
    return dict(con.execute(
        "select refused_partner_id, count(*) from marts.fct_ean_claim_conflicts where claim_year = ? "
        "group by refused_partner_id order by refused_partner_id", [year]).fetchall())


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
