"""A whole delivery year on the small REV world (tests/rev_world.py), through `joulo` commands as the clock
moves: four quarters prepared and approved by two people, a late file amending Q1 in Q3 under the register's
delivery id, what the REV issued reconciled exactly (and a wrong renewable share caught), the verifier's sample
and its audit pack, a finding closed by a corrective booking, the statement recorded and reported; every
register file valid and free of internal fields; the register's deadline for 2026 on 26 February 2027."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import dagster as dg
import duckdb
from cli_tables import table
from rev_world import (
    EANS,
    ERE_PER_KWH,
    assert_register_files_hold_nothing_internal,
    book,
    child_text,
    make_warehouse,
    register_elements,
    run,
    set_eligible,
)

from joulo_pipelines import cli
from joulo_pipelines.defs.registration.assets import rev_reconciliation
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.registration.deadline import last_booking_day
from joulo_pipelines.lib.registration.export import (
    REGISTER_FILES,
)
from joulo_pipelines.lib.registration.reconciliation import REV_UNIT_DECIMALS, reconcile

YEAR = 2026
KWH = Decimal("100.1234")  # every EAN's eligible kWh in every quarter, until a late file says otherwise


def test_2026_bookings_close_on_friday_26_february_2027():
    assert last_booking_day(YEAR) == date(2027, 2, 26)  # 1 March 2027 is a Monday


def test_a_delivery_year_goes_from_the_first_quarter_to_the_statement_reported_to_the_nea(
        data_dir, monkeypatch, capsys, tmp_path):
    make_warehouse(data_dir)
    _add_evidence(data_dir)
    for index in range(len(EANS)):
        for number in range(1, 5):
            set_eligible(data_dir, index, Quarter(YEAR, number), KWH)

    def on(day: str) -> None:
        monkeypatch.setenv("JOULO_AS_OF", day)

    def refused(args: list[str]) -> str:
        assert cli.main(args) == 2
        return capsys.readouterr().err

    # Q1: not before it ends; the preparer is refused as approver, a second person approves.
    on("2026-03-31")
    run(data_dir, 1)
    assert "2026-Q1 has not ended yet" in refused(["rev", "submit", "2026-Q1", "--by", "an"])
    on("2026-04-02")
    assert cli.main(["rev", "submit", "2026-Q1", "--by", "an"]) == 0
    assert "2026-Q1 was prepared by an: another person approves it" in \
        refused(["rev", "approve", "2026-Q1", "--by", "an"])
    assert cli.main(["rev", "approve", "2026-Q1", "--by", "bo"]) == 0
    _import_result(data_dir, tmp_path, "2026-Q1")  # the register's connection and delivery ids with its units
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        assert sorted(con.execute("select ean, connection_id from ledger.rev_connection_ids").fetchall()) == \
            [(ean, f"REV-C-{ean[-2:]}") for ean in EANS]

    on("2026-07-02")
    book(data_dir, "2026-Q2", "an", "bo")
    assert register_elements(data_dir, "2026-Q2", "amendments.xml") == []
    _import_result(data_dir, tmp_path, "2026-Q2")

    # A late file raises EANS[0]'s Q1 to 150 kWh: Q3 amends the Q1 delivery to the new total, by the
    # register's id of that delivery; Q3's own deliveries are as ever.
    set_eligible(data_dir, 0, Quarter(YEAR, 1), Decimal(150))
    on("2026-10-02")
    book(data_dir, "2026-Q3", "bo", "an")
    [amendment] = register_elements(data_dir, "2026-Q3", "amendments.xml")
    assert (child_text(amendment, "ean"), child_text(amendment, "kWh"), child_text(amendment, "registerDeliveryId")) == \
        (EANS[0], "150.000", _delivery_id("2026-Q1", EANS[0]))
    assert amendment.find("{*}period").attrib == {"begin": "2026-01-01", "end": "2026-03-31"}
    assert {child_text(d, "ean") for d in register_elements(data_dir, "2026-Q3", "deliveries.xml")} == set(EANS)

    on("2027-01-04")
    book(data_dir, "2026-Q4", "an", "bo")
    _import_result(data_dir, tmp_path, "2026-Q4")

    # Q3 issued with a renewable share of 0.495 where the factor rests on 0.505: a break on every EAN, named.
    wrong = {ean: units * Decimal("0.495") / Decimal("0.505")
             for ean, units in _expected_units(data_dir, "2026-Q3").items()}
    _import_result(data_dir, tmp_path, "2026-Q3", units=wrong, name="rev_2026q3_wrong_share.csv")
    check = _reconcile(Quarter(YEAR, 3))["issued_units_exact"]
    assert not check.passed and check.metadata["breaks"].value == len(EANS)
    assert all(f"booking 2026-Q3, EAN {ean}: the REV issued" in check.metadata["first_breaks"].value for ean in EANS)
    assert f"x {ERE_PER_KWH} ERE/kWh" in check.metadata["first_breaks"].value
    # the register's corrected result: kWh x factor on every EAN of every quarter
    _import_result(data_dir, tmp_path, "2026-Q3")
    for number in range(1, 5):
        checks = _reconcile(Quarter(YEAR, number))
        assert checks["issued_units_exact"].passed, checks["issued_units_exact"].metadata["first_breaks"].value
        assert checks["issued_units_exact"].metadata["eans_compared"].value == len(EANS)
        assert checks["year_within_materiality"].passed

    # The verification year: the population sent, the verifier's own sample and its audit pack.
    on("2027-01-20")
    assert _status(capsys)["population sent"] == "not yet"
    assert cli.main(["verification", str(YEAR), "export-population", "--by", "an"]) == 0
    population = (data_dir.exports / "verification" / str(YEAR) / "population.csv").read_text().splitlines()
    assert len(population) - 1 == 4 * len(EANS) + 1  # every delivery and the amendment
    sample = tmp_path / "steekproef.csv"
    sample.write_text(f"ean;location\n{EANS[2]};site 2\n{EANS[0]};site 0\n")
    assert cli.main(["verification", str(YEAR), "import-sample", str(sample), "--by", "verifier"]) == 0
    # This small world has no landed customers or consent texts for a mandate document to show: the document
    # (consent text, signing record, events) is tested over the demo world in test_audit_pack.py.
    monkeypatch.setattr("joulo_pipelines.lib.registration.audit_pack.render_mandate_document",
                        lambda con, partner_id, customer_ref: f"mandate of {partner_id}/{customer_ref}")
    assert cli.main(["audit-pack", "--year", str(YEAR)]) == 0
    pack = data_dir.exports / "audit" / str(YEAR)
    index = json.loads((pack / "index.json").read_text())
    assert [entry["ean"] for entry in index["eans"]] == sorted([EANS[0], EANS[2]])
    assert index["selection"]["method"] == "verifier_sample" and index["selection"]["source_file"] == sample.name
    assert {p.name for p in pack.iterdir() if p.is_dir()} == {EANS[0], EANS[2]}
    bookings = (pack / EANS[0] / "bookings.csv").read_text()
    assert "2026-Q3" in bookings and "amendment" in bookings
    assert json.loads((pack / EANS[0] / "mandate.json").read_text())["mandates"][0]["connection_holder"] == "Holder 0"
    status = _status(capsys)
    assert status["population sent"] != "not yet" and "(2 EAN(s))" in status["sample received"]

    # A finding on EANS[1] (its Q2 kWh too low), closed by a corrective booking linked to it.
    findings = tmp_path / "findings.csv"
    findings.write_text("finding_id,ean,severity,corrective_action,due_date,status\n"
                        f"F-1,{EANS[1]},material,book the EAN's Q2 sessions in full,2027-02-15,open\n")
    assert cli.main(["verification", str(YEAR), "import-findings", str(findings), "--by", "an"]) == 0
    assert _status(capsys)["findings open"] == "1 of 1"
    assert "1 finding(s) of 2026 still open" in \
        refused(["verification", str(YEAR), "record-statement", "VV-2026-0042", "--by", "bo"])
    set_eligible(data_dir, 1, Quarter(YEAR, 2), Decimal("120.5"))
    on("2027-02-01")
    run(data_dir, 4)  # every quarter is submitted: the change goes into the year's supplementary booking
    [correction] = register_elements(data_dir, "2026-S1", "amendments.xml")
    assert (child_text(correction, "ean"), child_text(correction, "kWh"), child_text(correction, "registerDeliveryId")) == \
        (EANS[1], "120.500", _delivery_id("2026-Q2", EANS[1]))
    on("2027-02-26")  # the register's last day for 2026 bookings
    assert cli.main(["rev", "submit", "2026-S1", "--by", "an"]) == 0
    assert cli.main(["rev", "approve", "2026-S1", "--by", "bo"]) == 0
    _import_result(data_dir, tmp_path, "2026-S1")
    with duckdb.connect(str(data_dir.warehouse)) as con:
        # a supplementary booking is made in 2027-Q1, a partition Dagster's wall clock may not have yet
        supplementary = reconcile(con, Quarter(YEAR + 1, 1).start, tmp_path / "reconciliation.csv")
    assert supplementary.passed and supplementary.compared_eans == 1
    assert cli.main(["verification", str(YEAR), "link-booking", "F-1", "2026-S1", "--by", "an"]) == 0
    findings.write_text(findings.read_text().replace(",open", ",closed"))
    assert cli.main(["verification", str(YEAR), "import-findings", str(findings), "--by", "an"]) == 0
    status_out = _status_text(capsys)
    assert table(status_out, "finding", "EAN", "severity", "status", "due", "corrective bookings") == [
        {"finding": "F-1", "EAN": EANS[1], "severity": "material", "status": "closed", "due": "2027-02-15",
         "corrective bookings": "2026-S1"}], status_out

    # After the register's last day for 2026 nothing of the year is booked any more.
    on("2027-02-27")
    assert "bookings of delivery year 2026 closed after 2027-02-26" in \
        refused(["rev", "submit", "2026-S2", "--by", "an"])

    # The statement's code recorded and reported to the NEa.
    on("2027-03-10")
    assert cli.main(["verification", str(YEAR), "record-statement", "VV-2026-0042", "--by", "bo"]) == 0
    status = _status(capsys)
    assert status["findings open"] == "0 of 1" and status["statement issued"].startswith("VV-2026-0042 (2027-03-10")
    assert status["reported to the NEa"] == "not yet"
    on("2027-04-02")
    assert cli.main(["verification", str(YEAR), "reported", "--by", "an"]) == 0
    assert _status(capsys)["reported to the NEa"].startswith("2027-04-02")

    # Two people on every submission; nothing negative, nothing internal in any file for the register.
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        people = con.execute("select booking_id, prepared_by, approved_by from ledger.rev_submissions "
                             "order by booking_id").fetchall()
    assert [booking for booking, *_ in people] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026-S1"]
    assert all(prepared != approved for _, prepared, approved in people)
    assert assert_register_files_hold_nothing_internal(data_dir) == len(people) * len(REGISTER_FILES)


def _add_evidence(data_dir: DataDir) -> None:
    """What the population and the audit pack read beyond the small world's mandates and kWh: the mandates'
    file (its raw bytes kept under its hash) and the evidence tables, empty here (no sessions or charge points)."""
    mandates = ("customer_ref,ean\n" + "".join(f"C{i},{ean}\n" for i, ean in enumerate(EANS))).encode()
    sha = hashlib.sha256(mandates).hexdigest()
    data_dir.raw.mkdir(parents=True, exist_ok=True)
    (data_dir.raw / f"{sha}.csv").write_bytes(mandates)
    eans = " ".join(f"when 'C{i}' then '{ean}'" for i, ean in enumerate(EANS))
    with duckdb.connect(str(data_dir.warehouse)) as con:
        con.execute(f"""
            create or replace table intermediate.int_customers_latest as
            select *, case customer_ref {eans} end as ean,
                   null::timestamptz as revoked_at, 'customers.csv' as source_file,
                   cast(substr(customer_ref, 2) as integer) + 2 as line_number, '{sha}' as file_sha256,
                   timestamptz '2025-12-01 10:00:00+01' as received_at
            from intermediate.int_customers_latest;
            create table marts.fct_charging_sessions (
                partner_id varchar, ean varchar, session_ref varchar, charge_point_ref varchar,
                started_at timestamptz, ended_at timestamptz, meter_start_wh bigint, meter_stop_wh bigint,
                delivered_kwh decimal(18, 6), export_kwh decimal(18, 6), kwh decimal(18, 6), source_type varchar,
                source_record varchar, signature_status varchar, source_file varchar, line_number integer,
                file_sha256 varchar, received_at timestamptz);
            create table intermediate.int_charge_points_latest (
                partner_id varchar, charge_point_ref varchar, customer_ref varchar, brand varchar, model varchar,
                serial_number varchar, meter_serial varchar, mid_certificate varchar, installed_date date,
                source_file varchar, line_number integer, file_sha256 varchar);
            create table intermediate.int_charge_point_meter_matches (
                brand varchar, model varchar, mid_status varchar, register_line varchar, register_brand varchar,
                register_source varchar);
            create table intermediate.int_charge_point_mid_documents (
                partner_id varchar, charge_point_ref varchar, document_sha256 varchar, reviewed_by varchar,
                reviewed_at timestamptz);
            create table intermediate.int_ocpp_charge_point_meters (
                partner_id varchar, charge_point_ref varchar, meter_type varchar, meter_serial varchar,
                charger_serial varchar);
            create table marts.fct_charge_point_eligibility (
                partner_id varchar, charge_point_ref varchar, ean varchar, delivery_year integer, quarter_start date,
                is_eligible boolean, eligibility_status varchar, reasons varchar, mid_status varchar,
                mid_evidence varchar, mid_document_sha256 varchar, delivery_period_start date, delivery_period_end date,
                kwh decimal(18, 6),
                eligible_kwh decimal(18, 6), session_count bigint);
            create table intermediate.int_meter_readings_unioned (
                partner_id varchar, charge_point_ref varchar, read_at timestamptz, register_wh bigint,
                source_type varchar, source_record varchar);
            create table intermediate.int_charge_points_connected (partner_id varchar, charge_point_ref varchar,
                                                                    ean varchar);
            create table marts.fct_energy_adjustments (
                partner_id varchar, charge_point_ref varchar, ean varchar, session_ref varchar, source_record varchar,
                quarter_start date, kwh decimal(18, 6), reason_code varchar, detail varchar);
        """)


def _delivery_id(booking: str, ean: str) -> str:
    """The id the register gives a delivery in this test's results."""
    return f"REV-D-{booking}-{ean[-2:]}"


def _expected_units(data_dir: DataDir, booking: str) -> dict[str, Decimal]:
    """Per EAN of the booking, kWh x the factor it was booked with: a delivery's kWh, an amendment's change."""
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        lines = con.execute("select ean, kwh, previous_kwh, ere_per_kwh from ledger.rev_booking_lines "
                            "where booking_id = ?", [booking]).fetchall()
    assert {factor for *_, factor in lines} == {ERE_PER_KWH}  # the year's factor on every line
    units: dict[str, Decimal] = {}
    for ean, kwh, previous, factor in lines:
        units[ean] = units.get(ean, Decimal(0)) + (kwh - previous) * factor
    return units


def _import_result(data_dir: DataDir, tmp_path, booking: str, units: dict[str, Decimal] | None = None,
                   name: str | None = None) -> None:
    """The register's result for the booking: per EAN its units (by default kWh x factor, rounded as the
    register rounds), the connection's id and, where the booking registered a delivery, that delivery's id."""
    units = units or _expected_units(data_dir, booking)
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        delivered = {ean for (ean,) in con.execute("select ean from ledger.rev_booking_lines where booking_id = ? "
                                                   "and kind = 'delivery'", [booking]).fetchall()}
    rows = [f"{booking},{ean},{issued.quantize(Decimal(1).scaleb(-REV_UNIT_DECIMALS), ROUND_HALF_UP)},"
            f"REV-C-{ean[-2:]},{_delivery_id(booking, ean) if ean in delivered else ''}\n"
            for ean, issued in sorted(units.items())]
    path = tmp_path / (name or f"rev_{booking}.csv")
    path.write_text("booking_id,ean,units,connection_id,delivery_id\n" + "".join(rows))
    assert cli.main(["rev", "import-result", str(path)]) == 0


def _reconcile(quarter: Quarter) -> dict[str, dg.AssetCheckEvaluation]:
    result = dg.materialize([rev_reconciliation], partition_key=quarter.start.isoformat(),
                            resources={"data_dir": DataDirResource()}, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _status_text(capsys) -> str:
    capsys.readouterr()
    assert cli.main(["verification", str(YEAR), "status"]) == 0
    return capsys.readouterr().out


def _status(capsys) -> dict[str, str]:
    """`joulo verification 2026 status`: the state of each step, by step."""
    return {row["step"]: row["state"] for row in table(_status_text(capsys), "step", "state")}
