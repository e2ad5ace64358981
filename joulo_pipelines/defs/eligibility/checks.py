"""pandera models of customers, charge points and the eligibility output as Dagster asset checks.

Customers and charge points are partner data: failing rows are expected mess that eligibility turns into
reasons, so those checks warn. The eligibility output's invariants (e.g. no kWh for an ineligible charge
point) failing is a bug, so that check errors. Metadata holds counts per rule, never values.
"""

import dagster as dg

from joulo_pipelines.defs.pools import WAREHOUSE_POOL
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib import warehouse
from joulo_pipelines.lib.eligibility.pandera_models import (
    ChargePointModel,
    CustomerModel,
    EligibilityModel,
    failing_rows_by_rule,
)
from joulo_pipelines.lib.log_scrub import errors_scrubbed

# Each check reads warehouse.duckdb in a step of its own (its own process under the multiprocess executor):
# in the pool, like every other reader and writer of it.
# Only columns without personal data are read (no names, emails, IBANs, street addresses).
_QUERIES = {
    "customers": "select partner_id, customer_ref, ean, postal_code, mandate_valid_from, mandate_valid_until "
                 "from intermediate.int_customers_latest",
    "charge_points": "select partner_id, charge_point_ref, customer_ref, brand, model, meter_serial, mid_certificate "
                     "from intermediate.int_charge_points_latest",
    "eligibility": "select partner_id, charge_point_ref, quarter_start, is_eligible, eligibility_status, reasons, "
                   "delivery_period_start, delivery_period_end, kwh, eligible_kwh "
                   "from marts.fct_charge_point_eligibility",
}


def _check(data_dir: DataDirResource, name: str, model, severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    with errors_scrubbed(data_dir.data_dir.root), warehouse.connect(data_dir.data_dir, read_only=True) as con:
        frame = con.execute(_QUERIES[name]).df()
    failing = failing_rows_by_rule(model, frame)
    return dg.AssetCheckResult(
        passed=not failing,
        severity=severity,
        metadata={"rows": len(frame), "failing_rows_by_rule": dg.MetadataValue.json(failing)},
    )


@dg.asset_check(asset=dg.AssetKey(["intermediate", "int_customers_latest"]), blocking=False, pool=WAREHOUSE_POOL,
                description="Customers against CustomerModel: EAN (GS1, 871), Dutch postal code, whole-year mandates.")
def customers_conform_to_customer_model(data_dir: DataDirResource) -> dg.AssetCheckResult:
    return _check(data_dir, "customers", CustomerModel, dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset=dg.AssetKey(["intermediate", "int_charge_points_latest"]), blocking=False, pool=WAREHOUSE_POOL,
                description="Charge points against ChargePointModel: meter serial present, one row per charge point.")
def charge_points_conform_to_charge_point_model(data_dir: DataDirResource) -> dg.AssetCheckResult:
    return _check(data_dir, "charge_points", ChargePointModel, dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset=dg.AssetKey(["marts", "fct_charge_point_eligibility"]), blocking=True, pool=WAREHOUSE_POOL,
                description="Eligibility invariants: no kWh booked for an ineligible charge point, and more.")
def eligibility_holds_its_invariants(data_dir: DataDirResource) -> dg.AssetCheckResult:
    return _check(data_dir, "eligibility", EligibilityModel, dg.AssetCheckSeverity.ERROR)
