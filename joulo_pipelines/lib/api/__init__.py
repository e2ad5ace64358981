"""The partner API: enrol, revoke and follow customers over HTTP, and webhooks about what happens next.

The API process never opens the warehouse (DuckDB takes one writer, and quarter runs hold it): it keeps
its own SQLite store under `<data dir>/api/`, lands what partners send through the file intake, and reads
customer status from the snapshot that every quarter run writes into that store."""
