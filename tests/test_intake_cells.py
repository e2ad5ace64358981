"""Cells the file intake refuses one by one, with a reason each: control characters and NUL bytes (the
API's rule), customer refs that would not make distinct file names, numbers the landing types cannot hold."""

import csv
import io
import json
import re

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from conftest import drop, make_data_dir
from test_api_servers import enrolment
from joulo_pipelines.lib.api.models import CustomerRef, Enrolment, Text
from joulo_pipelines.lib.contract import CONTROL_CHARACTERS
from joulo_pipelines.lib.intake import ingest_file

PARTNERS = ["alpha", "beta"]
CUSTOMERS_HEADER = ("customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,"
                    "mandate_valid_from,mandate_valid_until\n")


def customer(ref: str, name: str = "Jan de Vries", street: str = "Kerkstraat", city: str = "Amsterdam") -> str:
    return (f"{ref},{name},jan@example.nl,NL91ABNA0417164300,{street},1,1011AB,{city},871685900000000011,"
            "2026-01-05T10:00:00Z,2026-01-01,2026-12-31\n")


def report(data_dir, result) -> list[dict]:
    with (data_dir.root / result.report_path).open(newline="") as handle:
        return list(csv.DictReader(handle))


def landed(data_dir, partner, dataset, column) -> list:
    return [r[0] for r in duckdb.sql(f"select {column} from read_parquet('{data_dir.landing}/{partner}/{dataset}/"
                                     "*.parquet') order by line_number").fetchall()]


def test_control_characters_and_nul_bytes_in_text_cells_are_refused_per_cell_like_the_api(data_dir):
    content = CUSTOMERS_HEADER + "".join([
        customer("C1"),
        customer("C2", name="Jan\x0bde Vries"),
        customer("C3", street="Kerk\x00straat", city="Amster\tdam"),
        customer("C4", name="Piet\x7f"),
    ])
    result = ingest_file(data_dir, PARTNERS, drop(data_dir, "alpha", "customers.csv", content))

    assert result.status == "landed_with_errors"
    assert landed(data_dir, "alpha", "customers", "customer_ref") == ["C1"]
    errors = {(int(e["row"]), e["column"]): e for e in report(data_dir, result)}
    assert set(errors) == {(3, "name"), (4, "street"), (4, "city"), (5, "name")}
    assert "control character U+000B" in errors[3, "name"]["reason"]
    assert "control character U+0000" in errors[4, "street"]["reason"]
    assert "control character U+0009" in errors[4, "city"]["reason"]
    assert "control character U+007F" in errors[5, "name"]["reason"]
    assert all("without control characters" in e["reason"] for e in errors.values())
    # The report shows the value with the character made visible, never the raw byte.
    assert errors[4, "street"]["value"] == "Kerk\\x00straat"
    assert "\x00" not in (data_dir.root / result.report_path).read_text()
    # Logs and metadata get the reasons, not the names and streets.
    summary = json.dumps(result.summary())
    assert "Jan" not in summary and "Kerk" not in summary and "name: holds control character" in summary
    # The API refuses the same values, by the same rule.
    for value in ("Jan\x0bde Vries", "Kerk\x00straat", "Amster\tdam", "Piet\x7f"):
        with pytest.raises(ValidationError):
            TypeAdapter(Text).validate_python(value)


def test_customer_refs_that_would_not_make_distinct_file_names_are_refused_at_intake_and_by_the_api(data_dir):
    refs = ["X/../x", "X_.._x", "C 1", "C:1", "Cé1", ".hidden", "C-1.a_b", "R" * 65]
    content = CUSTOMERS_HEADER + "".join(customer(ref) for ref in refs)
    result = ingest_file(data_dir, PARTNERS, drop(data_dir, "alpha", "customers.csv", content))

    assert landed(data_dir, "alpha", "customers", "customer_ref") == ["X_.._x", "C-1.a_b"]
    errors = report(data_dir, result)
    assert sorted(int(e["row"]) for e in errors) == [2, 4, 5, 6, 7, 9]
    assert {e["column"] for e in errors} == {"customer_ref"}
    assert all("letters, digits, '.', '_' or '-'" in e["reason"] for e in errors)
    accepts = TypeAdapter(CustomerRef)
    for ref in refs:
        if ref in ("X_.._x", "C-1.a_b"):
            accepts.validate_python(ref)
        else:
            with pytest.raises(ValidationError):
                accepts.validate_python(ref)


def test_a_charge_point_naming_its_customer_by_an_impossible_ref_is_refused(data_dir):
    content = ("charge_point_ref,customer_ref,brand,model,serial_number\n"
               "CP1,C1,Alfen,Eve,SN1\nCP2,../C1,Alfen,Eve,SN2\n")
    result = ingest_file(data_dir, PARTNERS, drop(data_dir, "alpha", "charge_points.csv", content))
    assert landed(data_dir, "alpha", "charge_points", "charge_point_ref") == ["CP1"]
    assert [(e.row, e.column) for e in result.errors] == [(3, "customer_ref")]


def test_numbers_the_landing_types_cannot_hold_are_refused_as_too_large_not_as_malformed(data_dir):
    content = (
        "session_ref,charge_point_ref,started_at,ended_at,meter_start_wh,meter_stop_wh,energy_kwh\n"
        "S1,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,1000,2000,\n"
        "S2,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,0,99999999999999999999,\n"
        "S3,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,,,12345678901234\n"
        "S4,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,,,-1000000000000.5\n"
        "S5,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,,,999999999999.999999\n"
    )
    result = ingest_file(data_dir, PARTNERS, drop(data_dir, "alpha", "sessions.csv", content))
    assert landed(data_dir, "alpha", "sessions", "session_ref") == ["S1", "S5"]
    reasons = {(e.row, e.column): e.reason for e in result.errors}
    assert set(reasons) == {(3, "meter_stop_wh"), (4, "energy_kwh"), (5, "energy_kwh")}
    assert "too large" in reasons[3, "meter_stop_wh"] and "9223372036854775807" in reasons[3, "meter_stop_wh"]
    assert "too large" in reasons[4, "energy_kwh"] and "999999999999.999999" in reasons[4, "energy_kwh"]
    assert "too large" in reasons[5, "energy_kwh"]


_worlds = iter(range(1_000_000))


# Any name, with the control characters (line ends among them) and CSV's own characters drawn often.
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(st.one_of(st.characters(codec="utf-8"), st.sampled_from("\x00\x01\t\n\r\x0b\x1f\x7f ,\"")),
                    min_size=1, max_size=12))
@example(name="Jan de Vries")  # none: the file has no control byte, and the intake skips the per-cell check
@example(name="Amster\tdam")
@example(name="Jan\r\nde Vries")  # a line end inside the cell: a row of two lines
@example(name="Jan\rde Vries")
def test_a_cell_is_refused_for_a_control_character_exactly_when_it_holds_one(tmp_path_factory, name):
    """The intake checks every cell for control characters only when the file has a control byte other than
    its line ends, or a row that is not one line: whichever way it goes, a cell holding one is refused for it
    (or the whole file is) and a cell without one never is."""
    data_dir = make_data_dir(tmp_path_factory.mktemp("cells") / f"world{next(_worlds)}", PARTNERS)
    cells = customer("C1").rstrip("\n").split(",")
    cells[1] = name
    row = io.StringIO()
    csv.writer(row, lineterminator="\r\n").writerow(cells)  # quoted where the name needs it
    content = CUSTOMERS_HEADER.replace("\n", "\r\n") + row.getvalue()
    result = ingest_file(data_dir, PARTNERS, drop(data_dir, "alpha", "customers.csv", content))

    refused_for_it = [e for e in result.errors if "control character" in e.reason]
    if re.search(f"[{CONTROL_CHARACTERS}]", name):
        assert result.status == "rejected" or [(e.row, e.column) for e in refused_for_it] == [(2, "name")], \
            result.errors
    else:
        assert refused_for_it == [] and result.status != "rejected", result.errors


def test_an_email_with_a_control_character_is_refused_by_the_api_as_by_the_intake(data_dir):
    email = "jan\x01@example.nl"
    row = customer("C1").replace("jan@example.nl", email)
    result = ingest_file(data_dir, PARTNERS, drop(data_dir, "alpha", "customers.csv", CUSTOMERS_HEADER + row))
    assert [(e.column, e.reason[:26]) for e in result.errors] == [("email", "holds control character U+")]
    Enrolment.model_validate(enrolment("C1", "871685900000000011", "CP1"))
    with pytest.raises(ValidationError, match="email"):
        Enrolment.model_validate(enrolment("C1", "871685900000000011", "CP1", email=email))
