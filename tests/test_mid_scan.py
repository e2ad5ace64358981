"""`joulo mid-scan` on a prospect's own exports: statuses and every reason, annual kWh and money, and the
HTML a sales person reads (rendered in headless Chromium) showing the same counts as the CSV."""

from __future__ import annotations

import csv
import re
import subprocess
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from chromium import dump_dom

from joulo_pipelines import cli
from joulo_pipelines.lib.eligibility.mid_scan import scan_prospect, summarise
from joulo_pipelines.lib.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR

# A list no one tuned for the register: ';'-separated, header in mixed case, names typed as people do.
CHARGE_POINTS = """Charge_Point_Ref;Customer_Ref;Brand;Model;Serial_Number;Meter_Serial;MID_Certificate
CP-1;C1;ALFEN;Eve Single Pro-line DE;S1;M1;
CP-2;C2;Wallbox;Pulsar-Plus;S2;M2;
CP-3;C3;zaptec;GO;S3;;0120-MID-77
CP-4;C4;Acme Charging;Volt 1;S4;M4;
CP-5;C5;Tesla;Wall Connector Gen 3;S5;M5;
CP-6;C6;Easee;Home;S6;;
CP-7;C404;tesla;wall connector gen 3 MID 1529455-02-D;S7;M7;
CP-8;C8;Alfen;Eve Single Pro-line DE;S8;M8;
CP-9;C9;Alfen;Eve Single Pro-line DE;S9;M9;
"""
CUSTOMERS = """customer_ref;ean;postal_code
C1;871687120000000004;1011 AB
C2;871685900000000011;3511CD
C3;871694840000000001;5611 EF
C4;871687120000000103;9711 GH
C5;871687120000000005;1011 AB
C6;871687120000000202;2000
C8;871687120000000301;6511 KL
C9;871687120000000301;6511 KL
"""
ERE_PER_KWH_2026 = Decimal("0.332694")  # 0.505 x 183 g/MJ x 3.6 MJ/kWh / 1000 (DOMAIN.md)
# 1 Jan 00:00Z .. 15 Mar 00:00Z is 73 days, a fifth of a year: annual kWh = 5 x the sessions' kWh.
SESSIONS = """session_ref;charge_point_ref;started_at;ended_at;meter_start_wh;meter_stop_wh;energy_kwh
S1;CP-1;2026-01-01T00:00:00Z;2026-01-01T04:00:00Z;1000;7000;
S2;CP-1;2026-03-14T20:00:00Z;2026-03-15T00:00:00Z;7000;11000;
S3;CP-2;2026-02-01T18:00:00Z;2026-02-01T20:00:00Z;;;5,5
"""
EXPECTED = {
    "CP-1": ("eligible", ""),
    "CP-2": ("not_eligible", "mid_meter_absent"),
    "CP-3": ("action_needed", "meter_serial_missing"),
    "CP-4": ("action_needed", "mid_evidence_missing"),
    "CP-5": ("action_needed", "mid_evidence_missing;ean_invalid"),
    "CP-6": ("not_eligible", "mid_meter_absent;meter_serial_missing;postal_code_invalid"),
    "CP-7": ("action_needed", "customer_unknown"),
    "CP-8": ("action_needed", "ean_claimed_twice"),
    "CP-9": ("action_needed", "ean_claimed_twice"),
}


@pytest.fixture
def prospect(tmp_path) -> dict[str, Path]:
    files = {"charge_points": CHARGE_POINTS, "customers": CUSTOMERS, "sessions": SESSIONS}
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text(content, encoding="utf-8")
    return paths


def test_every_charge_point_gets_its_status_and_every_reason(prospect):
    scan = scan_prospect(prospect["charge_points"], prospect["customers"])
    got = {row.charge_point_ref: (row.status, row.reasons) for row in scan.itertuples()}
    assert got == EXPECTED
    assert dict(zip(scan["charge_point_ref"], scan["mid_status"]))["CP-4"] == "unmatched"


def test_without_sessions_a_stated_typical_year_is_assumed(prospect):
    scan = scan_prospect(prospect["charge_points"], typical_annual_kwh=Decimal("2500"))
    assert set(scan["annual_kwh"]) == {Decimal("2500")} and set(scan["kwh_basis"]) == {"typical"}
    # without a customers file only the charger-side rules apply
    assert dict(zip(scan["charge_point_ref"], scan["reasons"]))["CP-7"] == ""


def test_annual_kwh_comes_from_the_sessions_scaled_to_a_year_and_money_stays_decimal(prospect):
    scan = scan_prospect(prospect["charge_points"], prospect["customers"], prospect["sessions"])
    annual = dict(zip(scan["charge_point_ref"], scan["annual_kwh"]))
    assert annual["CP-1"] == Decimal("50.000")  # (6 + 4) kWh x 5
    assert annual["CP-2"] == Decimal("27.500")  # 5,5 kWh (decimal comma) x 5
    assert annual["CP-3"] == Decimal("0")
    summary = summarise(scan, "Prospect", 2026, ERE_PER_KWH_2026, Decimal("0.45"))
    expected_eur = (Decimal("50.000") * ERE_PER_KWH_2026 * Decimal("0.45")).quantize(Decimal("0.01"))
    assert summary.annual["eligible"]["eur"] == expected_eur == Decimal("7.49")
    assert isinstance(summary.annual["eligible"]["eur"], Decimal)


def test_a_missing_required_column_names_the_file_and_the_column(data_dir, tmp_path, capsys):
    bad = tmp_path / "charge_points_bad.csv"
    bad.write_text("charge_point_ref,brand\nCP-1,Alfen\n", encoding="utf-8")
    assert cli.main(["mid-scan", str(bad), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert str(bad) in error and "model" in error and "missing" in error


@pytest.fixture
def ere_factors(data_dir):
    """The data dir's warehouse with its ERE factors (marts.dim_ere_factors, from the seed), which the scan
    of a prospect estimates with."""
    subprocess.run([str(DBT_EXECUTABLE), "build", "--quiet", "--select", "ere_parameters", "dim_ere_factors",
                    "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                    "--target-path", str(data_dir.root / "dbt_target")], check=True)
    return data_dir


def test_a_year_without_an_ere_factor_is_an_error_naming_the_year(data_dir, prospect, tmp_path, capsys):
    assert cli.main(["mid-scan", str(prospect["charge_points"]), "--out", str(tmp_path / "out"),
                     "--year", "2031"]) == 2
    error = capsys.readouterr().err
    assert "delivery year 2031" in error and "ere_parameters.csv" in error
    assert not (tmp_path / "out").exists()


def test_the_html_rendered_in_chromium_shows_the_counts_of_the_csv(ere_factors, prospect, tmp_path):
    out = tmp_path / "scan"
    assert cli.main(["mid-scan", str(prospect["charge_points"]), "--customers", str(prospect["customers"]),
                     "--sessions", str(prospect["sessions"]), "--price", "0.45", "--out", str(out),
                     "--year", "2026"]) == 0
    with (out / "mid_scan.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    csv_statuses = Counter(row["status"] for row in rows)
    csv_reasons = Counter(reason for row in rows for reason in row["reasons"].split(";") if reason)

    dom = dump_dom(out / "mid_scan.html", tmp_path / "chromium-profile")
    shown = {status: int(re.search(rf'id="count-{status}">(\d+)<', dom).group(1))
             for status in ("eligible", "action_needed", "not_eligible")}
    assert shown == {status: csv_statuses.get(status, 0) for status in shown}
    assert shown == {"eligible": 1, "action_needed": 6, "not_eligible": 2}
    shown_reasons = {reason: int(count) for reason, count in re.findall(r'data-reason="([a-z_]+)">(\d+)<', dom)}
    assert shown_reasons == dict(csv_reasons)
    assert "Acme Charging" in re.search(r'<table id="unmatched">.*?</table>', dom, re.S).group(0)
    assert "http" not in re.sub(r'<a [^>]*>', "", dom).split("<body>", 1)[1], "the page must be self-contained"
