"""Importing what the REV issued (CSV, or XML through defusedxml) and reconciling it exactly against kWh x the
year's factor: an asset check fails for any EAN off by more than the register's rounding, naming it; 2 % is
only the verifier's materiality on a year's totals."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import dagster as dg
import duckdb
import pytest

from joulo_pipelines import cli
from joulo_pipelines.defs.registration.assets import rev_reconciliation
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib.registration.reconciliation import REV_UNIT_DECIMALS
from joulo_pipelines.lib.registration.results import ResultFileError, parse_result_file


@pytest.fixture
def submitted_q1(demo_world_copy):
    """The demo's 2026-Q1 submitted; per EAN its kWh, the factor it was booked with and kWh x factor, exact."""
    assert cli.main(["rev", "submit", "2026-Q1", "--by", "test"]) == 0
    assert cli.main(["rev", "approve", "2026-Q1", "--by", "approver"]) == 0  # four eyes
    with duckdb.connect(str(demo_world_copy.warehouse), read_only=True) as con:
        expected = con.execute("select ean, sum(kwh), any_value(ere_per_kwh), sum(kwh * ere_per_kwh) "
                               "from ledger.rev_booking_lines where booking_id = '2026-Q1' group by ean "
                               "order by ean").fetchall()
    return demo_world_copy, expected


def _reconcile(data_dir) -> dict[str, dg.AssetCheckEvaluation]:
    result = dg.materialize([rev_reconciliation], partition_key="2026-01-01",
                            resources={"data_dir": DataDirResource()}, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _result_csv(path, rows) -> None:
    path.write_text("booking_id;ean;units\n" + "".join(f"2026-Q1;{ean};{str(units).replace('.', ',')}\n"
                                                       for ean, units in rows))


def _rounded(units: Decimal) -> Decimal:
    """The register's rounding as we assume it: REV_UNIT_DECIMALS decimals, half up."""
    return units.quantize(Decimal(1).scaleb(-REV_UNIT_DECIMALS), ROUND_HALF_UP)


def test_issued_units_equal_to_kwh_times_factor_pass_and_one_unit_off_on_one_ean_is_a_named_break(
        submitted_q1, tmp_path):
    data_dir, expected = submitted_q1
    exact = [(ean, _rounded(units)) for ean, _, _, units in expected]
    _result_csv(tmp_path / "rev_2026q1.csv", exact)
    assert cli.main(["rev", "import-result", str(tmp_path / "rev_2026q1.csv")]) == 0
    checks = _reconcile(data_dir)
    assert checks["issued_units_exact"].passed and checks["year_within_materiality"].passed
    assert checks["issued_units_exact"].metadata["eans_compared"].value == len(expected)

    # One EAN a single unit of the last decimal off: far inside 2 %, still an error.
    ean, kwh, factor, units = expected[0]
    off = [(ean, issued + Decimal("0.001") if position == 0 else issued)
           for position, (ean, issued) in enumerate(exact)]
    _result_csv(tmp_path / "rev_2026q1_corrected.csv", off)
    assert cli.main(["rev", "import-result", str(tmp_path / "rev_2026q1_corrected.csv")]) == 0
    checks = _reconcile(data_dir)
    check = checks["issued_units_exact"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["breaks"].value == 1
    assert check.metadata["first_breaks"].value == (
        f"booking 2026-Q1, EAN {ean}: the REV issued {off[0][1].normalize():f} units, {kwh} kWh x {factor} ERE/kWh "
        f"= {units.normalize():f} (to 3 decimals: {exact[0][1]})")
    assert checks["year_within_materiality"].passed
    report = (data_dir.exports / "2026-Q1" / "rev" / "reconciliation.csv").read_text()
    assert ean in report

    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        sources = con.execute("select distinct units_source from ledger.booked_units "
                              "where booking_id = '2026-Q1'").fetchall()
        issued = con.execute("select sum(units) from ledger.booked_units where booking_id = '2026-Q1'").fetchone()[0]
    assert sources == [("rev_issued",)]
    assert issued == sum(units for _, units in off)


def test_units_issued_with_the_wrong_renewable_share_break_on_every_ean(submitted_q1, tmp_path):
    data_dir, expected = submitted_q1
    # The register valued the year at a share of 0.495 where the factor we booked with rests on 0.505.
    wrong = [(ean, _rounded(units * Decimal("0.495") / Decimal("0.505"))) for ean, _, _, units in expected]
    _result_csv(tmp_path / "rev_2026q1.csv", wrong)
    assert cli.main(["rev", "import-result", str(tmp_path / "rev_2026q1.csv")]) == 0
    checks = _reconcile(data_dir)
    check = checks["issued_units_exact"]
    assert not check.passed
    assert check.metadata["breaks"].value == sum(1 for _, kwh, _, _ in expected if kwh != 0)
    ean, kwh, factor, _ = expected[0]
    assert f"booking 2026-Q1, EAN {ean}: the REV issued" in check.metadata["first_breaks"].value
    assert f"{kwh} kWh x {factor} ERE/kWh" in check.metadata["first_breaks"].value
    # 2 % lower in total: inside the verifier's materiality, which excuses none of the breaks.
    assert checks["year_within_materiality"].passed


def test_an_xml_result_is_read_and_a_result_for_an_unknown_booking_line_is_refused_whole(submitted_q1, tmp_path, capsys):
    data_dir, estimates = submitted_q1
    ean = estimates[0][0]
    xml = tmp_path / "result.xml"
    xml.write_text(f'<?xml version="1.0"?><revResult xmlns="urn:nea:rev"><booking bookingId="2026-Q1">'
                   f'<issued ean="{ean}" units="10.5"/></booking></revResult>')
    assert [(r.booking_id, r.ean, r.units) for r in parse_result_file(xml)] == [("2026-Q1", ean, Decimal("10.5"))]

    unknown = tmp_path / "unknown.csv"
    unknown.write_text(f"booking_id,ean,units\n2026-Q1,{ean},10\n2026-Q2,{ean},10\n")
    assert cli.main(["rev", "import-result", str(unknown)]) == 2
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
