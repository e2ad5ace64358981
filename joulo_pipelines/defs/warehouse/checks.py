import dagster as dg

from joulo_pipelines.defs.pools import WAREHOUSE_POOL
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib import warehouse
from joulo_pipelines.lib.log_scrub import errors_scrubbed
from joulo_pipelines.lib.status import reconciliation_breaks


@dg.asset_check(
    asset=dg.AssetKey(["marts", "fct_energy_adjustments"]),
    additional_deps=[dg.AssetKey(["intermediate", "int_energy_reconciliation_compared"])],
    description="Every kWh explained: per partner, EAN and quarter, raw delivered = clean + adjusted, exactly.",
    blocking=True,
    pool=WAREHOUSE_POOL,  # reads warehouse.duckdb, in a step of its own
)
def energy_reconciles(data_dir: DataDirResource) -> dg.AssetCheckResult:
    with errors_scrubbed(data_dir.data_dir.root), warehouse.connect(data_dir.data_dir, read_only=True) as con:
        checked, breaks = reconciliation_breaks(con)
    return dg.AssetCheckResult(
        passed=not breaks,
        metadata={
            "partner_ean_quarters_checked": checked,
            "breaks": len(breaks),
            # partner and quarter only: an EAN identifies a household
            "first_breaks": [f"{quarter} {partner}: raw {raw} != clean {clean} + adjusted {adjusted}"
                             for quarter, partner, raw, clean, adjusted in breaks[:10]],
        },
    )
