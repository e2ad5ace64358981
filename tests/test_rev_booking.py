"""The quarterly REV booking on the demo world: register files validated against the shipped schemas and free
of internal data, byte-identical reruns, submissions (prepared and approved by two people) that freeze a
quarter, and late data landing as amendments in the next open quarter, with the register's delivery ids."""

from __future__ import annotations

import hashlib
import json
import shutil
from decimal import Decimal

import duckdb
import pytest
from test_rev_registrations import assert_register_files_hold_nothing_internal

from joulo_pipelines import cli
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.registration.export import (
    REGISTER_FILES,
    validate_register_file,
)

QUARTERS = ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]


def _hashes(folder) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.iterdir()) if path.name in REGISTER_FILES}


@pytest.fixture(scope="module")
def late_data_world(joulo_demo, demo_rev_submitted, tmp_path_factory):
    """The demo's own REV story (cli/registration.py rev_demo): Q1-Q3 prepared, approved and issued by the
    register, then a late Q1 file ingested and Q1 and Q4 run again; a copy of where `joulo demo` ended, since
    tests here run commands in it. With the register files and ledger rows as they were before the late file."""
    before = {q: _hashes(demo_rev_submitted.exports / q / "rev") for q in QUARTERS}
    submitted_rows = _ledger_rows(demo_rev_submitted)
    assert joulo_demo.code == 0, joulo_demo.printed[-3000:]
    root = tmp_path_factory.mktemp("rev_late") / "data"
    shutil.copytree(joulo_demo.root, root, symlinks=True)
    return DataDir(root), before, submitted_rows


def _ledger_rows(data_dir: DataDir) -> list[tuple]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute("select * from ledger.rev_booking_lines order by booking_id, line_number").fetchall()


def test_every_register_file_validates_against_its_schema_and_the_manifest_names_it(in_demo_world, definitions):
    before = {}
    for quarter in QUARTERS:
        folder = in_demo_world.exports / quarter / "rev"
        for name in REGISTER_FILES:
            validate_register_file(name, (folder / name).read_bytes())
        before[quarter] = _hashes(folder)
    with duckdb.connect(str(in_demo_world.warehouse), read_only=True) as con:
        eligible = con.execute("select count(*) from marts.fct_ean_quarter_energy "
                               "where quarter_start = '2026-01-01' and eligible_kwh > 0").fetchone()[0]
    manifest = json.loads((in_demo_world.exports / "2026-Q1" / "rev" / "manifest.json").read_text())
    assert manifest["ean_count"] == manifest["deliveries"] == manifest["connections"] == eligible
    assert manifest["status"] == "draft" and manifest["amendments"] == 0
    assert manifest["files"] == before["2026-Q1"]


def test_no_register_file_holds_internal_data_or_a_negative_kwh(late_data_world):
    data_dir, _, _ = late_data_world
    assert assert_register_files_hold_nothing_internal(data_dir) == 3 * len(QUARTERS)


def test_a_submitted_quarter_stays_byte_identical_after_late_data_arrives(late_data_world):
    data_dir, before, _ = late_data_world
    assert _hashes(data_dir.exports / "2026-Q1" / "rev") == before["2026-Q1"]
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        grew = con.execute(
            "select count(*) from marts.fct_ean_quarter_energy e "
            "join ledger.rev_booking_lines b on b.ean = e.ean and b.delivery_quarter_start = e.quarter_start "
            "where e.quarter_start = '2026-01-01' and round(e.eligible_kwh, 3) > b.kwh").fetchone()[0]
    assert grew > 0, "the late file should have raised the eligible kWh of Q1"


def test_late_data_for_a_submitted_quarter_becomes_an_amendment_in_the_next_open_quarter(late_data_world):
    data_dir, before, _ = late_data_world
    folder = data_dir.exports / "2026-Q4" / "rev"
    assert _hashes(folder) != before["2026-Q4"]
    for name in REGISTER_FILES:
        validate_register_file(name, (folder / name).read_bytes())
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        amendments = con.execute(
            "select ean, kwh, previous_kwh, delivery_period_start, amends_booking_id, register_delivery_id, reason "
            "from registration.rev_booking_drafts where booking_id = '2026-Q4' and kind = 'amendment'").fetchall()
        earlier_quarters = con.execute(
            "select count(*) from registration.rev_booking_drafts where booking_id = '2026-Q4' "
            "and delivery_quarter_start <> '2026-10-01'").fetchone()[0]
    assert len(amendments) == 3 and earlier_quarters == 3  # the amendments, and no late delivery
    for ean, kwh, previous, period_start, amends, delivery_id, reason in amendments:
        assert kwh - previous == Decimal("34.500")  # two late sessions of 17.25 kWh
        assert (str(period_start), amends, delivery_id) == ("2026-01-01", "2026-Q1", f"REV-D-2026-Q1-{ean}")
        assert reason == f"late or corrected data added kWh (was {previous} kWh)"
    xml = (folder / "amendments.xml").read_text()
    for ean, kwh, _, _, _, delivery_id, _ in amendments:
        assert f"<registerDeliveryId>{delivery_id}</registerDeliveryId>\n    <kWh>{kwh}</kWh>" in xml
    deliveries = (folder / "deliveries.xml").read_text()
    assert 'begin="2026-01-01"' not in deliveries, "a change to a sent delivery is never a second delivery"


def test_submitted_ledger_rows_never_change(late_data_world):
    data_dir, _, submitted_rows = late_data_world
    assert _ledger_rows(data_dir) == submitted_rows


def test_the_kwh_booked_per_ean_and_year_equal_the_eligible_kwh(late_data_world):
    """Over deliveries and amendments, what ledger.booked_units counts (each line's change) per EAN and year is
    the rounded eligible kWh: payouts count an amendment once, by its difference."""
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
    assert cli.main(["rev", "submit", "2026-Q2"]) == 2
    assert "already submitted" in capsys.readouterr().err
    assert cli.main(["rev", "approve", "2026-Q2", "--by", "someone"]) == 2
    assert "already submitted" in capsys.readouterr().err
    monkeypatch.setenv("JOULO_AS_OF", "2026-12-01")
    assert cli.main(["rev", "submit", "2026-Q4"]) == 2
    assert "has not ended yet" in capsys.readouterr().err
    monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
    assert cli.main(["rev", "submit", "2026-S1"]) == 2
    assert "needs every quarter submitted" in capsys.readouterr().err
