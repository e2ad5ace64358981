"""The partner API's view of the pipeline: after every quarter run (it is part of `quarter_job`), after
every payout approval, and hourly (REV submissions by the CLI, payment dates that arrive), the asset
`api/status_snapshot` writes customer status, quarter summaries and new webhook events into the API's
store. The API process itself never opens the warehouse."""

import dagster as dg

from joulo_pipelines.defs.owners import DATA_TEAM
from joulo_pipelines.defs.partitions import ONE_PARTITION_PER_RUN, quarterly_partitions
from joulo_pipelines.defs.payouts.assets import PAYOUTS_KEY, payouts_job
from joulo_pipelines.defs.pools import WAREHOUSE_POOL
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib import warehouse
from joulo_pipelines.lib.api.snapshot import take_snapshot
from joulo_pipelines.lib.dashboard.snapshot import publish as publish_dashboard_snapshot
from joulo_pipelines.lib.log_scrub import errors_scrubbed

STATUS_SNAPSHOT = dg.AssetKey(["api", "status_snapshot"])


@dg.asset(
    key=STATUS_SNAPSHOT,
    group_name="api",
    owners=DATA_TEAM,
    kinds={"duckdb", "json"},
    partitions_def=quarterly_partitions,
    backfill_policy=ONE_PARTITION_PER_RUN,
    pool=WAREHOUSE_POOL,
    deps=[PAYOUTS_KEY, dg.AssetKey(["marts", "fct_charge_point_eligibility"]),
          dg.AssetKey(["marts", "fct_customer_quarter_status"]),
          dg.AssetKey(["marts", "fct_ean_quarter_energy"])],
    description="Every customer's status (eligibility and why, kWh and ERE this year, next and last payout) "
                "and every partner's quarter summaries, over all quarters built so far whichever partition "
                "ran, into {data_dir}/api/api.sqlite; plus the webhook events the changes call for, and the "
                "dashboard's read-only copy of the tables the partner reports read ({data_dir}/api/dashboard.duckdb).",
)
def status_snapshot(context: dg.AssetExecutionContext, data_dir: DataDirResource):
    folder = data_dir.data_dir
    with errors_scrubbed(folder.root), warehouse.connect(folder, read_only=False) as con:
        result = take_snapshot(folder, con)
        dashboard_tables = publish_dashboard_snapshot(folder, con)
    # Counts only: customer references and verdicts are for the partner's API, not the run log.
    return dg.MaterializeResult(metadata={
        "customers_per_partner": dg.MetadataValue.json(result.customers),
        "quarter_summaries": result.quarters,
        "new_events": dg.MetadataValue.json(result.events),
        "dashboard_snapshot_tables": dashboard_tables,
    })


api_snapshot_job = dg.define_asset_job(
    "api_snapshot_job",
    selection=dg.AssetSelection.assets(STATUS_SNAPSHOT),
    executor_def=dg.in_process_executor,
    description="Refresh the partner API's status snapshot and webhook events.",
)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[payouts_job],
    request_job=api_snapshot_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After a payout approval: payout.approved events and the customers' payouts in the API.",
)
def api_snapshot_after_payouts(context: dg.RunStatusSensorContext):
    partition = context.dagster_run.tags.get("dagster/partition")
    if partition:
        return dg.RunRequest(run_key=context.dagster_run.run_id, partition_key=partition)
    return dg.SkipReason("the payouts run had no partition")


@dg.schedule(
    job=api_snapshot_job,
    cron_schedule="15 * * * *",
    execution_timezone="Europe/Amsterdam",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly: booking.submitted after `joulo rev submit`, payout.sent once a payment date comes.",
)
def api_snapshot_hourly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(partition_key=quarterly_partitions.get_last_partition_key())
