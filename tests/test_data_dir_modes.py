"""Files holding personal data are their user's alone: after an ingest, a quarter run (DuckDB, the dbt
subprocess, exports, reports) and an API key, nothing the pipeline wrote in the data dir can be read by
group or others, and the data dir itself is 0700, even when the shell's umask is the usual 022."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from conftest import drop
from joulo_pipelines import cli

CUSTOMERS = (
    "customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,"
    "mandate_valid_from,mandate_valid_until\n"
    "C1,An Jansen,an@mail.example,NL91ABNA0417164300,Kerkstraat,1,1011 AB,Amsterdam,871685900000000011,"
    "2025-12-01T10:00:00Z,2026-01-01,2026-12-31\n")
CHARGE_POINTS = ("charge_point_ref,customer_ref,brand,model,serial_number,meter_serial\n"
                 "CP1,C1,Alfen,Eve Single Pro-line,SN1,M1\n")
SESSIONS = ("session_ref,charge_point_ref,started_at,ended_at,energy_kwh\n"
            "S1,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,12.5\n"
            "S2,CP1,not a time,2026-01-11T20:00:00Z,3\n")  # quarantined


@pytest.fixture
def shell_umask():
    """The umask of a usual shell while the test runs (an earlier test may have made it private)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_what_a_run_writes_in_the_data_dir_is_private(data_dir, shell_umask):
    drop(data_dir, "alpha", "customers.csv", CUSTOMERS, mtime="2026-01-02T06:00:00+00:00")
    drop(data_dir, "alpha", "charge_points.csv", CHARGE_POINTS, mtime="2026-01-02T06:00:00+00:00")
    drop(data_dir, "alpha", "sessions.csv", SESSIONS, mtime="2026-04-02T06:00:00+00:00")
    data_dir.root.chmod(0o755)  # as a data dir made before this rule
    assert cli.main(["ingest"]) == 0
    assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
    assert cli.main(["api-key", "create", "--partner", "alpha"]) == 0

    open_to_others, seen = [], set()
    for path in data_dir.root.rglob("*"):
        top = path.relative_to(data_dir.root).parts[0]
        if top in ("inbox", "config"):
            continue  # what partners delivered and the registry people wrote, as they made them (inside 0700)
        seen.add(top)
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            open_to_others.append(f"{path.relative_to(data_dir.root)} {oct(mode)}")
    assert {"warehouse.duckdb", "landing", "quarantine", "exports", "dagster_home"} <= seen
    assert any(data_dir.raw.iterdir()) and any(p.is_file() for p in data_dir.quarantine.rglob("*"))
    assert not open_to_others
    assert stat.S_IMODE(data_dir.root.stat().st_mode) == 0o700


def test_the_dagster_code_location_makes_what_its_runs_write_private():
    umask = subprocess.run(
        [sys.executable, "-c", "import os; os.umask(0o022); import joulo_pipelines.definitions; "
                               "print(oct(os.umask(0)))"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert umask == "0o77"
