"""MID evidence per unit: the documents partners sent per charge point (lib/evidence_documents.py) read
(their text, the markings found by lib/eligibility/mid_evidence.py, proposed) and a person's decision on
each (`joulo mid review`). The decision is written once, under
landing/<partner>/mid_evidence_reviews/<record_id>.json (dbt's source landing.mid_evidence_reviews); an
accepted document makes the unit `evidenced` with the document's hash (int_charge_point_mid_documents),
whatever the register says of its model.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from dataclasses import dataclass

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.eligibility.mid_evidence import Marking, find_markings, proposes_evidence
from joulo_pipelines.lib.evidence_documents import REVIEWS, Receipt, receipts, review_of
from joulo_pipelines.lib.paths import DataDir, write_atomically

READINGS = "mid_evidence_readings"  # landing/<partner>/mid_evidence_readings/<sha256>.json: text and markings
DECISIONS = ("accepted", "rejected")


@dataclass(frozen=True)
class Reading:
    text_source: str  # pdf_text | ocr | none
    text_note: str  # why there is no text, where there is none
    markings: list[Marking]

    @property
    def proposes_evidence(self) -> bool:
        return proposes_evidence(self.markings)


def extract_text(content: bytes, suffix: str) -> tuple[str, str, str]:
    """(text, where it came from, why there is none): a PDF's own text (pypdf); a photo's by OCR only where
    Tesseract is installed. A scanned PDF without a text layer gets no OCR here: a person reads it."""
    if suffix == ".pdf":
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)
        except (PdfReadError, ValueError, KeyError) as exc:
            return "", "none", f"the PDF cannot be read ({type(exc).__name__}); a person opens it"
        if text.strip():
            return text, "pdf_text", ""
        return "", "none", "the PDF has no text layer (a scan); a person reads it"
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        return "", "none", "no OCR: Tesseract is not installed on this machine; a person reads the photo"
    done = subprocess.run([tesseract, "stdin", "stdout"], input=content, capture_output=True, timeout=120)
    if done.returncode != 0:
        return "", "none", "Tesseract could not read the photo; a person reads it"
    return done.stdout.decode("utf-8", "replace"), "ocr", ""


def read(data_dir: DataDir, receipt: Receipt) -> Reading:
    """The document's text and markings, read once per document and kept beside it."""
    cached = data_dir.landing / receipt.partner_id / READINGS / f"{receipt.document_sha256}.json"
    if not cached.exists():
        document = data_dir.root / receipt.document_path
        text, source, note = extract_text(document.read_bytes(), document.suffix)
        write_atomically(cached, json.dumps({"text_source": source, "text_note": note, "text": text,
                                            "markings": [m.as_dict() for m in find_markings(text)]},
                                           indent=2).encode())
    found = json.loads(cached.read_text())
    return Reading(found["text_source"], found["text_note"], [Marking(**m) for m in found["markings"]])


def documents(data_dir: DataDir, partner_id: str | None = None) -> list[tuple[Receipt, Reading, dict | None]]:
    """Every document with its reading and its decision (None while pending), oldest first."""
    return [(receipt, read(data_dir, receipt), review_of(data_dir, receipt))
            for receipt in receipts(data_dir, partner_id)]


def review(data_dir: DataDir, record_id: str, decision: str, reviewed_by: str) -> dict:
    """Record a person's decision on a document; written once: a decision is not changed afterwards."""
    if decision not in DECISIONS:
        raise ValueError(f"decision {decision!r}; accepted: {', '.join(DECISIONS)}")
    if not (reviewed_by or "").strip():
        raise ValueError("--by NAME: who decides is recorded")
    matches = [receipt for receipt in receipts(data_dir) if receipt.record_id == record_id]
    if not matches:
        raise ValueError(f"no evidence document {record_id!r}; `joulo mid review` lists the pending ones")
    receipt = matches[0]
    reading = read(data_dir, receipt)
    decided = {"record_id": receipt.record_id, "partner_id": receipt.partner_id,
               "charge_point_ref": receipt.charge_point_ref, "document_sha256": receipt.document_sha256,
               "decision": decision, "reviewed_by": reviewed_by.strip(), "reviewed_at": clock.now().isoformat(),
               "markings_counted": ", ".join(sorted({m.kind for m in reading.markings if m.counts}))}
    target = data_dir.landing / receipt.partner_id / REVIEWS / f"{receipt.record_id}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(target, "x", encoding="utf-8") as handle:
            handle.write(json.dumps(decided, indent=2))
    except FileExistsError:
        earlier = json.loads(target.read_text())
        raise ValueError(f"document {record_id} was already {earlier['decision']} by {earlier['reviewed_by']} at "
                         f"{earlier['reviewed_at']}; a decision is not changed (send a new document)") from None
    return decided
