"""The register's object model on a small REV world (tests/rev_world.py): connections sent once and again only
when their data change, amendments (never negative lines) naming the register's delivery id once imported,
four eyes on every submission, and the register's ids kept by import-result."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest
from rev_world import (
    EANS,
    TODAY,
    assert_register_files_hold_nothing_internal,
    book,
    child_text,
    make_warehouse,
    register_elements,
    run,
    set_eligible,
)

from joulo_pipelines import cli
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter


@pytest.fixture
def world(data_dir: DataDir, monkeypatch) -> DataDir:
    """Every EAN eligible for 100.1234 kWh in every quarter of 2026; as of 15 January 2027."""
    monkeypatch.setenv("JOULO_AS_OF", TODAY.isoformat())
    make_warehouse(data_dir)
    for index in range(len(EANS)):
        for number in range(1, 5):
            set_eligible(data_dir, index, Quarter(2026, number), Decimal("100.1234"))
    return data_dir


def _set_customer(data_dir: DataDir, index: int, **fields) -> None:
    with duckdb.connect(str(data_dir.warehouse)) as con:
        for name, value in fields.items():
            con.execute(f"update intermediate.int_customers_latest set {name} = ? where customer_ref = ?",
                        [value, f"C{index}"])


def test_a_connection_is_sent_once_and_again_only_when_its_data_change(world, tmp_path):
    book(world, "2026-Q1")
    sent = register_elements(world, "2026-Q1", "connections.xml")
    assert [child_text(c, "ean") for c in sent] == EANS
    assert [child_text(c, "kvkNumber") for c in sent[2].iter() if c.tag.endswith("}business")] == ["12345678"]
    book(world, "2026-Q2")
    assert register_elements(world, "2026-Q2", "connections.xml") == []

    result = tmp_path / "result.csv"
    result.write_text(f"booking_id,ean,units,connection_id\n2026-Q1,{EANS[1]},33.31,REV-C-28\n")
    assert cli.main(["rev", "import-result", str(result)]) == 0
    _set_customer(world, 1, street="Kerkstraat")
    run(world, 3)
    [again] = register_elements(world, "2026-Q3", "connections.xml")
    assert (child_text(again, "ean"), child_text(again, "registerConnectionId")) == (EANS[1], "REV-C-28")
    assert [c.text for c in again.iter() if c.tag.endswith("}street")] == ["Kerkstraat"]
    book(world, "2026-Q3")
    book(world, "2026-Q4")
    assert register_elements(world, "2026-Q4", "connections.xml") == []


def test_a_late_change_is_an_amendment_to_the_new_total_with_the_registers_delivery_id(world, tmp_path):
    book(world, "2026-Q1")
    result = tmp_path / "result.csv"
    result.write_text("booking_id;ean;units;delivery_id;connection_id\n"
                      + "".join(f"2026-Q1;{ean};33,31;REV-D-{n};REV-C-{n}\n" for n, ean in enumerate(EANS)))
    assert cli.main(["rev", "import-result", str(result)]) == 0
    set_eligible(world, 0, Quarter(2026, 1), Decimal(150))
    set_eligible(world, 1, Quarter(2026, 1), None)  # stops qualifying
    run(world, 2)

    amendments = register_elements(world, "2026-Q2", "amendments.xml")
    assert [(child_text(a, "ean"), child_text(a, "registerDeliveryId"), child_text(a, "kWh"), child_text(a, "reason"))
            for a in amendments] == [
        (EANS[0], "REV-D-0", "150.000", "late or corrected data added kWh (was 100.123 kWh)"),
        (EANS[1], "REV-D-1", "0.000", "no longer eligible (was 100.123 kWh)")]
    assert all(a.find("{*}period").attrib == {"begin": "2026-01-01", "end": "2026-03-31"} for a in amendments)
    deliveries = register_elements(world, "2026-Q2", "deliveries.xml")
    assert {(child_text(d, "ean"), d.find("{*}period").get("begin")) for d in deliveries} == \
        {(ean, "2026-04-01") for ean in EANS}

    book(world, "2026-Q2")
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        lines = con.execute(
            "select booking_id, kind, kwh, previous_kwh, amends_booking_id, register_delivery_id from "
            "ledger.rev_booking_lines where ean = ? and delivery_quarter_start = '2026-01-01' order by booking_id",
            [EANS[0]]).fetchall()
        changes = con.execute(
            "select booking_id, kind, kwh from ledger.booked_units where ean = ? "
            "and delivery_period_start = '2026-01-01' order by booking_id", [EANS[1]]).fetchall()
        negative = con.execute("select count(*) from ledger.rev_booking_lines where kwh < 0").fetchone()[0]
    assert lines == [("2026-Q1", "delivery", Decimal("100.123"), Decimal("0.000"), None, None),
                     ("2026-Q2", "amendment", Decimal("150.000"), Decimal("100.123"), "2026-Q1", "REV-D-0")]
    # payouts count an amendment by what it changes
    assert changes == [("2026-Q1", "delivery", Decimal("100.123")), ("2026-Q2", "amendment", Decimal("-100.123"))]
    assert negative == 0


def test_the_preparer_cannot_approve_a_second_person_can(world, monkeypatch, capsys):
    run(world, 1)
    assert cli.main(["rev", "approve", "2026-Q1", "--by", "bo"]) == 2
    assert "is not prepared" in capsys.readouterr().err
    assert cli.main(["rev", "submit", "2026-Q1", "--by", "An"]) == 0
    assert cli.main(["rev", "approve", "2026-Q1", "--by", "an"]) == 2
    error = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("clock: ")]
    assert len(error) == 1 and "2026-Q1 was prepared by An: another person approves it (four eyes" in error[0]
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from ledger.rev_submissions").fetchone()[0] == 0
    assert cli.main(["rev", "approve", "2026-Q1", "--by", "bo"]) == 0
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        row = con.execute("select prepared_by, approved_by, prepared_at is not null, approved_at is not null "
                          "from ledger.rev_submissions where booking_id = '2026-Q1'").fetchone()
    assert row == ("An", "bo", True, True)
    assert '"status": "submitted"' in (world.exports / "2026-Q1" / "rev" / "manifest.json").read_text()

    run(world, 2)
    monkeypatch.setenv("JOULO_REV_FOUR_EYES", "off")  # a one-person trial
    assert cli.main(["rev", "submit", "2026-Q2", "--by", "an"]) == 0
    assert cli.main(["rev", "approve", "2026-Q2", "--by", "an"]) == 0


def test_a_draft_that_changed_after_it_was_prepared_is_not_approved(world, capsys):
    run(world, 1)
    assert cli.main(["rev", "submit", "2026-Q1", "--by", "an"]) == 0
    set_eligible(world, 0, Quarter(2026, 1), Decimal(7))
    run(world, 1)
    assert cli.main(["rev", "approve", "2026-Q1", "--by", "bo"]) == 2
    assert "draft changed since an prepared it" in capsys.readouterr().err
    assert cli.main(["rev", "submit", "2026-Q1", "--by", "an"]) == 0
    assert cli.main(["rev", "approve", "2026-Q1", "--by", "bo"]) == 0


def test_import_result_keeps_the_registers_ids_and_refuses_a_delivery_id_it_cannot_place(world, tmp_path, capsys):
    book(world, "2026-Q1")
    set_eligible(world, 0, Quarter(2026, 1), Decimal(150))
    book(world, "2026-Q2")
    bad = tmp_path / "bad.xml"
    bad.write_text(f'<revResult><booking bookingId="2026-Q2"><issued ean="{EANS[0]}" units="1" deliveryId="X"/>'
                   f'<issued ean="{EANS[1]}" units="1" periodStart="2026-02-01"/></booking></revResult>')
    assert cli.main(["rev", "import-result", str(bad)]) == 2
    error = capsys.readouterr().err
    assert "bad.xml refused, nothing imported" in error
    assert f"row 2: EAN {EANS[1]} has no line with period_start 2026-02-01 in booking 2026-Q2" in error
    # 2026-Q2 holds EANS[0]'s own delivery and an amendment of Q1: the delivery id is the delivery's
    good = tmp_path / "good.xml"
    good.write_text(f'<revResult><booking bookingId="2026-Q2"><issued ean="{EANS[0]}" units="1" deliveryId="D-Q2" '
                    f'connectionId="C-0" periodStart="2026-04-01"/>'
                    f'<issued ean="{EANS[0]}" units="2" periodStart="2026-01-01"/></booking></revResult>')
    assert cli.main(["rev", "import-result", str(good)]) == 0
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        ids = con.execute("select booking_id, ean, delivery_quarter_start, delivery_id from ledger.rev_delivery_ids"
                          ).fetchall()
        connections = con.execute("select ean, connection_id from ledger.rev_connection_ids").fetchall()
        issued = con.execute("select units from ledger.rev_issued_units where booking_id = '2026-Q2'").fetchall()
    assert [(b, e, str(q), d) for b, e, q, d in ids] == [("2026-Q2", EANS[0], "2026-04-01", "D-Q2")]
    assert connections == [(EANS[0], "C-0")]
    assert issued == [(Decimal("3.000000000000"),)]


def test_every_register_file_holds_nothing_internal(world, tmp_path):
    book(world, "2026-Q1")
    set_eligible(world, 2, Quarter(2026, 1), Decimal("1.5"))
    run(world, 2)
    assert_register_files_hold_nothing_internal(world)
