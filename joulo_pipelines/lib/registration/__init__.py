"""Quarterly REV registration: booking lines, the append-only ledger, the booking files and their XSD,
REV result imports, reconciliation and the verifier's audit pack. Plain Python and SQL, no Dagster."""
