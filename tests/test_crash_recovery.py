"""A killed `joulo run` or `joulo payouts approve` leaves nothing that stops the next command: dbt dies with
the run, the dead run's slot of the warehouse pool is handed back, a second run waits for a live one with
a message (and SIGTERM ends the wait), and an approved batch whose files were never written gets them,
byte for byte what an uninterrupted approval writes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psutil
import pytest
from conftest import drop, make_data_dir
from payouts_world import APPROVER, PREPARER, booking, build_world, customer
from test_pipeline import CHARGE_POINTS, CUSTOMERS, SESSIONS, csv_rows

from joulo_pipelines import cli

# Generous bounds for things that take seconds; each wait also checks that the process it watches lives.
STARTUP_BOUND_SECONDS = 900
EXIT_BOUND_SECONDS = 120


@pytest.fixture
def processes():
    """Every process a test starts, with its children, is gone when the test ends."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        try:
            family = [*psutil.Process(process.pid).children(recursive=True), psutil.Process(process.pid)]
        except psutil.NoSuchProcess:
            family = []
        for member in family:
            try:
                member.kill()
            except psutil.NoSuchProcess:
                pass
        process.wait()


def joulo(processes, *args: str, log: Path, background_job: bool = False) -> subprocess.Popen:
    """`joulo args` in a process of its own; `background_job`: with SIGINT and SIGTERM ignored, as a process
    that a shell started in the background (`... &` in a script ignores SIGINT) starts it once a Dagster job
    ran in it (which gives SIGTERM the handler of SIGINT)."""
    process = subprocess.Popen([sys.executable, "-m", "joulo_pipelines.cli", *args], stdin=subprocess.DEVNULL,
                               stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
                               preexec_fn=_interrupts_ignored if background_job else None)
    processes.append(process)
    return process


def _interrupts_ignored() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def wait_until(condition, process: subprocess.Popen, what: str, bound: float = STARTUP_BOUND_SECONDS):
    """Poll `condition` while `process` lives; fail when it ends first, or after `bound` seconds."""
    started = time.monotonic()
    while True:
        found = condition()
        if found:
            return found
        assert process.poll() is None, f"the process ended (exit {process.returncode}) before {what}"
        assert time.monotonic() - started < bound, f"no {what} after {bound} s"
        time.sleep(0.2)


def dbt_writing_the_warehouse(process: subprocess.Popen, warehouse: Path) -> psutil.Process | None:
    """The process's dbt build (forked by its dbt fork server, lib/dbt_forkserver.py), once it has the
    warehouse open."""
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return None
    for child in children:
        try:
            if "dbt_forkserver" in " ".join(child.cmdline()) and any(
                    Path(f.path).resolve() == warehouse.resolve() for f in child.open_files()):
                return child
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return None


def test_a_killed_run_takes_dbt_with_it_and_the_next_run_completes(data_dir, processes, tmp_path):
    import dagster as dg

    drop(data_dir, "alpha", "customers.csv", CUSTOMERS, mtime="2026-01-02T06:00:00+00:00")
    drop(data_dir, "alpha", "charge_points.csv", CHARGE_POINTS, mtime="2026-01-02T06:00:00+00:00")
    drop(data_dir, "alpha", "sessions_q1.csv", csv_rows(SESSIONS), mtime="2026-04-02T06:00:00+00:00")
    assert cli.main(["ingest"]) == 0

    first = joulo(processes, "run", "--quarter", "2026-Q1", log=tmp_path / "first.log")
    dbt = wait_until(lambda: dbt_writing_the_warehouse(first, data_dir.warehouse), first, "dbt writing the warehouse")
    # Held there, the warehouse open, until the run is killed: a small build could otherwise end, and let the
    # second run in, before the second was stopped (on a loaded machine it did). The kernel's SIGKILL at the
    # parent's death reaches a stopped process all the same.
    dbt.suspend()

    # A second run meanwhile waits for the warehouse, says so, and stops at SIGTERM, even one started with it
    # ignored (how the suite's own worker started it when the suite ran in the background).
    second = joulo(processes, "run", "--quarter", "2026-Q1", log=tmp_path / "second.log", background_job=True)
    wait_until(lambda: "waiting for the warehouse" in (tmp_path / "second.log").read_text(), second,
               "message that the second run waits")
    second.send_signal(signal.SIGTERM)
    assert second.wait(EXIT_BOUND_SECONDS) == -signal.SIGTERM

    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    with contextlib.suppress(psutil.NoSuchProcess):
        dbt.resume()  # were it to outlive its parent, it would go on as an orphan: what the loop below catches
    started = time.monotonic()
    while dbt.is_running() and dbt.status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() - started < EXIT_BOUND_SECONDS, "dbt outlived the run that started it"
        time.sleep(0.2)

    assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
    with dg.DagsterInstance.get() as instance:
        statuses = sorted(run.status.value for run in instance.get_runs(dg.RunsFilter(job_name="quarter_job")))
    assert statuses == ["FAILURE", "SUCCESS"]  # the killed run is marked failed; the second never started one


def payouts_world(root: Path, monkeypatch):
    data_dir = make_data_dir(root, [])
    monkeypatch.setenv("JOULO_DATA_DIR", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    return build_world(data_dir, [customer("alpha", "A1", "Jan de Vries", "NL02ABNA0123456789"),
                                  customer("alpha", "A2", "Els Bos", "NL91ABNA0417164300", language="en")],
                       [booking("alpha", "A1", "2026-01-01", "300"), booking("alpha", "A2", "2026-01-01", "250")])


def batch_files(data_dir) -> dict[str, bytes]:
    folder = data_dir.exports / "2026-Q1" / "payouts" / "alpha"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# `joulo payouts approve` killed by SIGKILL after the ledger committed the batch, before the SEPA file.
KILLED_APPROVE = """
import os, signal, sys
from joulo_pipelines import cli
from joulo_pipelines.lib.payouts import exports

def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

exports.credit_transfer = killed
sys.exit(cli.main(["payouts", "approve", "2026-Q1", "--partner", "alpha", "--by", "Aart Fiatteur"]))
"""


@pytest.mark.slow  # two Dagster runs of the payouts job in processes of their own, ~25 s
def test_the_next_approve_writes_the_files_a_killed_approve_did_not(tmp_path, monkeypatch, processes, capsys):
    monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
    uninterrupted = payouts_world(tmp_path / "uninterrupted", monkeypatch)
    assert cli.main(["payouts", "prepare", "2026-Q1", "--partner", "alpha", "--by", PREPARER]) == 0
    assert cli.main(["payouts", "approve", "2026-Q1", "--partner", "alpha", "--by", APPROVER]) == 0
    expected = batch_files(uninterrupted)
    assert "sepa_credit_transfer.xml" in expected and len(expected) >= 4

    killed = payouts_world(tmp_path / "killed", monkeypatch)
    assert cli.main(["payouts", "prepare", "2026-Q1", "--partner", "alpha", "--by", PREPARER]) == 0
    process = subprocess.Popen([sys.executable, "-c", KILLED_APPROVE], stdin=subprocess.DEVNULL)
    processes.append(process)
    assert process.wait() == -signal.SIGKILL
    with duckdb.connect(str(killed.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from ledger.payout_batches").fetchone()[0] == 1
    assert "sepa_credit_transfer.xml" not in batch_files(killed)

    capsys.readouterr()
    assert cli.main(["payouts", "approve", "2026-Q1", "--partner", "alpha", "--by", APPROVER]) == 0
    assert "already approved, nothing changed" in capsys.readouterr().out
    assert batch_files(killed) == expected
