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
