"""A small REV world without dbt: a warehouse whose eligibility mart and customers a test writes directly,
three EANs of partner alpha (the third a business with a KvK number), and quarter runs of the real booking
code on it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import duckdb

from joulo_pipelines import cli
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.registration.export import (
    REGISTER_FILES,
    validate_register_file,
)
from joulo_pipelines.lib.registration.ledger import ensure_ledger, submitted_booking_ids
from joulo_pipelines.lib.registration.publish import publish_quarter

EANS = ["871000000000000011", "871000000000000028", "871000000000000035"]
TODAY = date(2027, 1, 15)
ERE_PER_KWH = Decimal("0.3326940000")


def make_warehouse(data_dir: DataDir) -> None:
    with duckdb.connect(str(data_dir.warehouse)) as con:
        con.execute("""
            create schema marts; create schema intermediate;
            create table marts.fct_ean_quarter_energy (
                partner_id varchar, ean varchar, quarter_start date, delivery_year integer,
                kwh decimal(18, 6), session_count bigint, charge_point_count bigint,
                ere_per_kwh decimal(20, 10), ere_estimate decimal(38, 12), eligible_customer_ref varchar,
                delivery_period_start date, delivery_period_end date, eligible_kwh decimal(18, 6),
                eligible_session_count bigint, eligible_charge_point_count bigint,
                eligible_ere_estimate decimal(38, 12));
            create table intermediate.int_customers_latest as
            select 'alpha' as partner_id, 'C' || i as customer_ref, 'Holder ' || i as customer_name,
                   'Dorpsstraat' as street, cast(i as varchar) as house_number, '1011AB' as postal_code,
                   'Amsterdam' as city, timestamptz '2025-12-01 10:00:00+01' as mandate_signed_at,
                   date '2026-01-01' as mandate_valid_from, date '2026-12-31' as mandate_valid_until,
                   case when i = 2 then '12345678' end as kvk_number
            from range(3) t(i);
        """)
        ensure_ledger(con)


def set_eligible(data_dir: DataDir, index: int, quarter: Quarter, value: Decimal | None) -> None:
    with duckdb.connect(str(data_dir.warehouse)) as con:
        con.execute("delete from marts.fct_ean_quarter_energy where ean = ? and quarter_start = ?",
                    [EANS[index], quarter.start])
        if value is not None:
            con.execute(
                "insert into marts.fct_ean_quarter_energy values "
                "('alpha', ?, ?, 2026, ?, 1, 1, ?, ?, ?, ?, ?, ?, 1, 1, ?)",
                [EANS[index], quarter.start, value, ERE_PER_KWH, value * ERE_PER_KWH, f"C{index}", quarter.start,
                 date.fromordinal(quarter.end.toordinal() - 1), value, value * ERE_PER_KWH])


def run(data_dir: DataDir, number: int) -> None:
    with duckdb.connect(str(data_dir.warehouse)) as con:
        publish_quarter(con, data_dir, Quarter(2026, number), TODAY, submitted_booking_ids(con, 2026))


def book(data_dir: DataDir, label: str, preparer: str = "an", approver: str = "bo") -> None:
    run(data_dir, int(label[-1]))
    assert cli.main(["rev", "submit", label, "--by", preparer]) == 0
    assert cli.main(["rev", "approve", label, "--by", approver]) == 0


def register_elements(data_dir: DataDir, label: str, name: str) -> list[ET.Element]:
    content = (data_dir.exports / label / "rev" / name).read_bytes()
    validate_register_file(name, content)
    return list(ET.fromstring(content))


def child_text(element: ET.Element, name: str) -> str | None:
    found = [child for child in element if child.tag.endswith("}" + name)]
    return found[0].text if found else None


INTERNAL_NAMES = {"partner", "partnerid", "customerref", "customer", "ereestimate", "ere", "totals", "total",
                  "bookingid", "ereperkwh", "previouskwh", "estimate"}


def assert_register_files_hold_nothing_internal(data_dir: DataDir) -> int:
    """Parse every register file under exports/: no element or attribute named for an internal field, and no
    value that is a partner id, customer reference or ERE estimate of any booking line. Returns the files."""
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        internal = {str(value) for row in con.execute(
            "select partner_id, customer_ref, ere_estimate from ledger.rev_booking_lines union all "
            "select partner_id, customer_ref, ere_estimate from registration.rev_booking_drafts").fetchall()
            for value in row}
    files = [path for path in sorted(data_dir.exports.glob("*/rev/*.xml")) if path.name in REGISTER_FILES]
    assert files
    for path in files:
        validate_register_file(path.name, path.read_bytes())
        for element in ET.parse(path).getroot().iter():
            names = [element.tag.rsplit("}", 1)[-1]] + list(element.attrib)
            assert not {name.replace("_", "").lower() for name in names} & INTERNAL_NAMES, (path, names)
            values = [element.text.strip() if element.text else ""] + list(element.attrib.values())
            assert not set(values) & internal, (path, set(values) & internal)
            if element.tag.endswith("}kWh"):
                assert Decimal(element.text) >= 0
    return len(files)
