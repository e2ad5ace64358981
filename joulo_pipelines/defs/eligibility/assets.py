from decimal import Decimal

import dagster as dg

from joulo_pipelines.defs.owners import DATA_TEAM
from joulo_pipelines.defs.partitions import ONE_PARTITION_PER_RUN, quarterly_partitions
from joulo_pipelines.defs.pools import WAREHOUSE_POOL
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib import warehouse
from joulo_pipelines.lib.eligibility.ean_claim_review import write_review
from joulo_pipelines.lib.eligibility.mid_scan import (
    DEFAULT_PRICE_PER_ERE,
    ere_per_kwh_for,
    summarise,
    write_scan,
)
from joulo_pipelines.lib.eligibility.report import partner_scan_frames
from joulo_pipelines.lib.log_scrub import errors_scrubbed, relative_path
from joulo_pipelines.lib.quarters import Quarter


class MidScanConfig(dg.Config):
    price_per_ere: str = str(DEFAULT_PRICE_PER_ERE)  # EUR, a decimal string so no float touches money


@dg.asset(
    key=["exports", "mid_scan"],
    group_name="eligibility",
    owners=DATA_TEAM,
    kinds={"duckdb", "html"},
    partitions_def=quarterly_partitions,
    backfill_policy=ONE_PARTITION_PER_RUN,
    deps=[dg.AssetKey(["marts", "fct_charge_point_eligibility"]), dg.AssetKey(["marts", "dim_ere_factors"])],
    pool=WAREHOUSE_POOL,  # reads warehouse.duckdb, which no other process may have open for writing
    description="The MID scan for every onboarded partner, from the quarter's eligibility: "
                "exports/{YYYY}-Q{n}/mid_scan/{partner}/mid_scan.html and mid_scan.csv.",
)
def mid_scan(context: dg.AssetExecutionContext, config: MidScanConfig, data_dir: DataDirResource):
    folder = data_dir.data_dir
    quarter = Quarter.parse(context.partition_key)
    price = Decimal(config.price_per_ere)
    written = {}
    with errors_scrubbed(folder.root):
        ere_per_kwh = ere_per_kwh_for(folder, quarter.year)
        for partner_id, brand, scan in partner_scan_frames(folder, quarter):
            summary = summarise(scan, brand.display_name, quarter.year, ere_per_kwh, price)
            write_scan(scan, summary, folder.exports / quarter.label / "mid_scan" / partner_id, brand)
            written[partner_id] = summary.counts
    return dg.MaterializeResult(metadata={
        "partners": len(written),
        "charge_points_by_status": dg.MetadataValue.json(written),
        "folder": relative_path(folder.exports / quarter.label / "mid_scan", folder.root),
    })


EAN_CLAIM_REVIEW = dg.AssetKey(["exports", "ean_claim_review"])


@dg.asset(
    key=EAN_CLAIM_REVIEW,
    group_name="eligibility",
    owners=DATA_TEAM,
    kinds={"duckdb", "csv"},
    partitions_def=quarterly_partitions,
    backfill_policy=ONE_PARTITION_PER_RUN,
    deps=[dg.AssetKey(["marts", "fct_ean_claim_conflicts"]), dg.AssetKey(["marts", "fct_charge_point_eligibility"])],
    pool=WAREHOUSE_POOL,
    check_specs=[dg.AssetCheckSpec("no_refused_ean_claims", asset=EAN_CLAIM_REVIEW,
                                   description="No claim on an EAN that another mandate holds this year.")],
    description="For the operators, never for partners: the delivery year's refused EAN claims (a connection "
                "another mandate already holds) with the holder, in exports/review/ean_claim_conflicts_{YYYY}.csv.",
)
def ean_claim_review(context: dg.AssetExecutionContext, data_dir: DataDirResource):
    folder = data_dir.data_dir
    year = Quarter.parse(context.partition_key).year
    path = folder.exports / "review" / f"ean_claim_conflicts_{year}.csv"
    with warehouse.connect(folder, read_only=True) as con:
        refused = write_review(con, year, path)
    # counts per refused partner only: which customer, EAN or holder is in the file, not in Dagster
    yield dg.MaterializeResult(metadata={"refused_claims": sum(refused.values()),
                                         "file": str(path.relative_to(folder.root))})
    yield dg.AssetCheckResult(
        check_name="no_refused_ean_claims", passed=not refused, severity=dg.AssetCheckSeverity.WARN,
        metadata={"refused_claims_by_partner": dg.MetadataValue.json(refused)})
