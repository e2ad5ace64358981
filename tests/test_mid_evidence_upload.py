"""MID evidence per charge point as partners send it: over real HTTP to the partner API on loopback
(multipart), and as files in inbox/<partner>/evidence/; then `joulo mid review` lists what was found and
records a person's decision."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from cli_tables import table
from conftest import drop
from joulo_pipelines import cli
from joulo_pipelines.lib.api.app import ApiSettings
from joulo_pipelines.lib.intake import inbox_files, inbox_not_read, ingest_files
from mid_evidence_documents import pdf_of, photo
from ocpp_clients import land_charge_points
from test_api_servers import ApiServer

SETTINGS = ApiSettings(rate_limit="100000/minute", deliver_webhooks=False)
URL = "/v1/customers/C-CP-1/charge-points/CP-1/evidence"


@pytest.fixture(scope="module")
def api(module_data_dir):
    land_charge_points(module_data_dir, "alpha", ["CP-1", "CP-2"])  # customers C-CP-1 and C-CP-2
    land_charge_points(module_data_dir, "beta", ["CP-B"])
    with ApiServer(module_data_dir, SETTINGS) as server:
        yield server


def _upload(api, partner: str, url: str, name: str, content: bytes, media_type: str) -> httpx.Response:
    with httpx.Client(base_url=api.url, headers=api.key(partner), timeout=120) as client:
        return client.post(url, files={"file": (name, content, media_type)})


def test_a_declaration_uploaded_over_http_is_kept_by_its_hash_once(api):
    content = pdf_of("doc_mid_meter.txt")
    created = _upload(api, "alpha", URL, "declaration.pdf", content, "application/pdf")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["document_sha256"] == hashlib.sha256(content).hexdigest() and body["review"] == "pending"
    assert (api.data_dir.raw / f"{body['document_sha256']}.pdf").read_bytes() == content
    again = _upload(api, "alpha", URL, "declaration.pdf", content, "application/pdf")
    assert again.status_code == 200 and again.json()["record_id"] == body["record_id"]


def test_a_document_larger_than_a_json_body_is_taken_but_not_beyond_the_upload_limit(api):
    large = pdf_of("doc_mid_meter.txt") + b"\n%" + b"x" * (300 * 1024)  # over the 256 KiB of a JSON request
    assert _upload(api, "alpha", URL, "scan.pdf", large, "application/pdf").status_code == 201
    huge = b"%PDF-" + b"x" * (12 * 1024 * 1024)
    assert _upload(api, "alpha", URL, "huge.pdf", huge, "application/pdf").status_code == 413


def test_another_partners_customer_or_a_charge_point_of_another_customer_is_not_found(api):
    content = photo("PNG")
    assert _upload(api, "beta", URL, "plate.png", content, "image/png").status_code == 404
    wrong_customer = "/v1/customers/C-CP-2/charge-points/CP-1/evidence"
    assert _upload(api, "alpha", wrong_customer, "plate.png", content, "image/png").status_code == 404
    assert not list(api.data_dir.landing.glob("beta/mid_evidence/*.json"))


def test_a_file_that_is_not_what_its_name_says_is_refused_with_what_is_accepted(api):
    refused = _upload(api, "alpha", URL, "plate.jpg", b"GIF89a not a jpeg", "image/jpeg")
    assert refused.status_code == 422
    assert "is not a image/jpeg file" in refused.json()["detail"][0]["msg"]


def test_files_in_the_evidence_folder_land_and_a_bad_one_is_quarantined_while_the_others_carry_on(data_dir):
    land_charge_points(data_dir, "alpha", ["CP-1"])
    good = drop(data_dir, "alpha", "evidence/CP-1__declaration.pdf", pdf_of("doc_mid_meter.txt"))
    photo_file = drop(data_dir, "alpha", "evidence/CP-1__plate.jpg", photo())
    renamed = drop(data_dir, "alpha", "evidence/CP-1__plate.png", b"%PDF-1.7 not a png")
    unknown = drop(data_dir, "alpha", "evidence/CP-404__declaration.pdf", pdf_of("doc_mid_meter.txt"))
    unnamed = drop(data_dir, "alpha", "evidence/declaration.pdf", pdf_of("doc_mid_meter.txt"))
    listed = inbox_files(data_dir)
    assert {good, photo_file, renamed, unknown, unnamed} <= set(listed)  # the sensor sees them
    assert not [entry for entry, _ in inbox_not_read(data_dir) if "evidence" in entry]
    results = dict(ingest_files(data_dir, ["alpha", "beta"], [good, photo_file, renamed, unknown, unnamed]))
    assert [results[p].status for p in (good, photo_file, renamed, unknown, unnamed)] == [
        "landed", "landed", "rejected", "rejected", "rejected"]
    reasons = {path.name: results[path].errors[0].reason for path in (renamed, unknown, unnamed)}
    assert "is not a image/png file" in reasons["CP-1__plate.png"]
    assert "'CP-404' is not among partner alpha's delivered charge points" in reasons["CP-404__declaration.pdf"]
    assert "expected <charge_point_ref>__<name>.pdf|jpg|png" in reasons["declaration.pdf"]
    report = json.loads((data_dir.quarantine / "alpha" / f"{results[renamed].file_sha256}.report.json").read_text())
    assert report["file"] == "alpha/evidence/CP-1__plate.png"
    assert (data_dir.quarantine / "alpha" / f"{results[renamed].file_sha256}__CP-1__plate.png").exists()
    again = dict(ingest_files(data_dir, ["alpha", "beta"], [good]))
    assert again[good].status == "duplicate"


def test_joulo_mid_review_lists_the_markings_found_and_records_the_decision_once(data_dir, capsys, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)  # as on a server without Tesseract
    land_charge_points(data_dir, "alpha", ["CP-1", "CP-2"])
    documents = [drop(data_dir, "alpha", "evidence/CP-1__declaration.pdf", pdf_of("doc_mid_meter.txt")),
                 drop(data_dir, "alpha", "evidence/CP-2__ce.pdf", pdf_of("doc_ce_only.txt")),
                 drop(data_dir, "alpha", "evidence/CP-2__plate.jpg", photo())]
    ingest_files(data_dir, ["alpha", "beta"], documents)
    assert cli.main(["mid", "review"]) == 0
    listed = capsys.readouterr().out
    pending = {row["file"]: row for row in table(listed, "document", "charge point", "file", "proposed", "state")}
    assert {file: (row["charge point"], row["proposed"], row["state"]) for file, row in pending.items()} == {
        "CP-1__declaration.pdf": ("alpha/CP-1", "counts", "pending"),
        "CP-2__ce.pdf": ("alpha/CP-2", "nothing counts", "pending"),
        "CP-2__plate.jpg": ("alpha/CP-2", "nothing counts", "pending")}
    record = pending["CP-1__declaration.pdf"]["document"]
    says = listed.split(f"\n{record} (")[1].split("\n\n")[0]  # the document's own section, below the table
    assert "metrology_marking (counts): Supplementary metrology marking on the rating plate: CE M22 0122" in says
    photo_says = listed.split(f"\n{pending['CP-2__plate.jpg']['document']} (")[1].split("\n\n")[0]
    assert "no OCR: Tesseract is not installed on this machine; a person reads the photo" in photo_says
    assert cli.main(["mid", "review", "accept", record]) == 2  # --by is required
    assert cli.main(["mid", "review", "accept", record, "--by", "Ria Reviewer"]) == 0
    assert cli.main(["mid", "review", "reject", record, "--by", "Bo"]) == 2
    assert "already accepted by Ria Reviewer" in capsys.readouterr().err
    assert cli.main(["mid", "review"]) == 0
    assert "declaration.pdf" not in capsys.readouterr().out  # no longer pending


def test_evidence_dropped_with_its_charge_points_lands_after_them(data_dir):
    charge_points = drop(data_dir, "alpha", "charge_points.csv",
                         "charge_point_ref,customer_ref,brand,model,serial_number\nCP-NEW,C-NEW,Zaptec,Go,S1\n")
    evidence = drop(data_dir, "alpha", "evidence/CP-NEW__declaration.pdf", pdf_of("doc_mid_meter.txt"))
    results = dict(ingest_files(data_dir, ["alpha", "beta"], [evidence, charge_points]))
    assert (results[charge_points].status, results[evidence].status) == ("landed", "landed")
