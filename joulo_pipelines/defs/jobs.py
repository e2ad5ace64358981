import dagster as dg

# Everything partitioned by quarter, from the warehouse models to the exports (the verification year is
# partitioned by year: verification_job). In one process: DuckDB takes one writer at a time.
quarter_job = dg.define_asset_job(
    "quarter_job",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("intake", "verification"),
    executor_def=dg.in_process_executor,
    description="Build one quarter partition end to end.",
)
