import dagster as dg

# Quarters of delivery, keyed by their first day (2026-01-01 is 2026-Q1), in Dutch local time. The
# quarter in progress is a partition too (end_offset=1) so running totals can be built; which quarters
# are closed for booking is the platform clock's business, not the partition list's.
quarterly_partitions = dg.TimeWindowPartitionsDefinition(
    start="2026-01-01",
    cron_schedule="0 0 1 */3 *",
    fmt="%Y-%m-%d",
    timezone="Europe/Amsterdam",
    end_offset=1,
)

# Delivery years, keyed by the year (2026), for the verification year's assets. The year in progress is a
# partition too (end_offset=1), like the quarters: which year can be verified is the ledger's business.
yearly_partitions = dg.TimeWindowPartitionsDefinition(
    start="2026",
    cron_schedule="0 0 1 1 *",
    fmt="%Y",
    timezone="Europe/Amsterdam",
    end_offset=1,
)

# Every partitioned asset builds the one partition its run names (context.partition_key): a backfill of
# several quarters, years or partners is a run for each. Said on every such asset, so a job that mixes them
# (quarter_job, the dbt models among them) has one policy and Dagster nothing to warn of.
ONE_PARTITION_PER_RUN = dg.BackfillPolicy.multi_run(1)
