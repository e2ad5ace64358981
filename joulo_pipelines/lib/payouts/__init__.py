"""Payouts: what each customer (or partner) is owed per quarter, the append-only ledger that freezes it,
and the files and emails that pay it (SEPA pain.001, statements, white-label payout emails)."""
