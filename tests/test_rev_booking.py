"""The quarterly REV booking on the demo world: exports validated against the shipped XSD, byte-identical
reruns, submissions that freeze a quarter, and late data landing as a correction in the next open quarter."""

from __future__ import annotations

import hashlib
import json
import shutil
from decimal import Decimal

import duckdb
import pytest

from joulo_pipelines import cli
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.registration.export import validate_booking_xml
from joulo_pipelines.lib.registration.late_drop import drop_late_sessions

QUARTERS = ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]


def _hashes(folder) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.iterdir()) if path.name.startswith("rev_booking")}


@pytest.fixture(scope="module")
def late_data_world(demo_world, tmp_path_factory):
    """The demo world after: Q1-Q3 submitted, a late Q1 file ingested, Q1 and Q4 run again."""
    root = tmp_path_factory.mktemp("rev_late") / "data"
    shutil.copytree(demo_world.root, root, symlinks=True)
    data_dir = DataDir(root)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("JOULO_DATA_DIR", str(root))
        monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
        for quarter in QUARTERS[:3]:
            assert cli.main(["rev", "submit", quarter, "--by", "test"]) == 0
        before = {q: _hashes(data_dir.exports / q / "rev") for q in QUARTERS}
        submitted_rows = _ledger_rows(data_dir)
        late = drop_late_sessions(data_dir, Quarter(2026, 1))
        # the same late file delivered twice is one delivery
        shutil.copy(late[0], late[0].with_name("sessions_2026-Q1_late_again.csv"))
        assert cli.main(["ingest"]) == 0
        assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
        assert cli.main(["run", "--quarter", "2026-Q4"]) == 0
        yield data_dir, before, submitted_rows


def _ledger_rows(data_dir: DataDir) -> list[tuple]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute("select * from ledger.rev_booking_lines order by booking_id, line_number").fetchall()


def test_every_exported_booking_validates_against_the_shipped_xsd_and_reruns_are_byte_identical(
        in_demo_world, definitions):
    before = {}
    for quarter in QUARTERS:
        folder = in_demo_world.exports / quarter / "rev"
        validate_booking_xml((folder / "rev_booking.xml").read_bytes())
        assert (folder / "rev_booking.csv").read_text().count("\n") > 1
        before[quarter] = _hashes(folder)
    with duckdb.connect(str(in_demo_world.warehouse), read_only=True) as con:
        eligible = con.execute("select count(*) from marts.fct_ean_quarter_energy "
                               "where quarter_start = '2026-01-01' and eligible_kwh > 0").fetchone()[0]
    summary = json.loads((in_demo_world.exports / "2026-Q1" / "rev" / "summary.json").read_text())
    assert summary["ean_count"] == eligible and summary["status"] == "draft"
    assert summary["files"]["rev_booking.xml"] == before["2026-Q1"]["rev_booking.xml"]


def test_a_submitted_quarter_stays_byte_identical_after_late_data_arrives(late_data_world):
    data_dir, before, _ = late_data_world
    assert _hashes(data_dir.exports / "2026-Q1" / "rev") == before["2026-Q1"]
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        grew = con.execute(
            "select count(*) from marts.fct_ean_quarter_energy e "
            "join ledger.rev_booking_line_quarters b on b.ean = e.ean and b.delivery_quarter_start = e.quarter_start "
            "where e.quarter_start = '2026-01-01' and round(e.eligible_kwh, 3) > b.kwh").fetchone()[0]
    assert grew > 0, "the late file should have raised the eligible kWh of Q1"


def test_late_data_for_a_submitted_quarter_becomes_a_correction_in_the_next_open_quarter(late_data_world):
    data_dir, before, _ = late_data_world
    assert _hashes(data_dir.exports / "2026-Q4" / "rev") != before["2026-Q4"]
    xml = (data_dir.exports / "2026-Q4" / "rev" / "rev_booking.xml").read_bytes()
    validate_booking_xml(xml)
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        corrections = con.execute(
            "select ean, kwh, delivery_period_start, reason from registration.rev_booking_drafts "
            "where booking_id = '2026-Q4' and kind = 'correction'").fetchall()
    assert len(corrections) == 3
    for _, kwh, period_start, reason in corrections:
        assert kwh == Decimal("34.500")  # two late sessions of 17.25 kWh, the duplicate file counted once
        assert str(period_start) == "2026-01-01"
        assert reason.startswith("2026-Q1: late or corrected data added kWh")
    assert b'kind="correction"' in xml


def test_submitted_ledger_rows_never_change(late_data_world):
    data_dir, _, submitted_rows = late_data_world
    assert _ledger_rows(data_dir) == submitted_rows


def test_the_kwh_booked_per_ean_and_year_equal_the_eligible_kwh(late_data_world):
    data_dir, _, _ = late_data_world
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        differences = con.execute(
            """
            with eligible as (
                select partner_id, ean, sum(round(eligible_kwh, 3)) as kwh from marts.fct_ean_quarter_energy
                where delivery_year = 2026 and eligible_kwh > 0 group by all
            ),
            booked as (
                select partner_id, ean, sum(kwh) as kwh from ledger.booked_units
                where delivery_year = 2026 group by all
            )
            select * from eligible full outer join booked using (partner_id, ean)
            where eligible.kwh is distinct from booked.kwh
            """).fetchall()
    assert differences == []


def test_submitting_twice_out_of_order_or_before_a_quarter_ends_is_refused(late_data_world, monkeypatch, capsys):
    data_dir, _, _ = late_data_world
    monkeypatch.setenv("JOULO_DATA_DIR", str(data_dir.root))
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir.dagster_home))
    monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
    assert cli.main(["rev", "submit", "2026-Q2"]) == 1
    assert "already submitted" in capsys.readouterr().err
    monkeypatch.setenv("JOULO_AS_OF", "2026-12-01")
    assert cli.main(["rev", "submit", "2026-Q4"]) == 1
    assert "has not ended yet" in capsys.readouterr().err
    monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
    assert cli.main(["rev", "submit", "2026-S1"]) == 1
    assert "needs every quarter submitted" in capsys.readouterr().err
