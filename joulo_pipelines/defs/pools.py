# DuckDB lets one process open the warehouse for writing, and no other process open it at all meanwhile.
# Every asset and asset check that opens warehouse.duckdb names this pool; the instance limits it to one slot
# (deploy/dagster.yaml), so writers from any run, executor or process queue instead of failing on the lock.
WAREHOUSE_POOL = "duckdb_warehouse"
