"""The verification year over the shared demo world with its four quarters of 2026 submitted: the population
with its lineage, the verifier's sample, site visits and findings, the statement, the status, the internal
controls, retention and prune."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import _point_env_at_existing
from joulo_pipelines import cli
from joulo_pipelines.lib.paths import DataDir

YEAR = "2026"


def submit_year() -> None:
    for number in range(1, 5):
        booking = f"{YEAR}-Q{number}"
        assert cli.main(["rev", "submit", booking, "--by", "anna"]) == 0
        assert cli.main(["rev", "approve", booking, "--by", "piet"]) == 0  # four eyes


@pytest.fixture(scope="module")
def submitted_world(demo_world, tmp_path_factory) -> DataDir:
    """The demo world with 2026's four quarters submitted and the population sent, built once per module."""
    root = tmp_path_factory.mktemp("verification") / "data"
    shutil.copytree(demo_world.root, root, symlinks=True)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _point_env_at_existing(root, monkeypatch)
        submit_year()
        assert cli.main(["verification", YEAR, "export-population", "--by", "anna"]) == 0
    return DataDir(root)


@pytest.fixture
def world(submitted_world, tmp_path, monkeypatch) -> DataDir:
    """A private copy of the submitted world that the test may change; the env points at it."""
    root = tmp_path / "data"
    shutil.copytree(submitted_world.root, root, symlinks=True)
    _point_env_at_existing(root, monkeypatch)
    return DataDir(root)


def rows(path: Path) -> list[dict]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def query(data_dir: DataDir, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def booked(data_dir: DataDir) -> list[tuple[str, str]]:
    """(ean, partner_id) of every EAN booked in the year."""
    return query(data_dir, "select distinct ean, partner_id from ledger.rev_booking_lines where delivery_year = ? "
                           "order by all", [int(YEAR)])


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_the_population_is_every_booked_line_with_who_submitted_it_and_the_files_it_rests_on(world):
    folder = world.exports / "verification" / YEAR
    lines = rows(folder / "population.csv")
    ledger = query(world, "select booking_id, line_number, ean, kwh from ledger.rev_booking_lines "
                          "where delivery_year = 2026 order by all")
    assert sorted((r["booking_id"], int(r["line_number"]), r["ean"]) for r in lines) == [l[:3] for l in ledger]
    assert {r["booking_id"] for r in lines} == {f"{YEAR}-Q{n}" for n in range(1, 5)}
    assert all(r["prepared_by"] == "anna" and r["approved_by"] == "piet" and r["approved_at"] for r in lines)
    assert all(r["mandate_source_file"].endswith(".csv") and r["mandate_file_sha256"] for r in lines)

    # every line's change (an amendment's new total minus the total before) is split over the delivery quarters it books, each with the EAN's sessions that quarter
    parts = rows(folder / "population_quarters.csv")
    by_line: dict[tuple, float] = {}
    for part in parts:
        by_line[(part["booking_id"], part["line_number"])] = by_line.get((part["booking_id"], part["line_number"]), 0) \
            + float(part["booked_kwh"])
        assert int(part["session_count"]) > 0
    assert {key: round(kwh, 3) for key, kwh in by_line.items()} == \
        {(r["booking_id"], r["line_number"]): float(r["kwh"]) - float(r["previous_kwh"]) for r in lines}

    # and the sessions' source files are named with their hashes, whose raw bytes are kept
    sources = rows(folder / "population_sources.csv")
    ean = lines[0]["ean"]
    sessions_of_ean = query(world, "select count(*) from marts.fct_charging_sessions where ean = ? and "
                                   "timezone('Europe/Amsterdam', started_at) < timestamp '2026-04-01' and "
                                   "timezone('Europe/Amsterdam', ended_at) >= timestamp '2026-01-01'", [ean])[0][0]
    assert sum(int(s["sessions"]) for s in sources
               if s["ean"] == ean and s["delivery_quarter_start"] == "2026-01-01") == sessions_of_ean > 0
    assert all(list(world.raw.glob(f"{s['file_sha256']}.*")) for s in sources)

    population = json.loads((folder / "population.json").read_text())
    assert len(population["lines"]) == len(lines)
    first = population["lines"][0]
    assert first["delivery_quarters"][0]["source_files"][0]["file_sha256"]
    assert query(world, "select event, recorded_by from verification.events") == [("population_sent", "anna")]


def test_a_sample_naming_an_ean_outside_the_population_is_refused_with_file_row_column_and_value(world, capsys):
    (ean, partner), *_ = booked(world)
    sample = write(world.root / "sample_bad.csv", f"ean,partner_id\n{ean},{partner}\n871000000000000011,\n")
    assert cli.main(["verification", YEAR, "import-sample", str(sample)]) == 2
    err = capsys.readouterr().err
    assert ("sample_bad.csv, row 3, column ean, value '871000000000000011': not in the population of 2026" in err
            and "nothing imported" in err)
    assert query(world, "select count(*) from verification.verifier_lists")[0][0] == 0

    wrong_partner = write(world.root / "sample_partner.csv", f"ean,partner_id\n{ean},somebody_else\n")
    assert cli.main(["verification", YEAR, "import-sample", str(wrong_partner)]) == 2
    assert f"row 2, column partner_id, value 'somebody_else': EAN {ean} was booked for {partner}" in \
        capsys.readouterr().err


def test_the_audit_pack_is_built_for_exactly_the_verifiers_imported_sample(world, capsys):
    assert cli.main(["audit-pack", "--year", YEAR]) == 2
    assert "no sample of 2026 imported: the verifier chooses it" in capsys.readouterr().err

    eans = [ean for ean, _ in booked(world)]
    chosen = [eans[0], eans[5], eans[-1]]
    sample = write(world.root / "steekproef.csv", "EAN;location\n" + "".join(f"{e};site {i}\n" for i, e in enumerate(chosen)))
    assert cli.main(["verification", YEAR, "import-sample", str(sample), "--by", "verifier"]) == 0
    assert cli.main(["audit-pack", "--year", YEAR]) == 0
    root = world.exports / "audit" / YEAR
    index = json.loads((root / "index.json").read_text())
    assert [entry["ean"] for entry in index["eans"]] == sorted(chosen)
    assert index["selection"]["method"] == "verifier_sample" and index["selection"]["source_file"] == "steekproef.csv"
    assert {p.name for p in root.iterdir() if p.is_dir()} == set(chosen)

    # the verifier's next sample replaces the pack: exactly that sample again
    write(sample, f"ean\n{eans[1]}\n")
    assert cli.main(["verification", YEAR, "import-sample", str(sample)]) == 0
    assert cli.main(["audit-pack", "--year", YEAR]) == 0
    assert {p.name for p in root.iterdir() if p.is_dir()} == {eans[1]}


def test_a_site_visit_sheet_per_partner_names_address_charge_point_contact_and_what_is_checked(world):
    (first, first_partner), *rest = booked(world)
    other, other_partner = next((e, p) for e, p in rest if p != first_partner)
    visits = write(world.root / "visits.csv", f"ean,partner_id,location\n{first},,Stationsweg\n{other},{other_partner},\n")
    assert cli.main(["verification", YEAR, "import-site-visits", str(visits)]) == 0
    folder = world.exports / "verification" / YEAR / "site_visits"
    assert {p.name for p in folder.iterdir()} == {f"{first_partner}.csv", f"{other_partner}.csv"}
    sheet = rows(folder / f"{first_partner}.csv")
    assert [r["ean"] for r in sheet] and {r["ean"] for r in sheet} == {first}
    row = sheet[0]
    assert row["location"] == "Stationsweg" and row["street"] and row["postal_code"] and row["contact_name"]
    assert row["charge_point_ref"] and row["meter_serial"] and row["mid_certificate"]
    assert "MID marking" in row["verifier_checks"]


def test_findings_are_imported_and_every_corrective_booking_is_linked_to_its_finding(world, capsys):
    (ean, _), (other_ean, _), *_ = booked(world)
    in_q2 = query(world, "select booking_id from ledger.rev_booking_lines where ean = ? and booking_id = '2026-Q2'",
                  [ean])
    assert in_q2
    register = write(world.root / "findings.csv",
                     "finding_id,ean,severity,corrective_action,due_date,status\n"
                     f"F-1,{ean},material,book the EAN's corrected kWh,2027-03-15,open\n"
                     "F-2,,observation,describe the second approver,2027-03-15,open\n")
    assert cli.main(["verification", YEAR, "import-findings", str(register), "--by", "anna"]) == 0
    assert cli.main(["verification", YEAR, "link-booking", "F-1", "2026-Q2", "--by", "anna"]) == 0
    assert query(world, "select finding_id, booking_id, linked_by from verification.finding_bookings") == \
        [("F-1", "2026-Q2", "anna")]

    assert cli.main(["verification", YEAR, "link-booking", "F-9", "2026-Q2"]) == 2
    assert "finding 'F-9' is not in the findings register of 2026; known: F-1, F-2" in capsys.readouterr().err
    assert cli.main(["verification", YEAR, "link-booking", "F-1", "2027-Q1"]) == 2
    assert "booking '2027-Q1' is not submitted" in capsys.readouterr().err

    bad = write(world.root / "findings_bad.csv", "finding_id,ean,severity,corrective_action,due_date,status\n"
                                                 f"F-3,{other_ean},huge,fix,15-03-2027,open\n")
    assert cli.main(["verification", YEAR, "import-findings", str(bad)]) == 2
    assert "findings_bad.csv, row 2, column severity, value 'huge': accepted: material, non_material, observation" \
        in capsys.readouterr().err

    assert cli.main(["verification", YEAR, "status"]) == 0
    out = capsys.readouterr().out
    assert "2 of 2" in out and "2026-Q2" in out


def test_the_year_goes_from_population_sent_to_reported_to_the_nea_with_the_statement_code(world, capsys):
    from joulo_pipelines.lib.verification.status import year_status

    def status():
        with duckdb.connect(str(world.warehouse), read_only=True) as con:
            return year_status(con, int(YEAR))

    assert status().population_sent_at and not status().sample_received_at and not status().statement_issued
    (ean, _), *_ = booked(world)
    assert cli.main(["verification", YEAR, "import-sample", str(write(world.root / "s.csv", f"ean\n{ean}\n"))]) == 0
    findings = world.root / "findings.csv"
    write(findings, f"finding_id,ean,severity,corrective_action,due_date,status\nF-1,{ean},material,rebook,2027-03-15,open\n")
    assert cli.main(["verification", YEAR, "import-findings", str(findings)]) == 0
    assert (status().sample_eans, status().findings_open) == (1, 1)

    assert cli.main(["verification", YEAR, "reported", "--by", "piet"]) == 2
    assert "no statement of 2026 recorded" in capsys.readouterr().err
    assert cli.main(["verification", YEAR, "record-statement", "VV-2026-0042", "--by", "piet"]) == 2
    assert "1 finding(s) of 2026 still open" in capsys.readouterr().err

    write(findings, f"finding_id,ean,severity,corrective_action,due_date,status\nF-1,{ean},material,rebook,2027-03-15,closed\n")
    assert cli.main(["verification", YEAR, "import-findings", str(findings)]) == 0
    assert cli.main(["verification", YEAR, "record-statement", "VV-2026-0042", "--by", "piet"]) == 0
    assert (status().statement_code, status().findings_open, status().reported) == ("VV-2026-0042", 0, False)
    assert cli.main(["verification", YEAR, "record-statement", "OTHER", "--by", "piet"]) == 2
    assert "already recorded: VV-2026-0042" in capsys.readouterr().err
    assert cli.main(["verification", YEAR, "reported", "--by", "piet"]) == 0
    assert status().reported and status().statement_issued

    assert cli.main(["verification", YEAR, "status"]) == 0
    out = capsys.readouterr().out
    assert "VV-2026-0042" in out and "0 of 1" in out and "not yet" not in out


def test_internal_controls_list_the_asset_checks_the_definitions_hold_and_the_tests(world, definitions):
    assert cli.main(["verification", YEAR, "internal-controls"]) == 0
    text = (world.exports / "verification" / YEAR / "internal_controls.md").read_text()
    graph = definitions.get_repository_def().asset_graph
    names = {key.name for key in graph.asset_check_keys}
    assert {"energy_reconciles", "records_retained", "eligibility_holds_its_invariants"} <= names
    assert all(f"`{name}`" in text for name in names)
    assert "Every kWh explained: per partner, EAN and quarter, raw delivered = clean + adjusted, exactly." in text
    assert "dbt unique_combination (columns: partner_id, session_ref)" in text
    assert "### test_verification_year.py" in text
    assert "- internal controls list the asset checks the definitions hold and the tests" in text


def test_prune_is_refused_with_the_date_it_becomes_allowed_and_afterwards_deletes_only_the_years_raw_files(
        world, capsys, monkeypatch):
    raw_before = sorted(world.raw.iterdir())
    assert cli.main(["prune", "--year", YEAR]) == 2
    refused = ("records of delivery year 2026 are kept until 2033-01-01 at the earliest (its verifier's statement "
               "is not recorded yet; five years after the verification year): nothing pruned")
    assert refused in capsys.readouterr().err
    monkeypatch.setenv("JOULO_AS_OF", "2040-01-01")  # a year never verified is never pruned
    assert cli.main(["prune", "--year", YEAR]) == 2
    assert refused in capsys.readouterr().err
    monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
    assert cli.main(["verification", YEAR, "record-statement", "VV-1", "--by", "piet"]) == 0
    monkeypatch.setenv("JOULO_AS_OF", "2032-12-31")
    assert cli.main(["prune", "--year", YEAR]) == 2
    assert "kept until 2033-01-01 (five years after its verification)" in capsys.readouterr().err
    assert sorted(world.raw.iterdir()) == raw_before

    monkeypatch.setenv("JOULO_AS_OF", "2033-01-01")
    assert cli.main(["prune", "--year", YEAR]) == 0
    kept = query(world, "select count(*) from verification.retained_items where item_kind = 'raw_file'")[0][0]
    assert f"prune 2026: {kept} raw file(s) deleted" in capsys.readouterr().out
    assert len(list(world.raw.iterdir())) == len(raw_before) - kept
    assert query(world, "select count(*) from ledger.rev_booking_lines")[0][0] > 0  # the ledger stays


def test_the_retention_check_fails_when_a_file_or_ledger_row_the_year_rests_on_is_gone(world, capsys):
    from joulo_pipelines.cli import runner

    assert cli.main(["verification", YEAR, "retention-check"]) == 0
    assert "0 problem(s); kept until 2033-01-01 at the earliest" in capsys.readouterr().out
    assert not (world.exports / "verification" / YEAR / "internal_controls.md").exists()

    source = rows(world.exports / "verification" / YEAR / "population_sources.csv")[0]["file_sha256"]
    (raw,) = world.raw.glob(f"{source}.*")
    raw.unlink()
    landed = next(world.landing.glob(f"*/*/{source}.parquet"))
    landed.write_bytes(landed.read_bytes() + b"\0")
    with duckdb.connect(str(world.warehouse)) as con:
        con.execute("delete from ledger.rev_booking_lines where booking_id = '2026-Q3' and line_number = 1")
    assert cli.main(["verification", YEAR, "retention-check"]) == 1
    out = capsys.readouterr().out
    assert f"raw_file landing/raw/{source}: missing (recorded SHA-256 {source})" in out
    assert f"landed_rows {landed.relative_to(world.root).as_posix()}: changed" in out
    assert "ledger_rows ledger.rev_booking_lines:2026-Q3:" in out and "3 problem(s)" in out

    # the Dagster asset check of the year's population says the same
    result = runner.execute("verification_job", partition_key=YEAR, raise_on_error=False)
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "records_retained"]
    assert not evaluation.passed and evaluation.metadata["problems"].value == 3
    controls = world.exports / "verification" / YEAR / "internal_controls.md"
    assert "`records_retained` | yes | Retention:" in controls.read_text()  # written by the same job


def test_year_status_reads_a_warehouse_where_nothing_was_recorded_yet(demo_world):
    from joulo_pipelines.lib.verification.status import YearStatus, year_status

    with duckdb.connect(str(demo_world.warehouse), read_only=True) as con:
        assert year_status(con, 2026) == YearStatus(2026)
    assert not YearStatus(2026).statement_issued and not YearStatus(2026).reported
