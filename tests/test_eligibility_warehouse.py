"""Eligibility in the warehouse: every rule fails where the demo's mess breaks it and passes elsewhere, and
only eligible kWh inside the delivery period reach the eligible columns of marts.fct_ean_quarter_energy."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from joulo_pipelines.lib.demo.world import SHARED_EAN, UNSIGNED_AT
from joulo_pipelines.lib.paths import REFERENCE_DIR


@pytest.fixture
def warehouse(in_demo_world):
    con = duckdb.connect(str(in_demo_world.warehouse), read_only=True)
    yield con
    con.close()


def _row(con, partner: str, position: int, quarter: str = "2026-04-01") -> dict:
    """The eligibility row of the demo partner's charge point at `position` (0-based, as in lib/demo/world.py)."""
    cursor = con.execute(
        "select * from marts.fct_charge_point_eligibility where partner_id = ? and charge_point_ref = ? "
        "and quarter_start = ?", [partner, f"{partner.upper()}-CP{position + 1:05d}", quarter])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone()))


def _reasons(row: dict) -> set[str]:
    return set((row["reasons"] or "").split(";")) - {""}


@pytest.mark.parametrize("partner,position,reason", [
    ("voltnet", 3, "mandate_expired"),
    ("laadwerk", 3, "mandate_expired"),
    ("laadwerk", 4, "mandate_not_whole_years"),
    ("laadwerk", 5, "ean_invalid"),
    ("groenstroom", 6, "postal_code_invalid"),
    ("voltnet", 2, "iban_invalid"),
    ("groenstroom", 2, "iban_invalid"),
    ("groenstroom", 1, "ean_claimed_by_another_mandate"),
    ("voltnet", 8, "mid_evidence_missing"),
    ("voltnet", UNSIGNED_AT, "mandate_signing_record_missing"),
    ("laadwerk", UNSIGNED_AT, "mandate_signing_record_missing"),
    ("groenstroom", UNSIGNED_AT, "mandate_signing_record_missing"),
])
def test_each_rule_fails_the_charge_point_that_breaks_it(warehouse, partner, position, reason):
    row = _row(warehouse, partner, position)
    assert reason in _reasons(row)
    assert not row["is_eligible"] and row["eligible_kwh"] == 0 and row["delivery_period_start"] is None


def test_a_demo_customer_without_a_signing_record_needs_an_action_and_the_others_have_one(warehouse):
    rows = warehouse.execute("""
        select c.partner_id, c.customer_ref, c.has_signing_record and c.is_consent_text_known, s.status,
               s.reasons
        from intermediate.int_customers_latest c
        join marts.fct_customer_quarter_status s using (partner_id, customer_ref)
        where s.quarter_start = '2026-04-01'""").fetchall()
    unsigned = {(partner, ref) for partner, ref, signed, *_ in rows if not signed}
    assert unsigned == {(p, f"{p[:3].upper()}-C{UNSIGNED_AT + 1:05d}") for p in ("voltnet", "laadwerk", "groenstroom")}
    for partner, ref, signed, status, reasons in rows:
        if not signed:
            assert status != "eligible" and "mandate_signing_record_missing" in reasons, (partner, ref)


def test_every_failing_reason_is_listed_not_just_the_first(warehouse):
    # laadwerk's customer at position 3 has an expired mandate (a customer rule), and the seeded world gave its
    # charger neither a meter serial nor MID evidence (the charger's own rules): all three show, every quarter.
    rows = warehouse.execute("select quarter_start, reasons from marts.fct_charge_point_eligibility "
                             "where partner_id = 'laadwerk' and charge_point_ref = 'LAADWERK-CP00004'").fetchall()
    assert len(rows) == 4
    for quarter, reasons in rows:
        assert set(reasons.split(";")) == {"mandate_expired", "meter_serial_missing", "mid_evidence_missing"}, quarter


def test_the_iban_rule_applies_only_to_partners_that_pay_customers_directly(demo_world_copy):
    """laadwerk pays one partner account in 2026-Q2 (its contract in force then; before and after it pays
    customers directly): its customer at position 2 gets the same broken IBAN that voltnet's has there (a
    corrected customers file), and its charge point stays eligible while voltnet's fails."""
    import yaml

    from joulo_pipelines import cli
    from joulo_pipelines.lib.contract import LINEAGE_COLUMNS

    registry = yaml.safe_load(demo_world_copy.partners_file.read_text())
    laadwerk_entry = next(p for p in registry["partners"] if p["id"] == "laadwerk")
    terms = {"service_fee_pct": "20", "partner_share_pct": "0"}
    for key in ("payout_model", "partner_iban", "service_fee_pct", "partner_share_pct"):
        laadwerk_entry.pop(key)
    laadwerk_entry["contracts"] = [
        {"valid_from": "2026-01-01", "payout_model": "direct", **terms},
        {"valid_from": "2026-04-01", "payout_model": "partner_account", "partner_iban": "NL91ABNA0417164300", **terms},
        {"valid_from": "2026-07-01", "payout_model": "direct", **terms}]
    demo_world_copy.partners_file.write_text(yaml.safe_dump(registry, sort_keys=False))

    correction = demo_world_copy.inbox / "laadwerk" / "customers_iban_fix.csv"
    correction.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute(f"""
            copy (select * exclude ({", ".join(LINEAGE_COLUMNS)}) replace (
                      substr(iban, 1, 2) || case when substr(iban, 3, 2) = '00' then '01' else '00' end
                      || substr(iban, 5) as iban)
                  from read_parquet('{demo_world_copy.landing}/laadwerk/customers/*.parquet', union_by_name = true)
                  where customer_ref = 'LAA-C00003')
            to '{correction}' (header, delimiter ',')""")
    assert cli.main(["ingest"]) == 0
    assert cli.main(["run", "--quarter", "2026-Q2"]) == 0
    with duckdb.connect(str(demo_world_copy.warehouse), read_only=True) as con:
        checks = dict(con.execute("select partner_id, has_valid_iban from intermediate.int_customer_checks "
                                  "where customer_ref in ('LAA-C00003', 'VOL-C00003')").fetchall())
        assert checks == {"laadwerk": False, "voltnet": False}  # the same bad input reached both
        laadwerk, voltnet = _row(con, "laadwerk", 2), _row(con, "voltnet", 2)
    assert "iban_invalid" not in _reasons(laadwerk) and laadwerk["is_eligible"]
    assert "iban_invalid" in _reasons(voltnet) and not voltnet["is_eligible"]


def test_an_unregistered_charger_is_reported_unmatched_and_can_qualify_with_evidence(warehouse):
    row = _row(warehouse, "voltnet", 8)
    assert row["mid_status"] == "unmatched"
    assert row["eligibility_status"] == "action_needed"
    assert "MID certificate" in row["actions"]


def test_register_confirmed_and_certificate_backed_meters_are_eligible_when_nothing_else_fails(warehouse):
    confirmed = _row(warehouse, "voltnet", 9)  # KEBA KeContact P40 Pro MID: 'integrated' in the register
    assert confirmed["mid_status"] == "integrated" and confirmed["mid_evidence"] == "register"
    assert confirmed["is_eligible"] and confirmed["eligibility_status"] == "eligible"
    assert confirmed["eligible_kwh"] == confirmed["kwh"] > 0
    assert (confirmed["delivery_period_start"], confirmed["delivery_period_end"]) == (date(2026, 4, 1), date(2026, 6, 30))
    by_certificate = warehouse.execute(
        "select count(*) from marts.fct_charge_point_eligibility where is_eligible "
        "and mid_evidence = 'partner_certificate'").fetchone()[0]
    assert by_certificate > 0


def test_a_mandate_revoked_mid_quarter_clips_the_delivery_period_and_its_kwh_then_stops(warehouse):
    during = _row(warehouse, "voltnet", 7, "2026-04-01")  # revoked 2026-05-20 09:00 local
    assert during["is_eligible"]
    assert during["delivery_period_end"] == date(2026, 5, 20)
    assert 0 < during["eligible_kwh"] < during["kwh"]
    after = _row(warehouse, "voltnet", 7, "2026-07-01")
    assert "mandate_revoked" in _reasons(after) and after["eligible_kwh"] == 0


def test_only_eligible_kwh_reach_the_booking_mart(warehouse):
    per_quarter = warehouse.execute("""
        select e.quarter_start, sum(e.eligible_kwh), (select sum(eligible_kwh) from marts.fct_ean_quarter_energy b
                                                      where b.quarter_start = e.quarter_start)
        from marts.fct_charge_point_eligibility e group by e.quarter_start order by 1
    """).fetchall()
    assert len(per_quarter) == 4
    for quarter, eligible, booked in per_quarter:
        assert eligible == booked and booked > 0, quarter
    leaked = warehouse.execute("""
        select count(*) from marts.fct_ean_quarter_energy b
        where b.eligible_kwh > 0 and ((b.ean = ? and b.partner_id <> 'voltnet') or exists (
            select 1 from marts.fct_charge_point_eligibility e
            where e.partner_id = b.partner_id and e.ean = b.ean and e.quarter_start = b.quarter_start
              and not e.is_eligible and e.kwh > 0))
    """, [SHARED_EAN]).fetchone()[0]
    assert leaked == 0


def test_the_earlier_mandate_holds_the_shared_ean_and_only_the_later_claimant_is_refused(warehouse):
    holder, refused = _row(warehouse, "voltnet", 1), _row(warehouse, "groenstroom", 1)
    assert holder["ean"] == refused["ean"] == SHARED_EAN
    assert "ean_claimed_by_another_mandate" not in _reasons(holder)
    assert "ean_claimed_by_another_mandate" in _reasons(refused)


def test_the_booking_mart_has_delivery_periods_inside_the_quarter_and_ere_at_the_years_rate(warehouse):
    rows = warehouse.execute("""
        select quarter_start, delivery_period_start, delivery_period_end, eligible_kwh, ere_per_kwh,
               eligible_ere_estimate
        from marts.fct_ean_quarter_energy where eligible_kwh > 0""").fetchall()
    expected_per_kwh = _ere_per_kwh_from_reference(2026)
    assert expected_per_kwh == Decimal("0.332694")  # 0.505 x 183 x 3.6 / 1000
    assert {quarter for quarter, *_ in rows} == {date(2026, m, 1) for m in (1, 4, 7, 10)}
    for quarter_start, start, end, kwh, ere_per_kwh, ere in rows:
        assert quarter_start <= start <= end < date(quarter_start.year + (quarter_start.month == 10),
                                                      quarter_start.month % 12 + 3 if quarter_start.month != 10 else 1, 1)
        assert ere_per_kwh == expected_per_kwh
        assert ere == kwh * expected_per_kwh


def _ere_per_kwh_from_reference(year: int) -> Decimal:
    """DOMAIN.md's formula on data/reference/ere_parameters.csv: share x reference [g/MJ] x 3.6 MJ/kWh / 1000."""
    with (REFERENCE_DIR / "ere_parameters.csv").open(encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if int(r["year"]) == year)
    return Decimal(row["renewable_share"]) * Decimal(row["reference_g_co2_per_mj"]) * Decimal("3.6") / 1000


def test_the_mid_scan_asset_writes_each_partners_scan_with_the_marts_counts(in_demo_world, warehouse):
    for partner in ("voltnet", "laadwerk", "groenstroom"):
        scan_csv = in_demo_world.exports / "2026-Q4" / "mid_scan" / partner / "mid_scan.csv"
        with scan_csv.open(encoding="utf-8-sig") as handle:  # for Dutch Excel: a BOM and ';'
            statuses = [row["status"] for row in csv.DictReader(handle, delimiter=";")]
        expected = dict(warehouse.execute(
            "select eligibility_status, count(*) from marts.fct_charge_point_eligibility "
            "where partner_id = ? and quarter_start = '2026-10-01' group by 1", [partner]).fetchall())
        assert {s: statuses.count(s) for s in set(statuses)} == expected
        assert (scan_csv.parent / "mid_scan.html").read_text(encoding="utf-8").count("<html") == 1


def test_the_pandera_asset_checks_count_failing_rows_by_rule_without_values(in_demo_world):
    from joulo_pipelines.defs.eligibility.checks import (
        charge_points_conform_to_charge_point_model,
        customers_conform_to_customer_model,
        eligibility_holds_its_invariants,
    )
    from joulo_pipelines.defs.resources import DataDirResource

    resource = DataDirResource(path=str(in_demo_world.root))
    customers = customers_conform_to_customer_model(data_dir=resource)
    failing = customers.metadata["failing_rows_by_rule"].value
    assert not customers.passed
    assert failing["ean: ean_check_digit_and_871_prefix"] == 1  # laadwerk's broken check digit
    assert failing["postal_code: dutch_postal_code"] == 1
    assert failing["mandate_whole_calendar_years"] == 1
    assert all(isinstance(count, int) for count in failing.values())
    with duckdb.connect(str(in_demo_world.warehouse), read_only=True) as con:
        bad_ean = con.execute("select ean from intermediate.int_customers_latest where partner_id = 'laadwerk' "
                              "and customer_ref = 'LAA-C00006'").fetchone()[0]
    assert bad_ean not in str(customers.metadata)
    charge_points = charge_points_conform_to_charge_point_model(data_dir=resource)
    with duckdb.connect() as con:  # the charge points whose latest delivered row has no meter serial
        without_serial = con.execute(f"""
            select count(*) filter (where meter_serial is null) from (
                select * from read_parquet('{in_demo_world.landing}/*/charge_points/*.parquet', union_by_name = true)
                qualify row_number() over (partition by partner_id, charge_point_ref
                                           order by received_at desc, source_file desc, line_number desc) = 1)
        """).fetchone()[0]
    assert without_serial > 0
    assert charge_points.metadata["failing_rows_by_rule"].value.get("meter_serial: not_nullable") == without_serial
    assert eligibility_holds_its_invariants(data_dir=resource).passed
