"""The file-drop contract, enforced by the intake: what lands, what is quarantined, and why."""

import csv
import json

import duckdb

from conftest import drop
from joulo_pipelines.lib.intake import ingest_file, ingest_files

PARTNERS = ["alpha", "beta"]
SESSIONS_HEADER = "session_ref,charge_point_ref,started_at,ended_at,meter_start_wh,meter_stop_wh\n"


def landed_rows(data_dir, partner, dataset, columns):
    return duckdb.sql(
        f"select {columns} from read_parquet('{data_dir.landing}/{partner}/{dataset}/*.parquet') "
        "order by line_number"
    ).fetchall()


def errors_report(data_dir, result):
    with (data_dir.root / result.report_path).open() as handle:
        return list(csv.DictReader(handle))


def test_semicolon_file_with_bom_decimal_comma_and_local_times_lands_typed(data_dir):
    content = (
        "\ufeffSESSION_REF;Charge_Point_Ref;Started_At;ended_at;energy_kwh;remark\n"
        "B1;CPB1;2026-03-15T10:00:00;2026-03-15T12:30:00;3,25;anything\n"
        "B2;CPB1;2026-07-01T08:00:00+02:00;2026-07-01T09:00:00Z;1,5;\n"
    )
    path = drop(data_dir, "beta", "sessions_march.csv", content.encode("utf-8"))
    result = ingest_file(data_dir, PARTNERS, path)
    assert result.status == "landed" and result.rows_loaded == 2
    rows = duckdb.sql(
        f"select session_ref, started_at, ended_at, energy_kwh::varchar, line_number "
        f"from read_parquet('{data_dir.landing}/beta/sessions/*.parquet') order by line_number"
    ).fetchall()
    # 10:00 local in March is CET (+01:00): 09:00 UTC; 08:00+02:00 is 06:00 UTC.
    assert [(r[0], r[1].isoformat(), r[2].isoformat(), r[3], r[4]) for r in rows] == [
        ("B1", "2026-03-15T09:00:00+00:00", "2026-03-15T11:30:00+00:00", "3.250000", 2),
        ("B2", "2026-07-01T06:00:00+00:00", "2026-07-01T09:00:00+00:00", "1.500000", 3),
    ]


def test_bad_rows_are_quarantined_with_file_row_column_value_and_reason_while_good_rows_land(data_dir):
    content = SESSIONS_HEADER + (
        "S1,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,1000,2000\n"
        "S2,CP1,2026-03-29T02:30:00,2026-03-29T04:00:00,2000,3000\n"
        "\n"
        "S3,CP1,2026-10-25T02:30:00,2026-10-25T04:00:00,3000,4000\n"
        "S4,CP1,2026-01-11T18:00:00Z,2026-01-11T20:00:00Z,lots,5000\n"
        "S5,CP1,2026-01-12T18:00:00Z\n"
        "S6,CP1,2026-01-13T18:00:00Z,2026-01-13T17:00:00Z,5000,6000\n"
        "S7,CP1,2026-01-14T18:00:00Z,2026-01-14T20:00:00Z,6000,7000\n"
    )
    path = drop(data_dir, "alpha", "sessions_jan.csv", content)
    result = ingest_file(data_dir, PARTNERS, path)

    assert result.status == "landed_with_errors"
    assert landed_rows(data_dir, "alpha", "sessions", "session_ref, line_number") == [("S1", 2), ("S7", 9)]
    report = errors_report(data_dir, result)
    by_row = {int(r["row"]): r for r in report}
    assert set(by_row) == {3, 5, 6, 7, 8}
    assert all(r["file"] == "alpha/sessions_jan.csv" for r in report)
    assert by_row[3]["column"] == "started_at" and "does not exist in Europe/Amsterdam" in by_row[3]["reason"]
    assert by_row[5]["column"] == "started_at" and "occurs twice" in by_row[5]["reason"]
    assert (by_row[6]["column"], by_row[6]["value"]) == ("meter_start_wh", "lots")
    assert "whole number" in by_row[6]["reason"]
    assert "does not match the header" in by_row[7]["reason"]
    assert by_row[8]["column"] == "ended_at" and "before started_at" in by_row[8]["reason"]
    quarantined = (data_dir.quarantine / "alpha" / f"{result.file_sha256}.rejected_rows.csv").read_text()
    assert quarantined.splitlines() == [SESSIONS_HEADER.strip()] + [content.splitlines()[i - 1] for i in (3, 5, 6, 7, 8)]
    # the original bytes are kept as delivered
    assert (data_dir.raw / f"{result.file_sha256}.csv").read_text() == content


def test_the_same_bytes_twice_is_a_no_op_and_a_changed_file_lands_again(data_dir):
    content = SESSIONS_HEADER + "S1,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,1000,2000\n"
    first = ingest_file(data_dir, PARTNERS, drop(data_dir, "alpha", "sessions.csv", content))
    again = ingest_file(data_dir, PARTNERS, drop(data_dir, "alpha", "sessions_copy.csv", content))
    assert (first.status, again.status) == ("landed", "duplicate")
    assert len(list((data_dir.landing / "alpha" / "sessions").glob("*.parquet"))) == 1
    changed = ingest_file(data_dir, PARTNERS, drop(data_dir, "alpha", "sessions.csv", content + content.splitlines()[1].replace("S1", "S2") + "\n"))
    assert changed.status == "landed" and changed.rows_loaded == 2
    assert len(list((data_dir.landing / "alpha" / "sessions").glob("*.parquet"))) == 2



def test_partners_land_side_by_side_and_each_partners_files_in_order(data_dir):
    content = SESSIONS_HEADER + "S1,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,1000,2000\n"
    paths = [drop(data_dir, "alpha", "sessions_1.csv", content), drop(data_dir, "beta", "sessions.csv", content),
             drop(data_dir, "alpha", "sessions_2.csv", content),  # the same bytes again: a duplicate
             drop(data_dir, "gamma", "sessions.csv", content),  # not registered
             drop(data_dir, "beta", "notes.txt", "not a contract file")]
    results = ingest_files(data_dir, PARTNERS, paths)
    assert [path for path, _ in results] == paths
    assert [result.status for _, result in results] == ["landed", "landed", "duplicate", "rejected", "rejected"]
    # The same bytes from two partners land for both, and their raw copy once.
    assert landed_rows(data_dir, "alpha", "sessions", "session_ref") == [("S1",)]
    assert landed_rows(data_dir, "beta", "sessions", "session_ref") == [("S1",)]
    assert len(list(data_dir.raw.glob("*.csv"))) == 1
    assert not list(data_dir.raw.glob(".*"))  # no temporary file left behind


def test_a_file_that_breaks_the_intake_does_not_stop_the_others(data_dir):
    content = SESSIONS_HEADER + "S1,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,1000,2000\n"
    paths = [drop(data_dir, "alpha", "sessions.csv", content), data_dir.inbox / "beta" / "vanished.csv",
             drop(data_dir, "beta", "sessions.csv", content)]
    results = dict(ingest_files(data_dir, PARTNERS, paths))
    assert isinstance(results[paths[1]], FileNotFoundError)
    assert results[paths[0]].status == results[paths[2]].status == "landed"


def test_a_file_missing_a_required_column_is_rejected_whole_and_kept_in_quarantine(data_dir):
    content = "charge_point_ref,started_at,ended_at,energy_kwh\nCP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,3\n"
    result = ingest_file(data_dir, PARTNERS, drop(data_dir, "alpha", "sessions.csv", content))
    assert result.status == "rejected" and result.rows_loaded == 0
    assert "session_ref" in result.errors[0].reason and result.errors[0].row == 1
    assert (data_dir.quarantine / "alpha" / f"{result.file_sha256}__sessions.csv").read_text() == content
    manifest = json.loads((data_dir.landing / "alpha" / "manifest" / f"{result.file_sha256}.json").read_text())
    assert manifest["status"] == "rejected"


def test_a_file_of_an_unregistered_partner_or_an_unknown_dataset_is_rejected(data_dir):
    stranger = ingest_file(data_dir, PARTNERS, drop(data_dir, "gamma", "sessions.csv", SESSIONS_HEADER))
    assert stranger.status == "rejected" and "not in config/partners.yaml" in stranger.errors[0].reason
    with (data_dir.quarantine / "_unregistered" / f"{stranger.file_sha256}.errors.csv").open() as handle:
        report = list(csv.DictReader(handle))
    assert [(r["file"], r["row"]) for r in report] == [("gamma/sessions.csv", str(stranger.errors[0].row))]
    assert "not in config/partners.yaml" in report[0]["reason"]
    assert (data_dir.quarantine / "_unregistered" / f"{stranger.file_sha256}__sessions.csv").read_text() == SESSIONS_HEADER
    unknown = ingest_file(data_dir, PARTNERS, drop(data_dir, "alpha", "invoices.csv", "a,b\n1,2\n"))
    assert unknown.status == "rejected" and "sessions[_anything].csv" in unknown.errors[0].reason


def test_the_summary_for_logs_and_metadata_carries_no_cell_values(data_dir):
    content = (
        "customer_ref,name,email,iban,street,house_number,postal_code,city,ean,mandate_signed_at,"
        "mandate_valid_from,mandate_valid_until\n"
        "C1,Jan de Vries,not-an-email,NL91ABNA0417164300,Kerkstraat,1,1011AB,Amsterdam,871685900000000011,"
        "2026-01-05T10:00:00Z,2026-01-01,2026-12-31\n"
    )
    result = ingest_file(data_dir, PARTNERS, drop(data_dir, "alpha", "customers.csv", content))
    assert result.status == "landed_with_errors"
    assert result.errors[0].column == "email" and result.errors[0].value == "not-an-email"
    summary = json.dumps(result.summary())
    for personal in ("not-an-email", "Jan de Vries", "NL91ABNA0417164300", "Kerkstraat"):
        assert personal not in summary
    assert "email" in summary
