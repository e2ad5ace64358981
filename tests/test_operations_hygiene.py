"""No customer's name, email or IBAN in anything Dagster keeps of a full demo run: the event records
(log messages, metadata, errors) and the captured compute logs and storage under DAGSTER_HOME."""

from __future__ import annotations

import csv

import dagster as dg
from dagster_shared.serdes import serialize_value


def _personal_data(data_dir) -> set[str]:
    values = set()
    for customers in data_dir.inbox.glob("*/customers*.csv"):
        with customers.open(encoding="utf-8-sig", newline="") as handle:
            sample = handle.read(4096)
            handle.seek(0)
            for row in csv.DictReader(handle, delimiter=";" if sample.count(";") > sample.count(",") else ","):
                values.update(row[column].strip() for column in ("name", "email", "iban", "account_holder")
                              if (row.get(column) or "").strip())
    return values


def test_the_demo_runs_records_and_logs_hold_no_customer_names_emails_or_ibans(in_demo_world):
    personal = _personal_data(in_demo_world)
    assert len(personal) > 100  # the demo world's customers were found

    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert {run.job_name for run in runs} >= {"ingest_job", "quarter_job"}
        records = "\n".join(serialize_value(entry) for run in runs for entry in instance.all_logs(run.run_id))
    assert "ASSET_MATERIALIZATION" in records
    stored = b"".join(path.read_bytes() for path in in_demo_world.dagster_home.rglob("*") if path.is_file())

    leaked = sorted(value for value in personal if value in records or value.encode() in stored)
    assert leaked == []

