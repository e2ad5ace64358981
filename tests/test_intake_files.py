"""Whole files and inbox entries the intake cannot or will not read: each gets a quarantine report and a
manifest entry with a reason (once, not on every ingest), shows in `joulo status`, and never stops the
other files and partners. Hidden files and subfolders stay in the inbox and are reported as they are."""

import json
import os

import pytest
from cli_tables import table

from conftest import drop
from joulo_pipelines.cli import main
from joulo_pipelines.lib.intake import inbox_files, inbox_not_read, ingest_files

PARTNERS = ["alpha", "beta", "gamma"]
HEADER = "session_ref,charge_point_ref,started_at,ended_at,meter_start_wh,meter_stop_wh\n"
ROW = "S1,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,1000,2000\n"


def ingest_inbox(data_dir) -> dict[str, object]:
    results = ingest_files(data_dir, PARTNERS, inbox_files(data_dir))
    return {path.relative_to(data_dir.inbox).as_posix(): result for path, result in results}


def manifests(data_dir, partner) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((data_dir.landing / partner / "manifest").glob("*.json"))]


@pytest.fixture
def hostile_inbox(data_dir, tmp_path):
    """alpha drops every kind of unreadable entry; gamma's whole folder is a link; beta drops a good file."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sessions.csv").write_text(HEADER + ROW)
    huge_header_cell = "x" * (130 << 10)
    drop(data_dir, "alpha", "sessions_header.csv", f"session_ref,charge_point_ref,{huge_header_cell}\n{ROW}")
    drop(data_dir, "alpha", "sessions_long_line.csv", HEADER + ROW + ROW.strip() + "0" * (50 << 20) + "\n" + ROW)
    os.symlink(outside / "sessions.csv", data_dir.inbox / "alpha" / "sessions_link.csv")
    os.symlink(data_dir.inbox / "beta" / "sessions.csv", data_dir.inbox / "alpha" / "sessions_beta.csv")
    os.mkfifo(data_dir.inbox / "alpha" / "sessions_fifo.csv")
    drop(data_dir, "alpha", ".sessions_upload.csv", HEADER + ROW)
    drop(data_dir, "alpha", "older/sessions.csv", HEADER + ROW)
    drop(data_dir, "alpha", "sessions_good.csv", HEADER + ROW)
    os.symlink(outside, data_dir.inbox / "gamma")
    drop(data_dir, "beta", "sessions.csv", HEADER + ROW)
    return data_dir


def test_every_unreadable_entry_is_quarantined_with_a_reason_and_the_good_files_land(hostile_inbox):
    data_dir = hostile_inbox
    results = ingest_inbox(data_dir)

    assert not [name for name, r in results.items() if isinstance(r, Exception)]
    assert results["beta/sessions.csv"].status == results["alpha/sessions_good.csv"].status == "landed"
    reasons = {name: r.errors[0].reason for name, r in results.items() if r.status == "rejected"}
    assert set(reasons) == {"alpha/sessions_header.csv", "alpha/sessions_long_line.csv", "alpha/sessions_link.csv",
                            "alpha/sessions_beta.csv", "alpha/sessions_fifo.csv", "gamma"}
    assert "header line is longer than 64 KiB" in reasons["alpha/sessions_header.csv"]
    assert "line 3 is longer than 1 MiB" in reasons["alpha/sessions_long_line.csv"]
    assert "symbolic link" in reasons["alpha/sessions_link.csv"]
    assert "symbolic link" in reasons["alpha/sessions_beta.csv"]
    assert "not a regular file" in reasons["alpha/sessions_fifo.csv"]
    assert "partner folder inbox/gamma is a symbolic link" in reasons["gamma"]
    # Nothing was read through the links: no other file's bytes landed as alpha's or gamma's.
    assert {m["source_file"] for m in manifests(data_dir, "alpha") if m["status"] == "landed"} == {
        "alpha/sessions_good.csv"}
    assert [m["status"] for m in manifests(data_dir, "gamma")] == ["rejected"]
    for name, result in results.items():
        if result.status == "rejected":
            report = data_dir.root / result.report_path
            assert json.loads(report.with_suffix("").with_suffix(".report.json").read_text())["errors"][0]["reason"]
    # A file refused whole is kept as delivered.
    long_line = results["alpha/sessions_long_line.csv"]
    kept = data_dir.quarantine / "alpha" / f"{long_line.file_sha256}__sessions_long_line.csv"
    assert kept.stat().st_size > 50 << 20


def test_a_second_ingest_does_not_refuse_the_same_entries_again(hostile_inbox):
    ingest_inbox(hostile_inbox)
    again = ingest_inbox(hostile_inbox)
    assert {r.status for r in again.values()} == {"duplicate"}
    assert len(manifests(hostile_inbox, "alpha")) == 6


def test_hidden_files_and_subfolders_are_reported_where_they_are(hostile_inbox):
    (hostile_inbox.inbox / "stray.csv").write_text(HEADER)
    assert [name for name, _ in inbox_not_read(hostile_inbox)] == [
        "alpha/.sessions_upload.csv", "alpha/older", "stray.csv"]
    ingest_inbox(hostile_inbox)
    assert not any(".sessions_upload" in m["source_file"] or "older" in m["source_file"]
                   for m in manifests(hostile_inbox, "alpha"))


def test_joulo_status_shows_the_refused_files_and_what_the_inbox_holds_unread(hostile_inbox, capsys):
    ingest_inbox(hostile_inbox)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    refused = {row["file"]: row["reason"] for row in table(out, "partner", "file", "reason")}
    assert "symbolic link" in refused["alpha/sessions_link.csv"]
    assert {"alpha/sessions_long_line.csv", "gamma"} <= set(refused)
    not_read = {row["entry"]: row["why"] for row in table(out, "entry", "why")}
    assert "is hidden" in not_read["alpha/.sessions_upload.csv"] and "is a subfolder" in not_read["alpha/older"]


def test_the_inbox_sensor_requests_a_run_for_a_dangling_link_instead_of_failing(data_dir):
    import dagster as dg

    from joulo_pipelines.defs.intake.sensors import inbox_sensor
    from joulo_pipelines.defs.resources import DataDirResource

    drop(data_dir, "alpha", "sessions.csv", HEADER + ROW)
    os.symlink(data_dir.root / "gone.csv", data_dir.inbox / "alpha" / "sessions_gone.csv")
    context = dg.build_sensor_context(resources={"data_dir": DataDirResource(path=str(data_dir.root))})
    files = [r.run_config["ops"]["landed_files"]["config"]["files"] for r in inbox_sensor(context).run_requests]
    assert files == [["alpha/sessions.csv"], ["alpha/sessions_gone.csv"]]
    result = ingest_files(data_dir, PARTNERS, [data_dir.inbox / "alpha" / "sessions_gone.csv"])[0][1]
    assert result.status == "rejected" and "symbolic link" in result.errors[0].reason


def test_a_file_whose_lines_end_in_a_bare_carriage_return_lands(data_dir):
    import duckdb

    content = (HEADER + ROW + ROW.replace("S1", "S2")).replace("\n", "\r")
    result = ingest_files(data_dir, PARTNERS, [drop(data_dir, "alpha", "sessions.csv", content)])[0][1]
    assert not isinstance(result, Exception), repr(result)
    assert result.status == "landed"
    landed = f"{data_dir.landing}/alpha/sessions/*.parquet"
    assert duckdb.sql(f"select session_ref, line_number from read_parquet('{landed}') order by line_number").fetchall() \
        == [("S1", 2), ("S2", 3)]


def test_a_header_in_utf16_without_a_bom_is_refused_for_its_encoding(data_dir):
    result = ingest_files(data_dir, PARTNERS, [drop(data_dir, "alpha", "sessions.csv",
                                                    (HEADER + ROW).encode("utf-16-le"))])[0][1]
    assert result.status == "rejected" and "not UTF-16" in result.errors[0].reason


def test_joulo_ingest_lands_beside_the_hostile_entries_and_says_what_it_did_not_read(hostile_inbox, capsys):
    assert main(["ingest"]) == 0
    out = capsys.readouterr().out
    assert "6 rejected whole" in out
    assert "not read: inbox/alpha/.sessions_upload.csv is hidden" in out
    assert "not read: inbox/alpha/older is a subfolder" in out


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_a_large_file_of_short_lines_lands_whatever_its_line_ends(data_dir, end):
    rows = "".join(ROW.replace("S1", f"S{i}") for i in range(30_000))  # ~1.7 MB, several read chunks
    result = ingest_files(data_dir, PARTNERS, [drop(data_dir, "alpha", "sessions.csv",
                                                    (HEADER + rows).replace("\n", end))])[0][1]
    assert result.status == "landed" and result.rows_loaded == 30_000


def test_a_file_not_in_utf8_is_refused_naming_the_line_but_not_quoting_it(data_dir):
    customers = ("customer_ref,name,email,street,house_number,postal_code,city,ean,mandate_signed_at,"
                 "mandate_valid_from,mandate_valid_until\n"
                 "C1,Jané Geheim,jan@example.nl,Kerkstraat,1,1011AB,Amsterdam,871685900000000011,"
                 "2026-01-05T10:00:00Z,2026-01-01,2026-12-31\n")
    result = ingest_files(data_dir, PARTNERS, [drop(data_dir, "alpha", "customers.csv",
                                                    customers.encode("latin-1"))])[0][1]
    assert result.status == "rejected"
    assert [(e.row, e.reason) for e in result.errors] == [
        (2, "line 2 is not UTF-8 text; the file must be UTF-8, with or without BOM")]
    recorded = json.dumps(manifests(data_dir, "alpha")) + json.dumps(result.summary())
    assert "Geheim" not in recorded and "Kerkstraat" not in recorded and str(data_dir.root) not in recorded


def test_joulo_status_writes_out_control_characters_in_a_partners_file_name(data_dir, capsys):
    drop(data_dir, "alpha", ".upload_\x1b[2J.csv", HEADER)
    os.symlink(data_dir.root / "gone.csv", data_dir.inbox / "alpha" / "sessions_\x1b[2J.csv")
    ingest_inbox(data_dir)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "alpha/sessions_\\x1b[2J.csv" in [row["file"] for row in table(out, "partner", "file", "reason")]
    assert "alpha/.upload_\\x1b[2J.csv" in [row["entry"] for row in table(out, "entry", "why")]


def test_a_file_taken_up_as_it_is_now_is_not_read_again_and_a_changed_one_is(data_dir, monkeypatch):
    """An ingest of the whole inbox reads only what changed since it was taken up (the name, delivery time and
    size of a manifest entry, as the inbox sensor decides): the rest are duplicates without being hashed."""
    from joulo_pipelines.lib import intake

    delivered = "2026-02-01T06:00:00+00:00"
    path = drop(data_dir, "alpha", "sessions.csv", HEADER + ROW, mtime=delivered)
    first = ingest_files(data_dir, PARTNERS, [path])[0][1]
    assert first.status == "landed"
    reads = []
    read_once = intake._read_once
    monkeypatch.setattr(intake, "_read_once", lambda p: reads.append(p.name) or read_once(p))

    again = ingest_files(data_dir, PARTNERS, [path])[0][1]
    assert (again.status, again.dataset, again.file_sha256, reads) == ("duplicate", "sessions", first.file_sha256, [])

    # Other bytes under the same name and delivery time, of another size: read, and landed.
    drop(data_dir, "alpha", "sessions.csv", HEADER + ROW + ROW.replace("S1", "S2"), mtime=delivered)
    changed = ingest_files(data_dir, PARTNERS, [path])[0][1]
    assert (changed.status, changed.rows_loaded, reads) == ("landed", 2, ["sessions.csv"])
    # The first bytes delivered again, later: read, and a no-op as the same bytes always are.
    drop(data_dir, "alpha", "sessions.csv", HEADER + ROW, mtime="2026-02-02T06:00:00+00:00")
    redelivered = ingest_files(data_dir, PARTNERS, [path])[0][1]
    assert (redelivered.status, redelivered.file_sha256) == ("duplicate", first.file_sha256)
    assert reads == ["sessions.csv", "sessions.csv"]


def test_a_manifest_entry_that_cannot_be_read_stops_neither_the_other_partners_files_nor_its_own(
        data_dir, monkeypatch):
    from joulo_pipelines.lib import intake

    alpha = drop(data_dir, "alpha", "sessions.csv", HEADER + ROW)
    beta_landed = drop(data_dir, "beta", "sessions_2026-01.csv", HEADER + ROW.replace("S1", "B0"))
    assert {r.status for _, r in ingest_files(data_dir, PARTNERS, [alpha, beta_landed])} == {"landed"}
    (manifest,) = (data_dir.landing / "alpha" / "manifest").glob("*.json")
    manifest.write_text('{"source_file": ')  # cut short
    beta = drop(data_dir, "beta", "sessions.csv", HEADER + ROW.replace("S1", "B1"))
    reads = []
    read_once = intake._read_once
    monkeypatch.setattr(intake, "_read_once", lambda p: reads.append(p.relative_to(data_dir.inbox).as_posix())
                        or read_once(p))
    results = dict(ingest_files(data_dir, PARTNERS, [alpha, beta_landed, beta]))
    assert results[beta].status == "landed"
    assert isinstance(results[alpha], ValueError)  # alpha's own file fails on its own entry, reported by the caller
    # beta's manifest still says what it took up: its landed file is a duplicate without being read again
    assert results[beta_landed].status == "duplicate" and "beta/sessions_2026-01.csv" not in reads


def test_a_file_the_intake_may_not_read_is_refused_once_and_lands_when_it_may(data_dir, monkeypatch):
    from joulo_pipelines.lib import intake

    path = drop(data_dir, "alpha", "sessions.csv", HEADER + ROW)
    path.chmod(0)
    # The tests run as root, who may read anything: os.access answers as the intake's own user would.
    monkeypatch.setattr(intake.os, "access", lambda p, mode: os.stat(p).st_mode & 0o444 != 0)
    first, again = (ingest_files(data_dir, PARTNERS, [path])[0][1] for _ in range(2))
    assert first.status == "rejected" and "cannot be read by the intake (permissions)" in first.errors[0].reason
    assert again.status == "duplicate"
    path.chmod(0o644)
    assert ingest_files(data_dir, PARTNERS, [path])[0][1].status == "landed"
