"""The booking deadline (1 March of the next year, configurable): the watch warns as it nears while kWh of
the year are unbooked; after it nothing of the year is submitted and what is left is reported."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from joulo_pipelines import cli
from joulo_pipelines.defs.registration.assets import rev_booking
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib.registration.deadline import booking_deadline


def _book(partition_key: str) -> dg.AssetCheckEvaluation:
    result = dg.materialize([rev_booking], partition_key=partition_key, resources={"data_dir": DataDirResource()},
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def test_the_deadline_is_the_first_of_march_after_the_year_unless_configured(monkeypatch):
    assert str(booking_deadline(2026)) == "2027-03-01"
    monkeypatch.setenv("JOULO_REV_DEADLINE", "02-27")
    assert str(booking_deadline(2026)) == "2027-02-27"
    monkeypatch.setenv("JOULO_REV_DEADLINE", "end of feb")
    with pytest.raises(ValueError, match="MM-DD"):
        booking_deadline(2026)


def test_the_watch_is_quiet_early_and_warns_as_the_deadline_nears_with_unbooked_kwh(demo_world_copy, monkeypatch):
    monkeypatch.setenv("JOULO_AS_OF", "2026-12-01")
    assert _book("2026-10-01").passed  # 90 days before the deadline: outside the 60-day window
    monkeypatch.setenv("JOULO_AS_OF", "2027-02-10")
    evaluation = _book("2026-10-01")
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["days_left"].value == 19
    assert evaluation.metadata["unsubmitted_ended_quarters"].value == "2026-Q1, 2026-Q2, 2026-Q3, 2026-Q4"


def test_after_the_deadline_a_year_is_reported_not_booked(demo_world_copy, monkeypatch, capsys):
    monkeypatch.setenv("JOULO_AS_OF", "2027-03-02")
    assert cli.main(["rev", "submit", "2026-Q1"]) == 1
    assert "deadline of delivery year 2026 was 2027-03-01" in capsys.readouterr().err
    _book("2026-01-01")
    report = demo_world_copy.exports / "2026-Q1" / "rev" / "unbooked_after_deadline.csv"
    lines = report.read_text().splitlines()
    assert lines[0] == "partner_id,ean,quarter_start,eligible_kwh,booked_kwh,unbooked_kwh"
    assert len(lines) > 10
    with duckdb.connect(str(demo_world_copy.warehouse), read_only=True) as con:
        drafts = con.execute("select count(*) from ledger.booked_units where delivery_year = 2026").fetchone()[0]
    assert drafts == 0, "no draft of a closed year is left to submit or pay out on"
