"""MID evidence documents as delivered: a partner's declaration of conformity or photo of the meter's plate
for one charge point, by the API (`POST /v1/customers/{ref}/charge-points/{cp}/evidence`) or as a file
(`inbox/<partner>/evidence/<charge_point_ref>__<name>.pdf|jpg|png`).

Kept like every delivered file, content-addressed under landing/raw/<sha256>.<ext> and never overwritten,
with a receipt per partner, charge point and document: landing/<partner>/mid_evidence/<record_id>.json.
Nothing here reads the document: lib/eligibility/unit_evidence.py does (its text, the markings found) and
records a person's decision under landing/<partner>/mid_evidence_reviews/, which dbt reads."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.paths import DataDir, write_atomically

EVIDENCE_FOLDER = "evidence"  # inbox/<partner>/evidence/
RECEIPTS, REVIEWS = "mid_evidence", "mid_evidence_reviews"
MAX_BYTES = 10 * 1024 * 1024
# What each accepted kind of file starts with: the name's suffix alone proves nothing.
MEDIA = {".pdf": ("application/pdf", b"%PDF-"), ".jpg": ("image/jpeg", b"\xff\xd8\xff"),
         ".jpeg": ("image/jpeg", b"\xff\xd8\xff"), ".png": ("image/png", b"\x89PNG\r\n\x1a\n")}


class DocumentRejected(ValueError):
    """A document that cannot be taken: the message says what is wrong and what is accepted."""


@dataclass(frozen=True)
class Receipt:
    record_id: str  # names the document for this charge point (`joulo mid review`)
    partner_id: str
    charge_point_ref: str
    document_sha256: str
    document_path: str  # below the data dir: landing/raw/<sha256>.<ext>
    file_name: str
    media_type: str
    size_bytes: int
    received_via: str  # api | inbox
    received_at: str


def record_id(partner_id: str, charge_point_ref: str, document_sha256: str) -> str:
    return hashlib.sha256(f"{partner_id}\n{charge_point_ref}\n{document_sha256}".encode()).hexdigest()[:16]


def split_file_name(name: str) -> tuple[str, str]:
    """`CP-0042__declaration.pdf` -> (`CP-0042`, `declaration.pdf`)."""
    charge_point_ref, separator, rest = name.partition("__")
    if not separator or not charge_point_ref or not rest:
        raise DocumentRejected(f"file name {name!r}: expected <charge_point_ref>__<name>.pdf|jpg|png, e.g. "
                               "CP-0042__declaration.pdf")
    return charge_point_ref, rest


def landed_customer_of(data_dir: DataDir, partner_id: str, charge_point_ref: str) -> str | None:
    """The customer of the partner's latest landed row for the charge point; None if it has none."""
    folder = data_dir.landing / partner_id / "charge_points"
    if not any(folder.glob("*.parquet")):
        return None
    with duckdb.connect() as con:
        found = con.execute("select customer_ref from read_parquet(?) where charge_point_ref = ? "
                            "order by received_at desc, source_file desc, line_number desc limit 1",
                            [str(folder / "*.parquet"), charge_point_ref]).fetchone()
    return None if found is None else found[0]


def keep(data_dir: DataDir, partner_id: str, charge_point_ref: str, file_name: str, content: bytes,
         received_via: str, received_at: datetime | None = None) -> tuple[Receipt, bool]:
    """Keep the document for the charge point: (its receipt, whether it is new). The same document for the
    same charge point again changes nothing; one declaration may cover several charge points."""
    media_type = _media_type(file_name, content)
    if landed_customer_of(data_dir, partner_id, charge_point_ref) is None:
        raise DocumentRejected(f"charge point {charge_point_ref!r} is not among partner {partner_id}'s delivered "
                               "charge points; deliver it (charge_points.csv or the API) before its evidence")
    sha = hashlib.sha256(content).hexdigest()
    identity = record_id(partner_id, charge_point_ref, sha)
    target = data_dir.landing / partner_id / RECEIPTS / f"{identity}.json"
    if target.exists():
        return Receipt(**json.loads(target.read_text())), False
    document = data_dir.raw / f"{sha}{Path(file_name).suffix.lower()}"
    if not document.exists():
        write_atomically(document, content)
    receipt = Receipt(identity, partner_id, charge_point_ref, sha, document.relative_to(data_dir.root).as_posix(),
                      file_name, media_type, len(content), received_via, (received_at or clock.now()).isoformat())
    write_atomically(target, json.dumps(asdict(receipt), indent=2).encode())
    return receipt, True


def receipts(data_dir: DataDir, partner_id: str | None = None) -> list[Receipt]:
    """Every document kept, oldest first."""
    found = [Receipt(**json.loads(path.read_text()))
             for path in data_dir.landing.glob(f"{partner_id or '*'}/{RECEIPTS}/*.json")]
    return sorted(found, key=lambda receipt: (receipt.received_at, receipt.record_id))


def review_of(data_dir: DataDir, receipt: Receipt) -> dict | None:
    """A person's decision on the document (lib/eligibility/unit_evidence.py writes it), None while pending."""
    decided = data_dir.landing / receipt.partner_id / REVIEWS / f"{receipt.record_id}.json"
    return json.loads(decided.read_text()) if decided.exists() else None


def ensure_review_schema(data_dir: DataDir) -> None:
    """An empty file under landing/_schema/ so dbt's glob over the reviews matches before the first one."""
    target = data_dir.landing / "_schema" / REVIEWS / "empty.json"
    if not target.exists():
        write_atomically(target, b"[]")


def _media_type(file_name: str, content: bytes) -> str:
    suffix = Path(file_name).suffix.lower()
    if suffix not in MEDIA:
        raise DocumentRejected(f"file {file_name!r}: a {suffix or 'name without suffix'} is not accepted; send a "
                               "declaration of conformity as .pdf or a photo of the meter's plate as .jpg or .png")
    if not content:
        raise DocumentRejected(f"file {file_name!r} is empty")
    if len(content) > MAX_BYTES:
        raise DocumentRejected(f"file {file_name!r} has {len(content)} bytes; at most {MAX_BYTES} are accepted")
    media_type, start = MEDIA[suffix]
    if not content.startswith(start):
        raise DocumentRejected(f"file {file_name!r} is not a {media_type} file (by its first bytes); send the "
                               "document itself, not a renamed file")
    return media_type
