"""The single-value rules and the MID register matcher behind eligibility and the MID scan."""

from __future__ import annotations

import csv

import pytest

from joulo_pipelines.lib.eligibility.mid_register import (
    REGISTER_FILE,
    load_register,
    match,
)
from joulo_pipelines.lib.eligibility.rules import (
    ean_problem,
    iban_problem,
    is_dutch_postal_code,
    reasons,
    status_for,
)

# Check digits worked out by hand with the GS1 mod-10 (weights 3, 1, 3, ... from the right), not by lib/ean.py.
KNOWN_GOOD_EANS = ["871687120000000004", "871685900000000011", "871694840000000001"]
KNOWN_BAD_EANS = {
    "871687120000000009": "GS1 check digit does not match",
    "87168712000000000": "not 18 digits",
    "87168712000000000A": "not 18 digits",
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


def test_status_is_action_needed_only_when_every_reason_can_be_fixed():
    assert status_for([]) == "eligible"
    assert status_for(["meter_serial_missing", "ean_invalid"]) == "action_needed"
    assert status_for(["meter_serial_missing", "mid_meter_absent"]) == "not_eligible"


def test_every_reason_names_an_action_or_says_it_cannot_be_fixed():
    for reason in reasons().values():
        assert reason.rule and reason.action


@pytest.mark.parametrize("brand,model,status", [
    ("Wallbox", "Pulsar Plus", "no"),
    ("wallbox", "PULSAR-PLUS 22kW", "no"),
    ("  Wallbox ", "pulsar_plus", "no"),
    ("Wallbox", "Wallbox Pulsar Plus", "no"),
    ("Tesla", "Wall Connector Gen 3 MID 1529455-02-D", "yes"),
    ("Tesla", "Wall Connector Gen 3", "optional"),
    ("Alfen", "Eve Single Pro-line DE", "yes"),
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


def test_every_yes_or_no_in_the_register_cites_a_source_and_the_patterns_compile():
    entries = load_register()
    assert entries, "the register is empty"
    with REGISTER_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(entries)
    for row in rows:
        if row["integrated_mid_meter"] in ("yes", "no"):
            assert row["source"].startswith("http"), row


@pytest.mark.parametrize("brand,model,status", [
    ("Zaptec", "Go 22kW", "unknown"),
    ("Easee", "Charge Max", "unknown"),
    ("Easee", "Charge Lite", "unknown"),
    ("Wallbox", "Quasar 2", "unknown"),
])
def test_model_strings_with_a_suffix_or_a_newer_name_still_find_their_register_row(brand, model, status):
    assert match(brand, model).mid_status == status
