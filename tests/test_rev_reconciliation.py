"""Importing what the REV issued (CSV, or XML through defusedxml) and reconciling it against our estimate:
an asset check fails for any EAN or booking off by more than 2 %."""

from __future__ import annotations

from decimal import Decimal

import dagster as dg
import duckdb
import pytest

from joulo_pipelines import cli
from joulo_pipelines.defs.registration.assets import rev_reconciliation
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib.registration.results import ResultFileError, parse_result_file


@pytest.fixture
def submitted_q1(demo_world_copy):
    assert cli.main(["rev", "submit", "2026-Q1", "--by", "test"]) == 0
    assert cli.main(["rev", "approve", "2026-Q1", "--by", "approver"]) == 0  # four eyes
    with duckdb.connect(str(demo_world_copy.warehouse), read_only=True) as con:
        estimates = con.execute("select ean, sum(ere_estimate) from ledger.rev_booking_lines "
                                "where booking_id = '2026-Q1' group by ean order by ean").fetchall()
    return demo_world_copy, estimates


def _reconcile(data_dir) -> dg.AssetCheckEvaluation:
    result = dg.materialize([rev_reconciliation], partition_key="2026-01-01",
                            resources={"data_dir": DataDirResource()}, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def _result_csv(path, rows) -> None:
    path.write_text("booking_id;ean;units\n" + "".join(f"2026-Q1;{ean};{str(units).replace('.', ',')}\n"
                                                       for ean, units in rows))


def test_issued_units_within_two_percent_pass_and_one_ean_off_by_three_percent_fails(submitted_q1, tmp_path):
    data_dir, estimates = submitted_q1
    close = [(ean, (estimate * Decimal("1.015")).quantize(Decimal("0.001"))) for ean, estimate in estimates]
    _result_csv(tmp_path / "rev_2026q1.csv", close)
    assert cli.main(["rev", "import-result", str(tmp_path / "rev_2026q1.csv")]) == 0
    assert _reconcile(data_dir).passed

    off = [(ean, units * (Decimal("1.03") if position == 0 else 1)) for position, (ean, units) in enumerate(close)]
    _result_csv(tmp_path / "rev_2026q1_corrected.csv", off)
    assert cli.main(["rev", "import-result", str(tmp_path / "rev_2026q1_corrected.csv")]) == 0
    evaluation = _reconcile(data_dir)
    assert not evaluation.passed
    assert evaluation.metadata["ean_breaks"].value == 1
    report = (data_dir.exports / "2026-Q1" / "rev" / "reconciliation.csv").read_text()
    assert estimates[0][0] in report

    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        sources = con.execute("select distinct units_source from ledger.booked_units "
                              "where booking_id = '2026-Q1'").fetchall()
        issued = con.execute("select sum(units) from ledger.booked_units where booking_id = '2026-Q1'").fetchone()[0]
    assert sources == [("rev_issued",)]
    assert issued == sum(units for _, units in off)


def test_an_xml_result_is_read_and_a_result_for_an_unknown_booking_line_is_refused_whole(submitted_q1, tmp_path, capsys):
    data_dir, estimates = submitted_q1
    ean = estimates[0][0]
    xml = tmp_path / "result.xml"
    xml.write_text(f'<?xml version="1.0"?><revResult xmlns="urn:nea:rev"><booking bookingId="2026-Q1">'
                   f'<issued ean="{ean}" units="10.5"/></booking></revResult>')
    assert [(r.booking_id, r.ean, r.units) for r in parse_result_file(xml)] == [("2026-Q1", ean, Decimal("10.5"))]

    unknown = tmp_path / "unknown.csv"
    unknown.write_text(f"booking_id,ean,units\n2026-Q1,{ean},10\n2026-Q2,{ean},10\n")
    assert cli.main(["rev", "import-result", str(unknown)]) == 1
    assert "row 3: booking 2026-Q2 is not submitted" in capsys.readouterr().err
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from ledger.rev_results").fetchone()[0] == 0


def test_a_broken_result_file_names_file_row_column_and_value(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("booking_id,ean,units\n2026-Q1,871000000000000011,lots\n2026-Q9,871000000000000011,1\n")
    with pytest.raises(ResultFileError) as error:
        parse_result_file(bad)
    message = str(error.value)
    assert "bad.csv, row 2: column units, value 'lots'" in message
    assert "bad.csv, row 3: column booking_id" in message


def test_xml_with_entity_expansion_is_refused(tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                    '<revResult><booking bookingId="2026-Q1"><issued ean="&b;" units="1"/></booking></revResult>')
    with pytest.raises(ResultFileError, match="refused XML"):
        parse_result_file(bomb)
