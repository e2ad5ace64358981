"""`joulo mid-scan` on a prospect's own exports: the four groups, statuses and every reason, annual kWh and
money, and the page a sales person reads, in the partner's brand, in Dutch and English (rendered in headless
Chromium, once per language) showing the same counts as the CSV."""

from __future__ import annotations

import csv
import re
import subprocess
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
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
# A missing meter serial is checked at onboarding, never a gap in a prospect's scan (CP-3, CP-6).
EXPECTED = {
    "CP-1": ("unit_check", "action_needed", "mid_evidence_missing"),  # Eichrecht (DE manual) is not MID evidence
    "CP-2": ("external_meter", "action_needed", "mid_external_meter_needed"),
    "CP-3": ("as_sold", "eligible", ""),  # unknown model, but its MID certificate was given
    "CP-4": ("unit_check", "action_needed", "mid_evidence_missing"),
    "CP-5": ("unit_check", "action_needed", "mid_unit_check_needed;ean_invalid"),
    "CP-6": ("cannot_qualify", "not_eligible", "mid_meter_absent;postal_code_invalid"),
    "CP-7": ("as_sold", "action_needed", "customer_unknown"),
    "CP-8": ("unit_check", "action_needed", "mid_evidence_missing;ean_claimed_twice"),
    "CP-9": ("unit_check", "action_needed", "mid_evidence_missing;ean_claimed_twice"),
}
# The ten most common home chargers in the Netherlands as a prospect lists them: brand and model only.
TEN_COMMON = [("Alfen", "Eve Single Pro-line"), ("Alfen", "Eve Single S-line"), ("Alfen", "Eve Double Pro-line"),
              ("Easee", "Home"), ("Easee", "Charge"), ("Zaptec", "Go"), ("Wallbox", "Pulsar Plus"),
              ("Wallbox", "Pulsar Max"), ("Peblar", "Home"), ("Tesla", "Wall Connector Gen 3")]
# What the register's documents support today (README, "MID register"): no model of the ten is confirmed
# MID as sold by a document we read; most can qualify once the unit is checked.
TEN_COMMON_GROUPS = {
    "unit_check": {"Eve Single Pro-line", "Eve Single S-line", "Eve Double Pro-line", "Charge", "Go", "Home Peblar",
                   "Wall Connector Gen 3"},
    "external_meter": {"Pulsar Max", "Pulsar Plus"},
    "cannot_qualify": {"Home Easee"},
}


@pytest.fixture
def prospect(tmp_path) -> dict[str, Path]:
    files = {"charge_points": CHARGE_POINTS, "customers": CUSTOMERS, "sessions": SESSIONS}
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text(content, encoding="utf-8")
    return paths


def test_every_charge_point_gets_its_group_its_status_and_every_reason(prospect):
    scan = scan_prospect(prospect["charge_points"], prospect["customers"])
    got = {row.charge_point_ref: (row.group, row.status, row.reasons) for row in scan.itertuples()}
    assert got == EXPECTED
    assert dict(zip(scan["charge_point_ref"], scan["mid_status"]))["CP-4"] == "unmatched"
    onboarding = dict(zip(scan["charge_point_ref"], scan["to_check_at_onboarding"]))
    assert {ref for ref, check in onboarding.items() if check} == {"CP-3", "CP-6"}


def _prospect_file(path: Path, chargers: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["charge_point_ref", "brand", "model"])
        writer.writerows([f"CP-{n:02d}", brand, model] for n, (brand, model) in enumerate(chargers, start=1))
    return path


def test_the_ten_most_common_dutch_home_chargers_split_honestly_into_four_groups(tmp_path):
    scan = scan_prospect(_prospect_file(tmp_path / "prospect.csv", TEN_COMMON))
    groups: dict[str, set[str]] = {}
    for row in scan.itertuples():
        name = f"{row.model} {row.brand}" if row.model == "Home" else row.model
        groups.setdefault(row.group, set()).add(name)
    assert groups == TEN_COMMON_GROUPS
    statuses = dict(zip(scan["model"], scan["mid_status"]))
    assert statuses["Pulsar Max"] == "external" and statuses["Wall Connector Gen 3"] == "optional"
    # optional and external are a check of the unit, never the rejection `none` is
    assert set(scan.loc[scan["mid_status"].isin(["optional", "external"]), "status"]) == {"action_needed"}
    # the prospect has no meter serials yet: to check at onboarding, not a reason
    assert set(scan["to_check_at_onboarding"]) == {"meter_serial"}
    assert not scan["reasons"].str.contains("meter_serial_missing").any()


def test_a_partner_not_in_the_registry_is_named_and_nothing_is_written(data_dir, tmp_path, capsys):
    prospect = _prospect_file(tmp_path / "prospect.csv", TEN_COMMON)
    assert cli.main(["mid-scan", str(prospect), "--out", str(tmp_path / "out"), "--partner", "gamma"]) == 2
    error = capsys.readouterr().err
    assert "'gamma'" in error and "alpha, beta" in error
    assert not (tmp_path / "out").exists()


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
    assert summary.annual["unit_check"]["eur"] == expected_eur == Decimal("7.49")
    assert isinstance(summary.annual["unit_check"]["eur"], Decimal)


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


BRAND_MARKUP = "<i>Volt</i> & Co"
HOSTILE_CHARGER = ("<img src=x onerror=alert(1)>", "<script>alert(1)</script>")
CODES = ("mid_evidence_missing", "mid_unit_check_needed", "mid_external_meter_needed", "mid_meter_absent",
         "meter_serial_missing")
WORDS = {  # (a group's words, the onboarding words, the typical year as the language writes it)
    "nl": ("komen in aanmerking na een controle van de lader", "controleren bij aansluiting", "2.500 kWh"),
    "en": ("qualify after a check of the charger", "to check at onboarding", "2,500 kWh"),
}


def test_the_page_in_chromium_is_the_partners_in_both_languages_with_the_csvs_groups(ere_factors, tmp_path):
    registry = yaml.safe_load(ere_factors.partners_file.read_text())
    registry["partners"][0]["brand"].update(display_name=BRAND_MARKUP, colour="#0b5fff")
    ere_factors.partners_file.write_text(yaml.safe_dump(registry))
    prospect = _prospect_file(tmp_path / "prospect.csv", [*TEN_COMMON, HOSTILE_CHARGER])
    for lang, (group_words, onboarding, typical_year) in WORDS.items():
        out = tmp_path / lang
        assert cli.main(["mid-scan", str(prospect), "--out", str(out), "--year", "2026", "--partner", "alpha",
                         "--lang", lang]) == 0
        with (out / "mid_scan.csv").open(encoding="utf-8-sig") as handle:
            csv_groups = Counter(row["group"] for row in csv.DictReader(handle, delimiter=";"))
        assert csv_groups == {"unit_check": 8, "external_meter": 2, "cannot_qualify": 1}

        dom = dump_dom(out / "mid_scan.html", tmp_path / f"chromium-{lang}")
        shown = {group: int(re.search(rf'id="count-{group}">(\d+)<', dom).group(1))
                 for group in ("as_sold", "unit_check", "external_meter", "cannot_qualify")}
        assert shown == {group: csv_groups.get(group, 0) for group in shown}
        assert f'<html lang="{lang}">' in dom and group_words in dom and typical_year in dom
        assert dom.count(onboarding) == len(TEN_COMMON) + 1
        # brand and charger markup arrive as text, never as elements
        assert "&lt;i&gt;Volt&lt;/i&gt; &amp; Co" in dom and "<i>Volt</i>" not in dom
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom and "<img" not in dom
        text = re.sub(r"<[^>]+>", " ", dom.split("<body>", 1)[1])
        assert not [code for code in CODES if code in text], "rule codes belong in the CSV, not the page's text"
        assert "http" not in dom.split("<body>", 1)[1], "the page must be self-contained"
