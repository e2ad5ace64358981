"""What counts as MID evidence in a document's text (lib/eligibility/mid_evidence.py), against document
texts kept as fixtures; how a document is kept (lib/evidence_documents.py), read and decided on
(lib/eligibility/unit_evidence.py)."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from joulo_pipelines.lib import evidence_documents
from joulo_pipelines.lib.eligibility import unit_evidence
from joulo_pipelines.lib.eligibility.mid_evidence import find_markings, proposes_evidence
from mid_evidence_documents import fixture_text, pdf_of, photo


def _found(name: str) -> dict[str, list]:
    by_kind: dict[str, list] = {}
    for marking in find_markings(fixture_text(name)):
        by_kind.setdefault(marking.kind, []).append(marking)
    return by_kind


def test_a_declaration_citing_2014_32_eu_with_its_notified_body_counts_on_every_marking():
    found = _found("doc_mid_meter.txt")
    for kind in ("mid_directive", "mi_003", "en_50470_3_class", "metrology_marking"):
        assert [m.counts for m in found[kind]] == [True], kind
    assert "M22 0122" in found["metrology_marking"][0].sentence
    assert "Directive 2014/32/EU" in found["mid_directive"][0].sentence
    assert "class B" in found["en_50470_3_class"][0].sentence
    assert all(not m.counts for m in found["ce_mark"])  # 2014/30/EU (EMC) is cited too: CE, not MID
    assert proposes_evidence(find_markings(fixture_text("doc_mid_meter.txt")))


def test_a_ce_only_declaration_is_recorded_but_proposes_nothing():
    markings = find_markings(fixture_text("doc_ce_only.txt"))
    kinds = {m.kind for m in markings}
    assert kinds == {"ce_mark", "iec_62053"}
    assert not proposes_evidence(markings)
    assert any("2014/35/EU" in m.sentence for m in markings)  # the low voltage directive: safety, not metrology


def test_a_datasheet_saying_without_mid_is_a_negated_claim():
    found = _found("datasheet_without_mid.txt")
    assert any(m.negated for m in found["mid_claim"])
    assert {"ce_mark", "ukca"} <= set(found)
    assert not proposes_evidence(find_markings(fixture_text("datasheet_without_mid.txt")))


def test_negations_and_other_regimes_never_count():
    found = _found("dealer_page_negation.txt")
    assert [(m.negated, m.sentence) for m in found["mid_claim"]] == [
        (True, "The standard HomeCharge 11 has no MID meter."),
        (True, "It is not MID certified, so its readings cannot be used for")]
    assert "eichrechtskonform" in found["eichrecht"][0].sentence and not found["eichrecht"][0].counts
    assert "NTEP" in found["ntep"][0].sentence and not found["ntep"][0].counts
    assert not proposes_evidence(find_markings(fixture_text("dealer_page_negation.txt")))


@pytest.mark.parametrize("text,kind", [
    ("This model has no MID meter (MI-003).", "mi_003"),
    ("Supplied without MID marking M22 0122.", "metrology_marking"),
    ("Not compliant with Directive 2014/32/EU.", "mid_directive"),
    ("Directive 2014/32/EU: no.", "mid_directive"),
])
def test_a_marking_inside_a_negation_does_not_count(text, kind):
    markings = [m for m in find_markings(text) if m.kind == kind]
    assert markings and all(m.negated and not m.counts for m in markings)


def test_a_plates_class_and_standard_on_neighbouring_lines_count_and_no_is_a_number_not_a_negation():
    markings = find_markings(fixture_text("plate_photo_ocr.txt"))
    assert {m.kind for m in markings if m.counts} == {"en_50470_3_class", "metrology_marking"}
    certificate = find_markings("EU-type examination certificate No. T11734 for MI-003.")
    assert [(m.kind, m.counts) for m in certificate] == [("mi_003", True)]


def test_en_50470_3_without_a_class_and_iec_62053_classes_do_not_count():
    assert not proposes_evidence(find_markings("Tested to EN 50470-3.\nIndicative meter."))
    assert not proposes_evidence(find_markings("Accuracy class 1 according to IEC 62053-21."))


def test_a_pdf_is_read_by_its_text_layer_and_a_photo_says_why_it_has_no_text(monkeypatch):
    text, source, note = unit_evidence.extract_text(pdf_of("doc_mid_meter.txt"), ".pdf")
    assert source == "pdf_text" and note == ""
    assert proposes_evidence(find_markings(text)) and "M22 0122" in text
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert unit_evidence.extract_text(photo(), ".jpg") == (
        "", "none", "no OCR: Tesseract is not installed on this machine; a person reads the photo")


def test_a_document_is_kept_by_its_hash_once_read_once_and_a_decision_is_written_once(data_dir):
    from ocpp_clients import land_charge_points

    land_charge_points(data_dir, "alpha", ["CP-1", "CP-2"])
    content = pdf_of("doc_mid_meter.txt")
    sha = hashlib.sha256(content).hexdigest()
    receipt, new = evidence_documents.keep(data_dir, "alpha", "CP-1", "doc.pdf", content, "api")
    assert new and receipt.document_sha256 == sha
    assert (data_dir.raw / f"{sha}.pdf").read_bytes() == content
    again, new = evidence_documents.keep(data_dir, "alpha", "CP-1", "doc.pdf", content, "inbox")
    assert not new and again == receipt
    other, new = evidence_documents.keep(data_dir, "alpha", "CP-2", "doc.pdf", content, "api")
    assert new and other.record_id != receipt.record_id  # one declaration may cover several units
    [(first, reading, decided), _] = unit_evidence.documents(data_dir, "alpha")
    assert first == receipt and reading.proposes_evidence and decided is None
    assert reading.text_source == "pdf_text"
    unit_evidence.review(data_dir, receipt.record_id, "accepted", "Ria Reviewer")
    with pytest.raises(ValueError, match="already accepted by Ria Reviewer"):
        unit_evidence.review(data_dir, receipt.record_id, "rejected", "Someone Else")
    review = json.loads((data_dir.landing / "alpha" / "mid_evidence_reviews" / f"{receipt.record_id}.json").read_text())
    assert review["decision"] == "accepted" and review["document_sha256"] == sha
    assert "metrology_marking" in review["markings_counted"]


@pytest.mark.parametrize("name,content,message", [
    ("doc.docx", b"PK\x03\x04", "a .docx is not accepted"),
    ("doc.pdf", b"", "is empty"),
    ("plate.jpg", b"%PDF-1.7 renamed", "is not a image/jpeg file"),
])
def test_a_file_that_is_not_a_pdf_or_photo_is_refused_with_what_is_accepted(data_dir, name, content, message):
    from ocpp_clients import land_charge_points

    land_charge_points(data_dir, "alpha", ["CP-1"])
    with pytest.raises(evidence_documents.DocumentRejected, match=message):
        evidence_documents.keep(data_dir, "alpha", "CP-1", name, content, "api")
    assert not list(data_dir.landing.glob("alpha/mid_evidence/*.json"))


def test_evidence_for_a_charge_point_never_delivered_is_refused(data_dir):
    with pytest.raises(evidence_documents.DocumentRejected, match="'CP-9' is not among partner alpha's"):
        evidence_documents.keep(data_dir, "alpha", "CP-9", "doc.pdf", pdf_of("doc_mid_meter.txt"), "api")
