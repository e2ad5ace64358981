"""CSV formula injection: a text cell beginning with =, +, -, @, a tab or a carriage return goes out with a
leading apostrophe in every CSV meant for people (payout statement and breakdown, MID scan,
quarantine reports, reports copied from the warehouse), while numbers such as -12.50 stay numbers and
machine-read files (rejected lines kept as delivered) stay exactly as delivered."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import duckdb
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from conftest import drop
from payouts_world import booking, build_world, customer, prepare_and_approve

from joulo_pipelines.lib.eligibility.mid_scan import (
    scan_prospect,
    summarise,
    write_scan,
)
from joulo_pipelines.lib.intake import ingest_file
from joulo_pipelines.lib.people_csv import copy_query, render, safe_cell
from joulo_pipelines.lib.quarters import Quarter

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


def read_back(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def read_back_dutch_excel(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";"))


def neutralised(value: str) -> bool:
    return value.startswith("'") and value[1:] in HOSTILE


def test_text_that_would_start_a_formula_gets_an_apostrophe_and_numbers_stay_numbers():
    assert [safe_cell(text) for text in HOSTILE] == ["'" + text for text in HOSTILE]
    assert [safe_cell(v) for v in ["-12.50", "+31612345678", "-5", "12.500", Decimal("-1.5"), -3, None, "An"]] == \
        ["-12.50", "+31612345678", "-5", "12.500", Decimal("-1.5"), -3, None, "An"]
    assert safe_cell("-") == "'-" and safe_cell("-1-1") == "'-1-1"


CELLS = st.text(alphabet=st.sampled_from(list("ab,;\"'=-1.\r\n\t ")), max_size=6)


@given(st.lists(st.lists(CELLS, min_size=2, max_size=2), max_size=4), st.sampled_from([",", ";"]))
@example([["a\rb", "c"]], ",")  # a carriage return in a cell: quoted, so no spreadsheet starts a row there
@example([["a", "b"], ["c", "d"]], ";")  # plain cells over two rows
def test_a_csv_reads_back_as_its_safe_cells_with_rows_ending_in_a_line_feed(rows, delimiter):
    text = render(["h1", "h2"], rows, delimiter)
    assert list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)) == \
        [["h1", "h2"], *[[str(safe_cell(cell)) for cell in row] for row in rows]]
    assert text.endswith("\n") and not text.endswith("\r\n")


def test_payout_statement_and_breakdown_neutralise_hostile_names_and_refs(data_dir):
    names = HOSTILE[:-1]  # a line break in a name is refused at intake (and breaks the e-mail's header)
    refs = [f"-B{i}" for i in range(len(names))]
    build_world(data_dir, [customer("beta", ref, name, None) for ref, name in zip(refs, names)],
                [booking("beta", ref, "2026-01-01", "55.5") for ref in refs])
    prepare_and_approve(data_dir, Quarter(2026, 1))
    folder = data_dir.exports / "2026-Q1" / "payouts" / "beta"
    breakdown = read_back_dutch_excel((folder / "payout_breakdown.csv").read_text(encoding="utf-8"))
    assert sorted(row["account_holder"] for row in breakdown) == sorted("'" + name for name in names)
    assert sorted(row["customer_ref"] for row in breakdown) == sorted("'" + ref for ref in refs)
    assert all(Decimal(row["amount_eur"].replace(",", ".")) > 0 for row in breakdown)
    statement = read_back((folder / "statement.csv").read_text())
    assert sorted(row["customer_ref"] for row in statement) == sorted("'" + ref for ref in refs)
    assert all(Decimal(row["paid_eur"]) > 0 for row in statement)


def test_the_mid_scan_csv_neutralises_hostile_brands_and_refs(tmp_path):
    charge_points = tmp_path / "charge_points.csv"
    with charge_points.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["charge_point_ref", "customer_ref", "brand", "model"])
        writer.writerows([f"CP{n}", f"-C{n}", text, "=M()"] for n, text in enumerate(HOSTILE[:-1]))
    scan = scan_prospect(charge_points)
    csv_path, _ = write_scan(scan, summarise(scan, "Prospect", 2026, Decimal("0.332694"), Decimal("0.45")), tmp_path / "out")
    rows = read_back_dutch_excel(csv_path.read_text(encoding="utf-8"))
    assert sorted(row["brand"] for row in rows) == sorted("'" + text for text in HOSTILE[:-1])
    assert {row["model"] for row in rows} == {"'=M()"}
    assert all(row["customer_ref"].startswith("'-C") for row in rows)


def test_the_quarantine_report_neutralises_the_value_and_the_rejected_lines_stay_as_delivered(data_dir):
    content = ("session_ref,charge_point_ref,started_at,ended_at,meter_start_wh,meter_stop_wh\n"
               "S1,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,1000,2000\n"
               "S2,CP1,2026-01-11T18:00:00Z,2026-01-11T20:00:00Z,=1+1,2000\n")
    result = ingest_file(data_dir, ["alpha", "beta"], drop(data_dir, "alpha", "sessions.csv", content))
    [error] = read_back((data_dir.root / result.report_path).read_text())
    assert (error["column"], error["value"]) == ("meter_start_wh", "'=1+1")
    rejected = (data_dir.quarantine / "alpha" / f"{result.file_sha256}.rejected_rows.csv").read_text()
    assert rejected.splitlines()[1] == content.splitlines()[2]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_report_copied_from_the_warehouse_neutralises_text_and_keeps_numbers_and_nulls(tmp_path, hostile):
    target = tmp_path / "report.csv"
    with duckdb.connect() as con:
        count = copy_query(con, "select ? as customer_ref, -12.50::decimal(18, 2) as kwh, null as note, "
                                "date '2026-01-01' as quarter_start".replace("?", "'" + hostile.replace("'", "''") + "'"),
                           target)
    assert count == 1
    [row] = read_back(target.read_bytes().decode())
    assert row == {"customer_ref": "'" + hostile, "kwh": "-12.50", "note": "", "quarter_start": "2026-01-01"}
