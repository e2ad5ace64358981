"""Mandate and claim rules on a hand-made world (partners alpha and beta, both paying customers directly):
a passing and a failing case for each rule the demo does not cover, built through the real quarter job.
Three customers files arrive: the first enrols, the second revokes two mandates, the third shows them
active again (one with a new signing) and extends a mandate without a new signing."""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import pytest

from joulo_pipelines import cli
from joulo_pipelines.lib.eligibility.mandate_document import render_mandate_document
from conftest import drop
from signing_records import signed

CUSTOMERS = """customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,mandate_valid_from,mandate_valid_until,revoked_at
OK,A,a@x.nl,NL91ABNA0417164300,S,1,1011 AB,Amsterdam,871687120000000004,2025-12-01T10:00:00Z,2026-01-01,2026-12-31,
LATER,B,b@x.nl,NL91ABNA0417164300,S,2,1011 AB,Amsterdam,871685900000000011,2025-12-01T10:00:00Z,2027-01-01,2027-12-31,
UNSIGNED,C,c@x.nl,NL91ABNA0417164300,S,3,1011 AB,Amsterdam,871694840000000001,2027-02-01T10:00:00Z,2026-01-01,2026-12-31,
NOIBAN,D,d@x.nl,,S,4,1011 AB,Amsterdam,871687120000000103,2025-12-01T10:00:00Z,2026-01-01,2026-12-31,
TWICE1,E,e@x.nl,NL91ABNA0417164300,S,5,1011 AB,Amsterdam,871687120000000301,2025-12-01T10:00:00Z,2026-01-01,2026-12-31,
TWICE2,F,f@x.nl,NL91ABNA0417164300,S,6,1011 AB,Amsterdam,871687120000000301,2025-12-01T10:00:00Z,2026-01-01,2026-12-31,
NOSIGN,H,h@x.nl,NL91ABNA0417164300,S,8,1011 AB,Amsterdam,871687120000000509,2025-12-01T10:00:00Z,2026-01-01,2026-12-31,
REVOKED,I,i@x.nl,NL91ABNA0417164300,S,9,1011 AB,Amsterdam,871687120000000608,2025-12-01T10:00:00Z,2026-01-01,2026-12-31,
RESIGNED,J,j@x.nl,NL91ABNA0417164300,S,10,1011 AB,Amsterdam,871687120000000707,2025-12-01T10:00:00Z,2026-01-01,2026-12-31,
RENEWED,K,k@x.nl,NL91ABNA0417164300,S,11,1011 AB,Amsterdam,871687120000000806,2025-12-01T10:00:00Z,2026-01-01,2026-12-31,
AHEAD,M,m@x.nl,NL91ABNA0417164300,S,13,1011 AB,Amsterdam,871687120000001100,2025-12-01T10:00:00Z,2026-01-01,2026-12-31,2026-03-31T00:00:00Z
"""
# A month later the partner revokes two mandates...
REVOCATIONS = """customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,mandate_valid_from,mandate_valid_until,revoked_at
REVOKED,I,i@x.nl,NL91ABNA0417164300,S,9,1011 AB,Amsterdam,871687120000000608,2025-12-01T10:00:00Z,2026-01-01,2026-12-31,2026-01-15T09:00:00Z
RESIGNED,J,j@x.nl,NL91ABNA0417164300,S,10,1011 AB,Amsterdam,871687120000000707,2025-12-01T10:00:00Z,2026-01-01,2026-12-31,2026-01-15T09:00:00Z
"""
# ...and its next full file shows them active: REVOKED as before (no new signing), RESIGNED with a new one;
# RENEWED's validity grows by a year under its old signing.
NEXT_CUSTOMERS = """customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,mandate_valid_from,mandate_valid_until,revoked_at
REVOKED,I,i@x.nl,NL91ABNA0417164300,S,9,1011 AB,Amsterdam,871687120000000608,2025-12-01T10:00:00Z,2026-01-01,2026-12-31,
RESIGNED,J,j@x.nl,NL91ABNA0417164300,S,10,1011 AB,Amsterdam,871687120000000707,2026-02-01T10:00:00Z,2026-01-01,2026-12-31,
RENEWED,K,k@x.nl,NL91ABNA0417164300,S,11,1011 AB,Amsterdam,871687120000000806,2025-12-01T10:00:00Z,2026-01-01,2027-12-31,
"""
# A signing record naming our consent text version with another text's hash.
BAD_TEXT = f"""customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,mandate_valid_from,mandate_valid_until,consent_text_version,consent_text_sha256,signer_user_id,signer_authentication,signer_ip,signer_user_agent
BADTEXT,L,l@x.nl,NL91ABNA0417164300,S,12,1011 AB,Amsterdam,871687120000000905,2025-12-01T10:00:00Z,2026-01-01,2026-12-31,2026-01,{"0" * 64},u-l,idin,203.0.113.5,Mozilla/5.0
"""
CHARGE_POINTS = """charge_point_ref,customer_ref,brand,model,serial_number,meter_serial,mid_certificate
CP-OK,OK,Tesla,Wall Connector Gen 3 MID,S1,M1,
CP-LATER,LATER,Tesla,Wall Connector Gen 3 MID,S2,M2,
CP-UNSIGNED,UNSIGNED,Tesla,Wall Connector Gen 3 MID,S3,M3,
CP-NOIBAN,NOIBAN,Tesla,Wall Connector Gen 3 MID,S4,M4,
CP-TWICE1,TWICE1,Tesla,Wall Connector Gen 3 MID,S5,M5,
CP-TWICE2,TWICE2,Tesla,Wall Connector Gen 3 MID,S6,M6,
CP-NOSIGN,NOSIGN,Tesla,Wall Connector Gen 3 MID,S8,M8,
CP-REVOKED,REVOKED,Tesla,Wall Connector Gen 3 MID,S9,M9,
CP-RESIGNED,RESIGNED,Tesla,Wall Connector Gen 3 MID,S10,M10,
CP-RENEWED,RENEWED,Tesla,Wall Connector Gen 3 MID,S11,M11,
CP-BADTEXT,BADTEXT,Tesla,Wall Connector Gen 3 MID,S12,M12,
CP-AHEAD,AHEAD,Tesla,Wall Connector Gen 3 MID,S13,M13,
CP-ORPHAN,NOBODY,Tesla,Wall Connector Gen 3 MID,S7,M7,
"""
# beta claims OK's EAN only from 2027: one provider per EAN per calendar year, so 2026 is no conflict.
BETA_CUSTOMERS = """customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,mandate_valid_from,mandate_valid_until
NEXTYEAR,G,g@x.nl,NL91ABNA0417164300,S,7,1011 AB,Amsterdam,871687120000000004,2026-10-01T10:00:00Z,2027-01-01,2027-12-31
"""


def _sessions(refs: list[str]) -> str:
    lines = ["session_ref,charge_point_ref,started_at,ended_at,energy_kwh"]
    lines += [f"S-{ref},{ref},2026-02-10T18:00:00Z,2026-02-10T20:00:00Z,10.5" for ref in refs]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def built(module_data_dir):
    refs = [line.split(",")[0] for line in CHARGE_POINTS.splitlines()[1:]]
    data_dir = module_data_dir
    drop(data_dir, "alpha", "customers.csv", signed(data_dir, CUSTOMERS, unsigned=("NOSIGN",)), "2026-01-02T06:00:00+00:00")
    drop(data_dir, "alpha", "customers_bad_text.csv", BAD_TEXT, "2026-01-02T06:00:00+00:00")
    drop(data_dir, "alpha", "customers_revocations.csv", signed(data_dir, REVOCATIONS), "2026-01-15T10:00:00+00:00")
    drop(data_dir, "alpha", "customers_2026-02.csv", signed(data_dir, NEXT_CUSTOMERS, unsigned=("REVOKED", "RENEWED")),
         "2026-02-02T06:00:00+00:00")
    drop(data_dir, "alpha", "charge_points.csv", CHARGE_POINTS, "2026-01-02T06:00:00+00:00")
    drop(data_dir, "alpha", "sessions_2026-02.csv", _sessions(refs), "2026-03-03T06:00:00+00:00")
    drop(data_dir, "beta", "customers.csv", signed(data_dir, BETA_CUSTOMERS), "2026-10-02T06:00:00+00:00")
    assert cli.main(["ingest"]) == 0
    assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        rows = con.execute("select charge_point_ref, reasons, is_eligible, eligible_kwh, eligibility_status "
                           "from marts.fct_charge_point_eligibility where partner_id = 'alpha'").fetchall()
        booked = con.execute("select ean, eligible_customer_ref, eligible_kwh from marts.fct_ean_quarter_energy "
                              "where eligible_kwh > 0").fetchall()
        customers = {row[0]: row[1:] for row in con.execute(
            "select customer_ref, revoked_at, has_signing_record, is_renewed_tacitly from intermediate.int_customers_latest "
            "where partner_id = 'alpha'").fetchall()}
    return ({ref: (reasons or "", eligible, kwh, status) for ref, reasons, eligible, kwh, status in rows}, booked,
            customers)


@pytest.mark.parametrize("ref,reasons", [
    ("CP-OK", ""),
    ("CP-LATER", "mandate_not_started"),
    ("CP-UNSIGNED", "mandate_not_signed"),
    ("CP-NOIBAN", "iban_invalid"),
    ("CP-TWICE1", ""),  # one partner's two customers on one EAN: the earlier one (same signing, first line)
    ("CP-TWICE2", "ean_claimed_by_another_mandate"),
    ("CP-ORPHAN", "customer_unknown"),
    ("CP-NOSIGN", "mandate_signing_record_missing"),
    ("CP-BADTEXT", "mandate_consent_text_unknown"),
    ("CP-RENEWED", "mandate_renewed_tacitly"),
    ("CP-REVOKED", ""),  # revoked inside the quarter: eligible up to the revocation (no kWh before it here)
    ("CP-RESIGNED", ""),
    ("CP-AHEAD", ""),  # revoked in the quarter, when its file arrived: no kWh after it
])
def test_mandate_claim_iban_and_customer_rules_pass_and_fail_as_the_rules_say(built, ref, reasons):
    eligibility, *_ = built
    assert eligibility[ref][0] == reasons
    assert eligibility[ref][1] == (reasons == "")


def test_only_the_eligible_connections_are_booked_and_a_claim_in_another_year_is_no_conflict(built):
    _, booked, _ = built
    assert sorted((ean, customer, str(kwh)) for ean, customer, kwh in booked) == [
        ("871687120000000004", "OK", "10.500000"), ("871687120000000301", "TWICE1", "10.500000"),
        ("871687120000000707", "RESIGNED", "10.500000")]


@pytest.mark.parametrize("ref", ["CP-NOSIGN", "CP-BADTEXT", "CP-RENEWED"])
def test_a_file_drop_mandate_without_a_valid_signing_record_is_action_needed(built, ref):
    eligibility, *_ = built
    reasons, is_eligible, kwh, status = eligibility[ref]
    assert (is_eligible, kwh, status) == (False, 0, "action_needed"), reasons


def test_a_revocation_stands_when_the_next_customers_file_shows_the_mandate_active(built):
    eligibility, booked, customers = built
    revoked_at, has_signing_record, _ = customers["REVOKED"]
    assert revoked_at == datetime(2026, 1, 15, 9, tzinfo=timezone.utc) and has_signing_record
    assert eligibility["CP-REVOKED"][2] == 0  # its session of 10 February is after the revocation
    assert "871687120000000608" not in [ean for ean, *_ in booked]
    # A new signing after the revocation, with its own record, is a new mandate: nothing revoked.
    assert customers["RESIGNED"][0] is None
    assert customers["RENEWED"][2] is True


def test_a_revocation_dated_ahead_ends_the_mandate_when_it_arrives(built):
    eligibility, _, customers = built
    assert customers["AHEAD"][0] == datetime(2026, 1, 2, 6, tzinfo=timezone.utc)  # the file's arrival
    assert eligibility["CP-AHEAD"][2] == 0  # its session of 10 February is after it


def test_the_mandate_documents_show_the_missing_record_and_the_revocation_that_stands(built, module_data_dir):
    with duckdb.connect(str(module_data_dir.warehouse), read_only=True) as con:
        unsigned = render_mandate_document(con, "alpha", "NOSIGN", fmt="text")
        revoked = render_mandate_document(con, "alpha", "REVOKED", fmt="text")
    assert "  ! mandate_signing_record_missing: the mandate has no complete signing record" in unsigned
    assert "Signing record:\n  none delivered for this signing moment" in unsigned
    assert "Revoked at:         2026-01-15T10:00:00+01:00" in revoked
    assert ("2026-02-02T07:00:00+01:00  delivered as active after the revocation: ignored: the revocation stands "
            "without a new signing  [alpha/customers_2026-02.csv:2]") in revoked
