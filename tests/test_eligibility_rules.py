"""The single-value rules and the MID register matcher behind eligibility and the MID scan."""

from __future__ import annotations

import csv

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from joulo_pipelines.lib.eligibility.mid_register import (
    PRIMARY_SOURCE_KINDS,
    REGISTER_FILE,
    STATUSES,
    UNMATCHED,
    RegisterError,
    load_register,
    match,
    mid_reason,
)
from joulo_pipelines.lib.eligibility.rules import (
    ean_problem,
    iban_problem,
    is_dutch_postal_code,
    reasons,
    status_for,
)
from joulo_pipelines.lib.xml_text import is_single_line_xml_text

# Check digits worked out by hand with the GS1 mod-10 (weights 3, 1, 3, ... from the right), not by lib/ean.py.
KNOWN_GOOD_EANS = ["871687120000000004", "871685900000000011", "871694840000000001"]
KNOWN_BAD_EANS = {
    "871687120000000009": "GS1 check digit does not match",
    "87168712000000000": "not 18 digits",
    "87168712000000000A": "not 18 digits",
    # digits to str.isdigit but not int() (superscripts), or not ASCII: refused, never an exception that
    # would stop the build of every partner's customers
    "871" + "\u00b2" * 15: "not 18 digits",
    "\u0668\u0667\u0661" + "\u0660" * 14 + "\u0664": "not 18 digits",
    "541448800000000000": "not a Dutch EAN (871...)",
    "": "missing",
}


@pytest.mark.parametrize("code", KNOWN_GOOD_EANS)
def test_a_dutch_ean_with_the_right_check_digit_passes(code):
    assert ean_problem(code) is None


@pytest.mark.parametrize("code,problem", KNOWN_BAD_EANS.items())
def test_a_wrong_check_digit_length_or_country_prefix_fails_with_its_reason(code, problem):
    assert ean_problem(code) == problem


@pytest.mark.parametrize("code", ["1011 AB", "1011AB", "9999 zz", " 3511 CD "])
def test_dutch_postal_codes_pass(code):
    assert is_dutch_postal_code(code)


@pytest.mark.parametrize("code", ["2000", "0123 AB", "1011 SA", "1011-AB", "B-2000", None, ""])
def test_foreign_or_malformed_postal_codes_fail(code):
    assert not is_dutch_postal_code(code)


def test_a_valid_iban_passes_and_a_broken_check_digit_or_missing_one_fails():
    assert iban_problem("NL91ABNA0417164300") is None
    assert iban_problem("NL91 ABNA 0417 1643 00") is None
    assert iban_problem("NL00ABNA0417164300") == "InvalidChecksumDigits"
    assert iban_problem(None) == "missing"


# Text a partner may send in any field: any characters, also ones that look like what the rule reads
# (digits, letters of an IBAN) but are not ASCII.
PARTNER_TEXT = st.one_of(st.text(), st.from_regex(r"\A(NL|87|\d)\w{0,30}\Z"))


@given(value=PARTNER_TEXT, other=PARTNER_TEXT)
@example(value="871" + "\u00b2" * 15, other="")  # int() refused what str.isdigit took: every build stopped
@example(value="NL\u0669\u0661ABNA0417164300", other="\x00")
def test_the_per_row_rules_give_a_verdict_for_any_text_and_never_raise(value, other):
    """int_customer_checks and int_charge_point_meter_matches run these on every customer and brand/model
    pair of every partner in one dbt model: one that raised on a partner's value would stop the build of
    every partner."""
    assert ean_problem(value) is None or isinstance(ean_problem(value), str)
    assert iban_problem(value) is None or isinstance(iban_problem(value), str)
    assert isinstance(is_dutch_postal_code(value), bool)
    assert isinstance(is_single_line_xml_text(value), bool)
    assert match(value, other).mid_status in (*STATUSES, UNMATCHED)


def test_status_is_action_needed_only_when_every_reason_can_be_fixed():
    assert status_for([]) == "eligible"
    assert status_for(["meter_serial_missing", "ean_invalid"]) == "action_needed"
    assert status_for(["meter_serial_missing", "mid_meter_absent"]) == "not_eligible"


def test_every_reason_names_an_action_or_says_it_cannot_be_fixed():
    for reason in reasons().values():
        assert reason.rule and reason.action


@pytest.mark.parametrize("brand,model,status", [
    ("Wallbox", "Pulsar Plus", "external"),
    ("wallbox", "PULSAR-PLUS 22kW", "external"),
    ("  Wallbox ", "pulsar_plus", "external"),
    ("Wallbox", "Wallbox Pulsar Plus", "external"),
    ("Wallbox", "Commander 2", "none"),
    ("Easee", "Home", "none"),
    ("Wallbox", "Pulsar Max", "external"),
    ("Tesla", "Wall Connector Gen 3 MID 1529455-02-D", "integrated"),
    ("Tesla", "Wall Connector Gen 3", "optional"),
    ("KEBA", "KeContact P40 Pro MID", "integrated"),
    ("KEBA", "KeContact P40", "optional"),
    # Alfen's DE manual names an Eichrecht meter: a separate regime, not MID evidence.
    ("Alfen", "Eve Single Pro-line DE", "unknown"),
    ("ALFEN", "eve single pro-line", "unknown"),
    ("NewMotion", "Home Advanced 2.0", "unknown"),
    ("Amperfied", "Wallbox Energy Control", "unknown"),
    ("Lader.nl", "HomeCharge X1", "unmatched"),
    ("Wallbox", "Copper Fantasy", "unknown"),
    ("Wallboks", "Pulsar Plus", "unmatched"),
])
def test_brand_and_model_strings_match_tolerantly_and_the_first_row_of_a_brand_wins(brand, model, status):
    assert match(brand, model).mid_status == status


def test_an_unmatched_model_names_no_register_row():
    result = match("Lader.nl", "HomeCharge X1")
    assert result.register_line is None and result.source is None


def test_every_row_has_one_of_five_statuses_and_every_integrated_row_rests_on_a_primary_document_read():
    entries = load_register()
    assert entries, "the register is empty"
    with REGISTER_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(entries)
    assert {row["mid_status"] for row in rows} == set(STATUSES)
    integrated = [row for row in rows if row["mid_status"] == "integrated"]
    assert integrated
    for row in integrated:
        assert row["source_kind"] in PRIMARY_SOURCE_KINDS and row["primary_document_read"] == "true", row
        assert row["source_url"].startswith("https://") and len(row["source_quote"]) > 20, row
    for row in rows:
        if row["mid_status"] == "none":
            assert row["source_url"].startswith("http") and row["source_quote"], row


@pytest.mark.parametrize("status,kind,read,quote,problem", [
    ("integrated", "secondary", "false", "has a MID meter", "primary document read"),
    ("integrated", "datasheet", "true", "", "source_quote"),
    ("yes", "datasheet", "true", "MI-003", "mid_status 'yes'"),
    ("optional", "secondary", "true", "", "primary source_kind"),
    ("none", "secondary", "false", "", "'none' needs"),
])
def test_a_register_row_without_the_evidence_its_status_needs_is_refused_naming_its_line(
        tmp_path, status, kind, read, quote, problem):
    register = tmp_path / "mid_meters.csv"
    header = REGISTER_FILE.read_text(encoding="utf-8").splitlines()[0]
    register.write_text(f"{header}\nAcme,volt.*,{status},https://example.org/doc.pdf,{kind},{quote},{read},,,,,,22,\n",
                        encoding="utf-8")
    with pytest.raises(RegisterError, match=rf"mid_meters.csv line 2: .*{problem}"):
        load_register(register)


def test_optional_and_external_ask_for_a_check_of_the_unit_and_never_reject():
    catalogue = reasons()
    assert mid_reason("optional", False) == "mid_unit_check_needed"
    assert mid_reason("external", False) == "mid_external_meter_needed"
    assert catalogue["mid_unit_check_needed"].can_be_fixed and catalogue["mid_external_meter_needed"].can_be_fixed
    assert mid_reason("none", True) == "mid_meter_absent" and not catalogue["mid_meter_absent"].can_be_fixed
    assert mid_reason("unmatched", False) == mid_reason("unknown", False) == "mid_evidence_missing"
    assert {mid_reason(status, True) for status in ("integrated", "optional", "external", "unknown")} == {None}


@pytest.mark.parametrize("brand,model,status", [
    ("Zaptec", "Go 22kW", "unknown"),
    ("Easee", "Charge Max", "optional"),
    ("Easee", "Charge Lite", "optional"),
    ("Wallbox", "Quasar 2", "unknown"),
])
def test_model_strings_with_a_suffix_or_a_newer_name_still_find_their_register_row(brand, model, status):
    assert match(brand, model).mid_status == status
