from decimal import Decimal

import dagster as dg

from joulo_pipelines.defs.partitions import quarterly_partitions
from joulo_pipelines.defs.pools import WAREHOUSE_POOL
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib.mid_scan import DEFAULT_PRICE_PER_ERE, summarise, write_scan
from joulo_pipelines.lib.eligibility_report import partner_scan_frames
from joulo_pipelines.lib.log_scrub import errors_scrubbed, relative_path
from joulo_pipelines.lib.quarters import Quarter


class MidScanConfig(dg.Config):
    price_per_ere: str = str(DEFAULT_PRICE_PER_ERE)  # EUR, a decimal string so no float touches money


@dg.asset(
    key=["exports", "mid_scan"],
    group_name="eligibility",
    partitions_def=quarterly_partitions,
    deps=[dg.AssetKey(["marts", "fct_charge_point_eligibility"])],
    pool=WAREHOUSE_POOL,  # reads warehouse.duckdb, which no other process may have open for writing
    description="The MID scan for every onboarded partner, from the quarter's eligibility: "
                "exports/<YYYY>-Q<n>/mid_scan/<partner>/mid_scan.html and mid_scan.csv.",
)
def mid_scan(context: dg.AssetExecutionContext, config: MidScanConfig, data_dir: DataDirResource):
    folder = data_dir.data_dir
    quarter = Quarter.parse(context.partition_key)
    price = Decimal(config.price_per_ere)
    written = {}
    with errors_scrubbed(folder.root):
        for partner_id, title, scan in partner_scan_frames(folder, quarter):
            summary = summarise(scan, title, quarter.year, price)
            write_scan(scan, summary, folder.exports / quarter.label / "mid_scan" / partner_id)
            written[partner_id] = summary.counts
    return dg.MaterializeResult(metadata={
        "partners": len(written),
        "charge_points_by_status": dg.MetadataValue.json(written),
        "folder": relative_path(folder.exports / quarter.label / "mid_scan", folder.root),
    })
