"""What every `joulo` command does around its own work (cli/__init__.py, cli/console.py): the clock in force
first, kept in the data dir; Dagster runs as a line per stage; an expected failure as one line with exit code
2, a bug as one line with exit code 1, tracebacks only with -v. Run through main() or the real entry point in
a subprocess, on small data dirs: no quarter is built here."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from cli_tables import table
from rev_world import make_warehouse, run, set_eligible

from conftest import drop
from joulo_pipelines.cli import main
from joulo_pipelines.lib import clock
from joulo_pipelines.lib.landing import ensure_landing_schemas
from joulo_pipelines.lib.quarters import Quarter

JOULO = str(Path(sys.executable).with_name("joulo"))
SESSIONS = ("session_ref,charge_point_ref,started_at,ended_at,energy_kwh\n"
            "S1,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,3.5\n")


def joulo(*args: str) -> subprocess.CompletedProcess:
    """The installed `joulo` command, as a person runs it, in the environment the test set up."""
    return subprocess.run([JOULO, *args], capture_output=True, text=True, timeout=300)


def said(err: str) -> list[str]:
    """The lines on stderr after the clock's."""
    lines = err.splitlines()
    assert lines and lines[0].startswith("clock: "), err
    return lines[1:]


# --- The clock ---------------------------------------------------------------------------------------------
def test_the_data_dirs_clock_is_every_commands_and_joulo_as_of_overrides_it(data_dir, monkeypatch, capsys):
    monkeypatch.delenv("JOULO_AS_OF")
    assert main(["status"]) == 0
    assert capsys.readouterr().err.startswith("clock: the wall clock, today ")

    clock.keep(data_dir, "2027-01-15")  # what `joulo demo` does
    assert clock.today() == date(2027, 1, 15)
    assert main(["status"]) == 0
    assert capsys.readouterr().err.splitlines()[0] == (
        f"clock: as of 2027-01-15 (from {data_dir.clock_file}, JOULO_AS_OF overrides it)")
    # A process of its own on the data dir, as a Dagster code location or run worker is.
    other_process = subprocess.run([sys.executable, "-c", "from joulo_pipelines.lib import clock; print(clock.today())"],
                                   capture_output=True, text=True, check=True)
    assert other_process.stdout.strip() == "2027-01-15"

    monkeypatch.setenv("JOULO_AS_OF", "2027-03-01T12:30:00+01:00")
    assert clock.today() == date(2027, 3, 1)
    assert main(["status"]) == 0
    assert capsys.readouterr().err.splitlines()[0] == "clock: as of 2027-03-01 12:30 CET (from JOULO_AS_OF)"


def test_a_clock_that_is_not_a_date_is_one_line_naming_its_file(data_dir, monkeypatch, capsys):
    monkeypatch.delenv("JOULO_AS_OF")
    data_dir.clock_file.write_text("soon\n")
    assert main(["status"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"joulo status: {data_dir.clock_file}: 'soon' is not a date (2027-01-15) or ISO timestamp with offset"]


# --- Expected failures: one line, exit code 2 --------------------------------------------------------------
def test_a_quarter_that_does_not_exist_keeps_the_parsers_message(data_dir, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["run", "--quarter=2026-Q5"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "joulo run: argument --quarter: '2026-Q5' is not a quarter; use 2026-Q1 or its first day 2026-01-01 "
        "(see joulo run --help)"]


def test_an_unknown_partner_is_one_line_naming_the_known_ones_and_minus_v_shows_the_traceback(data_dir):
    refused = joulo("payouts", "approve", "2026-Q1", "--partner", "nobody", "--by", "an")
    assert refused.returncode == 2
    assert said(refused.stderr) == ["joulo payouts approve: partner 'nobody' is not in config/partners.yaml; "
                                    "known: alpha, beta"]
    assert refused.stdout == ""
    verbose = joulo("payouts", "approve", "2026-Q1", "--partner", "nobody", "--by", "an", "-v")
    assert verbose.returncode == 1 and "Traceback (most recent call last)" in verbose.stderr


def test_a_header_only_file_to_mid_scan_is_one_line(data_dir, tmp_path, capsys):
    header_only = tmp_path / "charge_points.csv"
    header_only.write_text("charge_point_ref,customer_ref,brand,model,meter_serial,mid_certificate_ref\n")
    assert main(["mid-scan", str(header_only), "--out", str(tmp_path / "out")]) == 2
    assert said(capsys.readouterr().err) == [
        f"joulo mid-scan: {header_only}: no charge points, only a header; nothing to scan"]
    assert not (tmp_path / "out").exists()


def test_a_bug_is_one_line_saying_so_with_exit_code_1(data_dir, monkeypatch, capsys):
    def broken(data_dir):
        return {}["missing"]

    monkeypatch.setattr("joulo_pipelines.cli.warehouse.status", broken)
    assert main(["status"]) == 1
    assert said(capsys.readouterr().err) == [
        "joulo status: KeyError: 'missing' (a bug: run it again with -v to see where)"]
    with pytest.raises(KeyError):
        main(["status", "-v"])


# --- Dagster runs: a line per stage -------------------------------------------------------------------------
def test_a_run_shows_a_line_per_stage_and_dagsters_log_only_with_minus_v(data_dir, capfd, tmp_path, monkeypatch):
    # While a run executes, Dagster sends stderr to its compute log and copies it back with `tail -F`, which
    # loses the run's last second (all of it on a loaded machine). A `tail` that copies nothing back makes
    # that loss certain: the lines must still arrive.
    no_copy = tmp_path / "bin"
    no_copy.mkdir()
    (no_copy / "tail").write_text("#!/bin/sh\nexit 0\n")
    (no_copy / "tail").chmod(0o755)
    monkeypatch.setenv("PATH", f"{no_copy}{os.pathsep}{os.environ['PATH']}")
    drop(data_dir, "alpha", "sessions_2026-01.csv", SESSIONS)
    assert main(["ingest", "--source", "files"]) == 0
    out, err = capfd.readouterr()
    assert out.splitlines() == ["ingest: 1 file(s) seen, 1 new, 0 rejected whole, 1 rows landed, 0 rows quarantined"]
    stages = said(err)
    assert len(stages) == 1 and stages[0].split()[0] == "landed_files" and stages[0].endswith(" s  2 asset(s)")
    assert main(["ingest", "--source", "files", "-v"]) == 0
    out, err = capfd.readouterr()
    assert "STEP_START" in err and out.splitlines()[-1] == "ingest: nothing new in the inbox"


def test_loading_the_definitions_warns_of_no_backfill_policy():
    loaded = subprocess.run([sys.executable, "-c", "from joulo_pipelines.definitions import defs; "
                                                   "defs().resolve_job_def('quarter_job')"],
                            capture_output=True, text=True, check=True)
    assert "BackfillPolic" not in loaded.stderr


# --- joulo status and joulo rev submit ---------------------------------------------------------------------
def test_status_before_any_partner_delivered_a_file(data_dir, capsys):
    ensure_landing_schemas(data_dir)  # what the intake, a quarter run or the API does first
    assert main(["status"]) == 0
    assert table(capsys.readouterr().out, "partner", "files landed", "with bad rows", "rejected", "rows landed",
                 "rows quarantined") == []


def test_an_empty_booking_is_refused_unless_allowed_and_its_times_are_amsterdams(data_dir, capsys):
    make_warehouse(data_dir)
    set_eligible(data_dir, 0, Quarter(2026, 2), Decimal(100))  # Q1 has nothing eligible
    run(data_dir, 1)
    assert main(["rev", "submit", "2026-Q1", "--by", "an"]) == 2
    assert said(capsys.readouterr().err) == [
        "joulo rev submit: 2026-Q1 has no deliveries or amendments to book (is its quarter built, with eligible "
        "kWh?); a submitted booking never changes, so an empty one is prepared only with --allow-empty"]
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from ledger.rev_preparations").fetchone()[0] == 0
    assert main(["rev", "submit", "2026-Q1", "--by", "an", "--allow-empty"]) == 0
    assert main(["rev", "approve", "2026-Q1", "--by", "bo"]) == 0
    printed = capsys.readouterr().out  # JOULO_AS_OF=2027-01-15 is midnight in Amsterdam, 23:00 UTC the day before
    assert "by an at 2027-01-15 00:00 CET;" in printed and "approved 2027-01-15 00:00 CET by bo;" in printed
    assert os.environ["JOULO_AS_OF"] == "2027-01-15"
