"""/v1/customers/{ref}/charge-points/{cp}/evidence: a declaration of conformity or a photo of the meter's
plate for one charge point (multipart, field `file`). Kept by lib/evidence_documents.py, the same way as a
file in inbox/<partner>/evidence/; a person reads it and decides (`joulo mid review`)."""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, File, HTTPException, Response, UploadFile

from joulo_pipelines.lib import evidence_documents
from joulo_pipelines.lib.api.dependencies import Authenticated, CustomerRef, Folder, not_found
from joulo_pipelines.lib.api.models import EvidenceDocument, Problem

router = APIRouter(tags=["evidence"])


@router.post("/customers/{customer_ref}/charge-points/{charge_point_ref}/evidence", status_code=201,
             response_model=EvidenceDocument,
             responses={200: {"model": EvidenceDocument, "description": "This document was already received for "
                                                                        "this charge point: unchanged."},
                        404: {"model": Problem},
                        422: {"description": "Not a PDF, JPEG or PNG (by its content), empty or too large."}})
def upload_evidence(customer_ref: CustomerRef, charge_point_ref: CustomerRef, who: Authenticated, data_dir: Folder,
                    file: Annotated[UploadFile, File(description="The declaration of conformity (.pdf) or a photo "
                                                                 "of the meter's plate (.jpg, .png).")],
                    response: Response) -> dict:
    """MID evidence for one charge point of the customer. It counts once a person has read and accepted it;
    the same document again changes nothing (200)."""
    if evidence_documents.landed_customer_of(data_dir, who.partner_id, charge_point_ref) != customer_ref:
        raise not_found("charge point", f"{customer_ref}/{charge_point_ref}")
    content = file.file.read(evidence_documents.MAX_BYTES + 1)
    try:
        receipt, new = evidence_documents.keep(data_dir, who.partner_id, charge_point_ref, file.filename or "",
                                               content, "api")
    except evidence_documents.DocumentRejected as rejected:
        raise HTTPException(422, [{"loc": ["body", "file"], "type": "value_error", "msg": str(rejected)}]) from None
    response.status_code = 201 if new else 200
    decided = evidence_documents.review_of(data_dir, receipt)
    return {**asdict(receipt), "review": decided["decision"] if decided else "pending"}
