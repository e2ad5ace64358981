"""One provider per EAN per year, against a hostile partner: alpha's customer is booked and its 2026-Q1
submitted; then beta delivers a customer on the same EAN with a later mandate, and gamma one with a
backdated (earlier) mandate. Both are refused, only they see a reason, alpha's quarters, bookings, exports,
API documents and webhook events stay byte-identical, and the operators' review lists both claims.

Also: two customers of one partner on one EAN (the earlier mandate holds it), and a mandate revoked before
the year leaves the EAN free for the next claim. Built through the real ingest, quarter runs and REV submit.
The claim rule's dbt unit tests run with all the others, in one dbt invocation, in test_pipeline."""

from __future__ import annotations

import csv
import hashlib
import re

import duckdb
import pytest

import dagster as dg

from joulo_pipelines import cli
from joulo_pipelines.lib.api import store
from conftest import drop, make_data_dir
from signing_records import signed

EAN = "871687120000000004"  # alpha's A1; beta and gamma claim it later
SHARED_BY_ALPHA = "871685900000000011"  # alpha's A2 (earlier mandate) and A3
FREED = "871694840000000001"  # alpha's A4 revoked in 2025, beta's B4 claims 2026

HEADER = ("customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,"
          "mandate_valid_from,mandate_valid_until,revoked_at")
ALPHA_CUSTOMERS = f"""{HEADER}
A1,Anna Alpha,a1@x.nl,NL91ABNA0417164300,S,1,1011 AB,Amsterdam,{EAN},2025-11-01T10:00:00Z,2026-01-01,2026-12-31,
A2,Bert Alpha,a2@x.nl,NL91ABNA0417164300,S,2,1011 AB,Amsterdam,{SHARED_BY_ALPHA},2025-11-01T10:00:00Z,2026-01-01,2026-12-31,
A3,Carla Alpha,a3@x.nl,NL91ABNA0417164300,S,2,1011 AB,Amsterdam,{SHARED_BY_ALPHA},2025-12-01T10:00:00Z,2026-01-01,2026-12-31,
A4,Dirk Alpha,a4@x.nl,NL91ABNA0417164300,S,3,1011 AB,Amsterdam,{FREED},2025-06-01T10:00:00Z,2025-01-01,2026-12-31,2025-12-15T10:00:00Z
"""
BETA_CUSTOMERS = f"""{HEADER}
B1,Eva Beta,b1@x.nl,NL91ABNA0417164300,S,1,1011 AB,Amsterdam,{EAN},2025-12-01T10:00:00Z,2026-01-01,2026-12-31,
B4,Frits Beta,b4@x.nl,NL91ABNA0417164300,S,3,1011 AB,Amsterdam,{FREED},2025-12-20T10:00:00Z,2026-01-01,2026-12-31,
"""
# gamma backdates: its mandate claims to be signed before alpha's, delivered after alpha's Q1 was submitted
GAMMA_CUSTOMERS = f"""{HEADER}
G1,Gijs Gamma,g1@x.nl,NL91ABNA0417164300,S,1,1011 AB,Amsterdam,{EAN},2025-01-01T10:00:00Z,2026-01-01,2026-12-31,
"""
QUARTERS = ["2026-Q1", "2026-Q2"]


def _charge_points(refs: list[str]) -> str:
    lines = ["charge_point_ref,customer_ref,brand,model,serial_number,meter_serial,mid_certificate"]
    lines += [f"CP-{ref},{ref},Tesla,Wall Connector Gen 3 MID,S-{ref},M-{ref}," for ref in refs]
    return "\n".join(lines) + "\n"


def _sessions(refs: list[str]) -> str:
    lines = ["session_ref,charge_point_ref,started_at,ended_at,energy_kwh"]
    for ref in refs:
        lines.append(f"S-{ref}-1,CP-{ref},2026-02-10T18:00:00Z,2026-02-10T20:00:00Z,10.5")
        lines.append(f"S-{ref}-2,CP-{ref},2026-05-12T18:00:00Z,2026-05-12T21:00:00Z,12.25")
    return "\n".join(lines) + "\n"


def _deliver(data_dir, partner_id: str, customers: str, when: str) -> None:
    refs = [line.split(",")[0] for line in customers.splitlines()[1:]]
    drop(data_dir, partner_id, "customers.csv", signed(data_dir, customers), when)
    drop(data_dir, partner_id, "charge_points.csv", _charge_points(refs), when)
    # B4 charges nothing: its (legitimate) booking would change the quarter's REV file that alpha shares
    drop(data_dir, partner_id, "sessions_2026.csv", _sessions([ref for ref in refs if ref != "B4"]), when)


def _alpha_state(data_dir) -> dict:
    """Everything of alpha's that the attack must leave alone, as bytes or rows."""
    files = {}
    for quarter in QUARTERS:
        for folder in [data_dir.exports / quarter / "rev", *(data_dir.exports / quarter).glob("*/alpha")]:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                files[str(path.relative_to(data_dir.exports))] = hashlib.sha256(path.read_bytes()).hexdigest()
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        eligibility = con.execute("select * from marts.fct_charge_point_eligibility where partner_id = 'alpha' "
                                  "order by all").fetchall()
        ledger = con.execute("select * from ledger.rev_booking_lines order by all").fetchall()
        drafts = con.execute("select * from registration.rev_booking_drafts order by all").fetchall()
    with store.connect(data_dir) as con:
        documents = [tuple(row) for row in con.execute(
            "select customer_ref, document from customer_status where partner_id = 'alpha' order by 1")]
        events = [tuple(row) for row in con.execute(
            "select event_id, type, body from events where partner_id = 'alpha' order by 1")]
    return {"files": files, "eligibility": eligibility, "ledger": ledger, "drafts": drafts,
            "documents": documents, "events": events}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    root = tmp_path_factory.mktemp("ean_claims") / "data"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("JOULO_DATA_DIR", str(root))
        monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
        data_dir = make_data_dir(root, ["alpha", "beta", "gamma"])
        _deliver(data_dir, "alpha", ALPHA_CUSTOMERS, "2026-01-02T06:00:00+00:00")
        assert cli.main(["ingest"]) == 0
        assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
        assert cli.main(["rev", "submit", "2026-Q1", "--by", "test"]) == 0
        assert cli.main(["rev", "approve", "2026-Q1", "--by", "approver"]) == 0  # four eyes
        for quarter in QUARTERS:  # the reports of a submitted quarter say so from its next run
            assert cli.main(["run", "--quarter", quarter]) == 0
        before = _alpha_state(data_dir)

        _deliver(data_dir, "beta", BETA_CUSTOMERS, "2026-04-02T06:00:00+00:00")
        _deliver(data_dir, "gamma", GAMMA_CUSTOMERS, "2026-04-02T06:00:00+00:00")
        assert cli.main(["ingest"]) == 0
        for quarter in QUARTERS:
            assert cli.main(["run", "--quarter", quarter]) == 0
        yield data_dir, before


def _eligibility(data_dir, partner_id: str, ref: str, quarter_start: str = "2026-04-01") -> tuple:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute("select reasons, is_eligible from marts.fct_charge_point_eligibility "
                           "where partner_id = ? and charge_point_ref = ? and quarter_start = ?",
                           [partner_id, f"CP-{ref}", quarter_start]).fetchone()


def test_the_first_claimants_bookings_exports_api_and_webhooks_do_not_change(attacked):
    data_dir, before = attacked
    after = _alpha_state(data_dir)
    assert after["files"] and after["files"] == before["files"]
    for part in ("eligibility", "ledger", "drafts", "documents", "events"):
        assert after[part] == before[part], part
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        corrections = con.execute("select count(*) from registration.rev_booking_drafts where ean = ? "
                                  "and (kind = 'amendment' or delivery_quarter_start <> booking_quarter_start)",
                                  [EAN]).fetchone()[0]
    assert corrections == 0
    assert _eligibility(data_dir, "alpha", "A1") == (None, True)


@pytest.mark.parametrize("partner_id,ref", [("beta", "B1"), ("gamma", "G1")])
def test_a_later_or_backdated_claim_is_refused_for_the_later_claimant_only(attacked, partner_id, ref):
    data_dir, _ = attacked
    for quarter_start in ("2026-01-01", "2026-04-01"):
        assert _eligibility(data_dir, partner_id, ref, quarter_start) == ("ean_claimed_by_another_mandate", False)
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        booked = con.execute("select count(*) from registration.rev_booking_drafts where partner_id = ?",
                             [partner_id]).fetchone()[0]
    assert booked == 0


@pytest.mark.parametrize("partner_id,ref", [("beta", "B1"), ("gamma", "G1")])
def test_the_refused_partner_sees_the_reason_but_not_who_holds_the_ean(attacked, partner_id, ref):
    data_dir, _ = attacked
    with store.connect(data_dir) as con:
        document = con.execute("select document from customer_status where partner_id = ? and customer_ref = ?",
                               [partner_id, ref]).fetchone()["document"]
        events = " ".join(row["body"] for row in con.execute("select body from events where partner_id = ?",
                                                             [partner_id]))
    assert "ean_claimed_by_another_mandate" in document
    shown = [document, events] + [
        path.read_text(encoding="utf-8", errors="replace")
        for quarter in QUARTERS for path in (data_dir.exports / quarter).glob(f"*/{partner_id}/**/*")
        if path.is_file() and path.suffix in (".html", ".csv", ".json", ".eml")]
    assert len(shown) > 2
    for text in shown:
        assert "alpha" not in text.lower() and not re.search(r"\bA1\b", text)
        assert "another partner" not in text.lower()


def test_the_operators_review_lists_each_refused_claim_with_the_holder_and_why(attacked):
    data_dir, _ = attacked
    path = data_dir.exports / "review" / "ean_claim_conflicts_2026.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    got = {(r["ean"], r["holder_partner_id"], r["holder_customer_ref"], r["refused_partner_id"],
            r["refused_customer_ref"], r["decided_by"]) for r in rows}
    assert got == {
        (EAN, "alpha", "A1", "beta", "B1", "signed_at"),
        (EAN, "alpha", "A1", "gamma", "G1", "submitted_booking"),
        (SHARED_BY_ALPHA, "alpha", "A2", "alpha", "A3", "signed_at"),
    }
    text = path.read_text(encoding="utf-8")
    for personal in ("Anna", "Eva", "Gijs", "NL91", "a1@x.nl", "Amsterdam"):
        assert personal not in text
    assert not any((data_dir.exports / quarter / "review").exists() for quarter in QUARTERS)


def test_two_customers_of_one_partner_on_one_ean_the_earlier_mandate_holds_it(attacked):
    data_dir, _ = attacked
    assert _eligibility(data_dir, "alpha", "A2") == (None, True)
    assert _eligibility(data_dir, "alpha", "A3") == ("ean_claimed_by_another_mandate", False)


def test_a_mandate_revoked_before_the_year_leaves_the_ean_to_the_next_valid_claim(attacked):
    data_dir, _ = attacked
    assert _eligibility(data_dir, "alpha", "A4") == ("mandate_revoked", False)
    assert _eligibility(data_dir, "beta", "B4") == (None, True)


def test_the_review_is_a_warning_for_operators_with_counts_per_refused_partner_only(attacked):
    check_key = dg.AssetCheckKey(dg.AssetKey(["exports", "ean_claim_review"]), "no_refused_ean_claims")
    with dg.DagsterInstance.get() as instance:
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([check_key])[check_key]
    evaluation = record.event.dagster_event.event_specific_data
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["refused_claims_by_partner"].value == {"alpha": 1, "beta": 1, "gamma": 1}
    assert EAN not in repr(evaluation.metadata)
