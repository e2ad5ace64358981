"""Partner reports: per partner and quarter, exports/{YYYY}-Q{n}/reports/{partner_id}/ with index.html (the
quarter) and year.html (the year to date); customers/{customer_ref}.html (printable statements) only for the
partner a run is configured for (`joulo reports 2026-Q1 --partner P`): the dashboard renders statements on
demand.

Part of `quarter_job`, after the stages it reads. An approval runs only `payouts_job`, so `reports_job`
(what `joulo reports 2026-Q1` starts) rebuilds the reports to show the approved payouts."""

from pathlib import Path

import dagster as dg

from joulo_pipelines.defs.owners import DATA_TEAM
from joulo_pipelines.defs.partitions import ONE_PARTITION_PER_RUN, quarterly_partitions
from joulo_pipelines.defs.pools import WAREHOUSE_POOL
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib import clock
from joulo_pipelines.lib.log_scrub import errors_scrubbed, relative_path, scrub
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.reports.render import write_reports

REPORTS_KEY = dg.AssetKey(["exports", "reports"])


class ReportsConfig(dg.Config):
    partner: str | None = None  # this partner's reports only, with every customer's statement


@dg.asset(
    key=REPORTS_KEY,
    group_name="reports",
    owners=DATA_TEAM,
    kinds={"duckdb", "html"},
    partitions_def=quarterly_partitions,
    backfill_policy=ONE_PARTITION_PER_RUN,
    pool=WAREHOUSE_POOL,  # reads warehouse.duckdb, which no other process may hold for writing meanwhile
    deps=[dg.AssetKey(["marts", "fct_charge_point_eligibility"]),
          dg.AssetKey(["marts", "fct_customer_quarter_status"]),
          dg.AssetKey(["marts", "fct_ean_quarter_energy"]),
          dg.AssetKey(["marts", "dim_ere_factors"]),
          dg.AssetKey(["marts", "fct_charge_point_quarter_energy"]),
          dg.AssetKey(["marts", "fct_session_versions"]),
          dg.AssetKey(["marts", "fct_energy_adjustments"]),
          dg.AssetKey(["marts", "fct_partner_quarter_signed_energy"]),
          dg.AssetKey(["registration", "rev_booking"]),
          dg.AssetKey(["exports", "payouts"])],
    description="Per partner under exports/{YYYY}-Q{n}/reports/{partner_id}/: index.html (customers and "
                "mandates, charge points by eligibility and reason, kWh and ERE by month, adjustments, signed "
                "share, REV booking status, payouts, data freshness) and year.html (the year to date); with the "
                "`partner` config, that partner's only, with its customer table and customers/{customer_ref}.html "
                "(printable statements). Self-contained HTML in the partner's brand; each partner's pages come only "
                "from queries filtered by that partner.",
)
def reports(context: dg.AssetExecutionContext, config: ReportsConfig, data_dir: DataDirResource):
    folder = data_dir.data_dir
    quarter = Quarter.parse(context.partition_key)
    with errors_scrubbed(folder.root):
        results = write_reports(folder, quarter, clock.today(), config.partner,
                                statements=config.partner is not None)
    failed = [r for r in results if r.state == "failed"]
    for result in failed:
        context.log.error(scrub(result.message, folder.root))
    if failed:
        raise dg.Failure(f"{quarter}: the report of {', '.join(r.partner_id for r in failed)} failed (see the log); "
                         f"the other partners' reports were written")
    return dg.MaterializeResult(metadata={
        # Counts and paths only: the pages themselves hold customers.
        "partners": dg.MetadataValue.json({r.partner_id: {"customers": r.customers, "statements": r.statements,
                                                          "folder": relative_path(Path(r.folder), folder.root)}
                                           for r in results}),
        "folder": relative_path(folder.exports / quarter.label / "reports", folder.root),
    })


reports_job = dg.define_asset_job(
    "reports_job",
    selection=dg.AssetSelection.assets(REPORTS_KEY),
    executor_def=dg.in_process_executor,
    description="Rebuild one quarter's partner reports (after approving payouts, say).",
)
