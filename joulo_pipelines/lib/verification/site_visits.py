"""A site-visit sheet per partner for the sites on the verifier's list, under
exports/verification/<year>/site_visits/<partner_id>.csv: a row per charge point at the site, with the
address, the contact (the connection holder), the charge point and meter as we have them registered, the
last meter reading we hold, and what the verifier will check there. It holds names and addresses: it is
for the verifier's visit, not for a partner."""

from __future__ import annotations

from pathlib import Path

import duckdb

from joulo_pipelines.lib import people_csv
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.verification.population import folder

CHECKS = ("the charge point and meter serial on site are those registered; the meter carries its MID marking "
          "and the certificate named; the meter's register is at or past the last reading listed; the charge "
          "point is supplied from the connection (EAN) at this address; the connection holder's mandate is on file")

_SHEET = """
    with visits as (
        select distinct visits.ean, coalesce(visits.partner_id, lines.partner_id) as partner_id, visits.location
        from verification.verifier_lists as visits
        join ledger.rev_booking_lines as lines
            on lines.ean = visits.ean and lines.delivery_year = visits.delivery_year
            and (visits.partner_id is null or visits.partner_id = lines.partner_id)
        where visits.delivery_year = {year} and visits.list_kind = 'site_visits'
            and visits.import_seq = (select max(import_seq) from verification.verifier_lists
                                     where delivery_year = {year} and list_kind = 'site_visits')
    ),

    readings as (
        select partner_id, charge_point_ref, max(read_at) as last_read_at, arg_max(register_wh, read_at) as last_register_wh
        from intermediate.int_meter_readings_unioned
        where year(timezone('Europe/Amsterdam', read_at)) <= {year}
        group by all
    )

    select visits.partner_id, visits.ean, visits.location, customers.customer_ref,
           customers.customer_name as contact_name, customers.email as contact_email,
           customers.street, customers.house_number, customers.postal_code, customers.city,
           points.charge_point_ref, points.brand, points.model, points.serial_number, points.meter_serial,
           points.mid_certificate, readings.last_read_at, readings.last_register_wh,
           ? as verifier_checks
    from visits
    join intermediate.int_customers_latest as customers
        on customers.partner_id = visits.partner_id and customers.ean = visits.ean
    left join intermediate.int_charge_points_latest as points
        on points.partner_id = customers.partner_id and points.customer_ref = customers.customer_ref
    left join readings
        on readings.partner_id = points.partner_id and readings.charge_point_ref = points.charge_point_ref
    order by visits.partner_id, visits.ean, points.charge_point_ref
"""


def write_sheets(con: duckdb.DuckDBPyConnection, data_dir: DataDir, year: int) -> list[Path]:
    """One sheet per partner with a site on the latest list; earlier sheets are replaced."""
    target = folder(data_dir, year) / "site_visits"
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.csv"):
        stale.unlink()
    con.execute("create or replace temp table site_visit_rows as " + _SHEET.format(year=int(year)), [CHECKS])
    written = []
    for (partner,) in con.execute("select distinct partner_id from site_visit_rows order by 1").fetchall():
        literal = "'" + partner.replace("'", "''") + "'"
        people_csv.copy_query(con, f"select * from site_visit_rows where partner_id = {literal} order by ean, charge_point_ref",
                              target / f"{partner}.csv")
        written.append(target / f"{partner}.csv")
    return written
