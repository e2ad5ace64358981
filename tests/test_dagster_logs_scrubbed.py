"""No personal data and no absolute data dir path in anything Dagster keeps: a hostile world (a customers
file with a row that is not UTF-8, a row that does not match its header, a file named after an email
address, the warehouse locked while dbt runs) goes through the real jobs via the CLI, and every run's
event log, run record and compute log is searched for the customer's name, email, IBAN and the data dir."""

import subprocess
import sys

from conftest import drop
from test_pipeline import CHARGE_POINTS, CUSTOMERS, SESSIONS, csv_rows

from joulo_pipelines import cli

NAME, EMAIL, IBAN = "Zelda Hostilova", "zelda.hostilova@evil.example", "NL02ABNA0123456789"
HEADER = CUSTOMERS.splitlines()[0]
HOSTILE_ROW = (f"CB1,{NAME}\xe9,{EMAIL},{IBAN},Dorpsstraat,3,9711AB,Groningen,871685900000000035,"
               "2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n")


def hostile_world(data_dir):
    drop(data_dir, "alpha", "customers.csv", CUSTOMERS, mtime="2026-01-02T06:00:00+00:00")
    drop(data_dir, "alpha", "charge_points.csv", CHARGE_POINTS, mtime="2026-01-02T06:00:00+00:00")
    drop(data_dir, "alpha", "sessions_q1.csv", csv_rows(SESSIONS), mtime="2026-04-02T06:00:00+00:00")
    drop(data_dir, "beta", "customers.csv", (HEADER + "\n" + HOSTILE_ROW).encode("latin-1"))
    drop(data_dir, "beta", "customers_short.csv", f"{HEADER}\nCB2,{NAME},{EMAIL},{IBAN},Dorpsstraat\n")
    drop(data_dir, "beta", f"customers_{EMAIL}.csv", f"{HEADER}\nCB3,{NAME},not-an-email,{IBAN},x,1,1011AB,A,1,x,y,z\n")


def locked_warehouse(data_dir):
    """Another process holding warehouse.duckdb: DuckDB's lock error names the file's absolute path."""
    hold = "import sys, duckdb; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); sys.stdin.read()"
    holder = subprocess.Popen([sys.executable, "-c", hold, str(data_dir.warehouse)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def secrets_in(text: str, data_dir) -> list[str]:
    return [s for s in (NAME, EMAIL, IBAN, str(data_dir.root)) if s in text]


def test_no_personal_data_or_absolute_path_reaches_dagster(data_dir):
    import dagster as dg
    from dagster._serdes import serialize_value

    hostile_world(data_dir)
    assert cli.main(["ingest"]) == 0
    holder = locked_warehouse(data_dir)
    try:
        assert cli.main(["run", "--quarter", "2026-Q1"]) == 1  # dbt cannot open the warehouse
    finally:
        holder.stdin.close()
        holder.wait()
    assert cli.main(["run", "--quarter", "2026-Q1"]) == 0

    leaks = []
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert len(runs) == 3
        for run in runs:
            leaks += [(run.run_id, "run", s) for s in secrets_in(serialize_value(run), data_dir)]
            for entry in instance.all_logs(run.run_id):
                leaks += [(run.run_id, entry.message[:80], s) for s in secrets_in(serialize_value(entry), data_dir)]
    compute_logs = [p for p in data_dir.dagster_home.rglob("compute_logs/*") if p.is_file()]
    assert compute_logs
    for path in compute_logs:
        leaks += [(path.name, "compute log", s) for s in secrets_in(path.read_text(errors="replace"), data_dir)]
    assert leaks == []


def test_the_quarantine_report_keeps_what_dagster_does_not_see(data_dir):
    hostile_world(data_dir)
    assert cli.main(["ingest"]) == 0
    reports = "".join(p.read_text(errors="replace") for p in (data_dir.quarantine / "beta").glob("*.errors.csv"))
    assert "customers_short.csv" in reports and "not-an-email" in reports
