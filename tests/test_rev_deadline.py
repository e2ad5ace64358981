"""The register's calendar (the last Dutch working day before 1 March, 1 April and 1 May of the next year):
the watches warn as a deadline nears while its step is not done and fail after it; after the booking deadline
nothing of the year is submitted and what is left is reported."""

from __future__ import annotations

from datetime import date

import dagster as dg
import duckdb
import pytest

from joulo_pipelines import cli
from joulo_pipelines.defs.registration.assets import rev_booking
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib.registration.deadline import booking_deadline, deadlines, last_booking_day, last_day
from joulo_pipelines.lib.registration.statement_watch import recorded_statements, statement_watches
from joulo_pipelines.lib.verification.store import ensure_verification, record_event


def _book(partition_key: str) -> dict[str, dg.AssetCheckEvaluation]:
    """The booking asset's deadline watches, by check name."""
    result = dg.materialize([rev_booking], partition_key=partition_key, resources={"data_dir": DataDirResource()},
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_2026_bookings_close_after_friday_26_february_2027_because_1_march_is_a_monday():
    assert last_booking_day(2026) == date(2027, 2, 26)  # the last day on which the REV takes them
    assert booking_deadline(2026) == date(2027, 2, 27)  # the first day on which it no longer does
    assert deadlines(2026) == {"booking": date(2027, 2, 26), "verifier_statement": date(2027, 3, 31),
                               "nea_statement": date(2027, 4, 30)}


def test_weekends_and_dutch_public_holidays_are_not_working_days():
    # 1 March 2025 is a Saturday: 2024 bookings closed after Friday 28 February.
    assert last_booking_day(2024) == date(2025, 2, 28)
    # 1 April 2024 is Easter Monday and 31 March Easter Sunday: the verifier's statement on 2023 was due
    # by Thursday 28 March (Good Friday, 29 March, is a public holiday in the calendar we use).
    assert last_day("verifier_statement", 2023) == date(2024, 3, 28)
    # 1 May 2032 is a Saturday, 30 April a Friday: an ordinary working day.
    assert last_day("nea_statement", 2031) == date(2032, 4, 30)
    with pytest.raises(ValueError, match="unknown deadline 'payout'"):
        last_day("payout", 2026)


def test_a_statement_watch_warns_ahead_fails_after_and_is_quiet_once_recorded():
    [verifier, nea] = statement_watches(2026, date(2027, 1, 15), recorded=set())
    assert (verifier.last_day, verifier.days_left, verifier.needs_attention) == (date(2027, 3, 31), 75, False)
    [verifier, nea] = statement_watches(2026, date(2027, 3, 20), recorded=set())
    assert verifier.needs_attention and not verifier.is_overdue and nea.needs_attention
    [verifier, nea] = statement_watches(2026, date(2027, 4, 1), recorded={"verifier_statement"})
    assert not verifier.needs_attention and not verifier.is_overdue
    assert nea.needs_attention and not nea.is_overdue
    [_, nea] = statement_watches(2026, date(2027, 5, 1), recorded={"verifier_statement"})
    assert nea.is_overdue


def test_a_statement_counts_as_recorded_once_the_verification_year_records_it():
    with duckdb.connect() as con:
        assert recorded_statements(con, 2026) == set()  # no verification year kept yet
        ensure_verification(con)
        record_event(con, 2026, "population_sent", "anna")
        record_event(con, 2026, "statement_issued", "anna", detail="VER-2026-001")
        record_event(con, 2025, "reported", "anna")
        assert recorded_statements(con, 2026) == {"verifier_statement"}
        record_event(con, 2026, "reported", "bert")
        assert recorded_statements(con, 2026) == {"verifier_statement", "nea_statement"}


def test_the_watch_is_quiet_early_and_warns_as_the_deadline_nears_with_unbooked_kwh(demo_world_copy, monkeypatch):
    monkeypatch.setenv("JOULO_AS_OF", "2026-12-01")
    assert _book("2026-10-01")["booking_deadline_watch"].passed  # 88 days ahead: outside the 60-day window
    monkeypatch.setenv("JOULO_AS_OF", "2027-02-10")
    evaluation = _book("2026-10-01")["booking_deadline_watch"]
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["days_left"].value == 17  # to the first closed day, Saturday 27 February
    assert evaluation.metadata["last_booking_day"].value == "2027-02-26"
    assert evaluation.metadata["unsubmitted_ended_quarters"].value == "2026-Q1, 2026-Q2, 2026-Q3, 2026-Q4"


def test_after_the_deadline_a_year_is_reported_not_booked(demo_world_copy, monkeypatch, capsys):
    monkeypatch.setenv("JOULO_AS_OF", "2027-02-27")
    assert cli.main(["rev", "submit", "2026-Q1"]) == 2
    assert "bookings of delivery year 2026 closed after 2027-02-26" in capsys.readouterr().err
    watches = _book("2026-01-01")
    booking_watch = watches["booking_deadline_watch"]
    assert not booking_watch.passed and booking_watch.severity == dg.AssetCheckSeverity.ERROR
    # The verifier's statement is not recorded: a warning 32 days ahead of 31 March, an error after it.
    ahead = watches["verifier_statement_deadline_watch"]
    assert (ahead.passed, ahead.severity, ahead.metadata["days_left"].value) == (False, dg.AssetCheckSeverity.WARN, 32)
    monkeypatch.setenv("JOULO_AS_OF", "2027-04-01")
    after = _book("2026-01-01")["verifier_statement_deadline_watch"]
    assert (after.passed, after.severity, after.metadata["last_day"].value) == (False, dg.AssetCheckSeverity.ERROR,
                                                                                "2027-03-31")
    report = demo_world_copy.exports / "2026-Q1" / "rev" / "unbooked_after_deadline.csv"
    lines = report.read_text().splitlines()
    assert lines[0] == "partner_id,ean,quarter_start,eligible_kwh,booked_kwh,unbooked_kwh"
    assert len(lines) > 10
    with duckdb.connect(str(demo_world_copy.warehouse), read_only=True) as con:
        drafts = con.execute("select count(*) from ledger.booked_units where delivery_year = 2026").fetchone()[0]
    assert drafts == 0, "no draft of a closed year is left to submit or pay out on"
