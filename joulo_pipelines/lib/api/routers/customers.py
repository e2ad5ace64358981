"""/v1/customers: enrol a customer with the mandate they signed, follow their status, revoke the mandate.

Requests are accepted into the API's store (idempotent by key and by content) and land as partner files on
the pipeline's one path; the status is the pipeline's snapshot, or what the API accepted since."""

import hashlib
import json
import re
import sqlite3
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Response

from joulo_pipelines.lib import clock, consent_texts
from joulo_pipelines.lib.api import landing, store
from joulo_pipelines.lib.api.dependencies import Authenticated, Caller, CustomerRef, Folder, not_found
from joulo_pipelines.lib.api.models import CustomerStatus, Enrolment, Problem
from joulo_pipelines.lib.partners import load_registry
from joulo_pipelines.lib.quarters import Quarter

_API_FILE_SEQ = re.compile(r"customers_api_(\d+)\.csv$")

router = APIRouter(tags=["customers"])


@router.post("/customers", status_code=201, response_model=CustomerStatus,
             responses={200: {"model": CustomerStatus, "description": "Already enrolled: updated or unchanged."},
                        422: {"description": "Invalid field (a consent text version we do not publish, or "
                                             "a hash that is not its text's, among them), or the "
                                             "Idempotency-Key was used for another request."}})
def enrol_customer(enrolment: Enrolment, response: Response, who: Authenticated, data_dir: Folder,
                   idempotency_key: Annotated[str, Header(min_length=1, max_length=255,
                                                          pattern=r"^[\x21-\x7e]+$")]) -> dict:
    """Enrol a customer (or change their enrolment) with the mandate they signed by ticking the box.

    Idempotent: the same `Idempotency-Key` replays the first answer; the same content again under a new
    key changes nothing (200). Lands as partner files on the pipeline's one path."""
    partner = load_registry(data_dir.partners_file).get(who.partner_id)
    problems = []
    # A customer enrolled now is paid by the contract in force and by any later one.
    paid_directly = any(c.payout_model == "direct" for c in partner.contracts_from(Quarter.containing(clock.today())))
    if paid_directly and enrolment.iban is None:
        problems.append({"loc": ["body", "iban"], "type": "missing",
                         "msg": "required: this partner pays its customers directly to their IBAN"})
    if enrolment.mandate.signed_at > clock.now():
        problems.append({"loc": ["body", "mandate", "signed_at"], "type": "value_error",
                         "msg": "is in the future"})
    consent = consent_texts.problem(consent_texts.consent_texts(data_dir), enrolment.mandate.consent_text_version,
                                    enrolment.mandate.consent_text_sha256)
    if consent is not None:
        field, message = consent
        problems.append({"loc": ["body", "mandate", field], "type": "value_error", "msg": message})
    if problems:
        raise HTTPException(422, problems)
    content = json.dumps(enrolment.model_dump(mode="json"), sort_keys=True)
    request_hash = hashlib.sha256(f"POST /v1/customers\n{content}".encode()).hexdigest()
    with store.connect(data_dir) as con, store.transaction(con):
        replay = _replay(con, who, idempotency_key, request_hash, response)
        if replay is not None:
            return replay
        content_hash = hashlib.sha256(content.encode()).hexdigest()
        latest = _latest_accepted(con, who.partner_id, enrolment.customer_ref)
        known = latest is not None or _snapshot(con, who.partner_id, enrolment.customer_ref) is not None
        if latest is None or latest["kind"] != "enrolment" or latest["content_sha256"] != content_hash:
            valid_from, valid_until = landing.mandate_period(enrolment)
            summary = {"mandate": {"signed_at": enrolment.mandate.signed_at.isoformat(),
                                   "valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat(),
                                   "revoked_at": _standing_revocation(con, who.partner_id, enrolment)},
                       "charge_point_refs": [c.charge_point_ref for c in enrolment.charge_points]}
            seq = _accept(con, who.partner_id, enrolment.customer_ref, "enrolment", content_hash, summary)
            files = landing.land_enrolment(data_dir, load_registry(data_dir.partners_file).ids,
                                           who.partner_id, enrolment, seq)
            con.execute("update accepted_requests set files = ? where seq = ?", [json.dumps(files), seq])
        status_code = 200 if known else 201
        document = _customer_status(con, who.partner_id, enrolment.customer_ref)
        _remember(con, who, idempotency_key, request_hash, status_code, document)
    response.status_code = status_code
    return document


@router.get("/customers/{customer_ref}", response_model=CustomerStatus, responses={404: {"model": Problem}})
def get_customer(customer_ref: CustomerRef, who: Authenticated, data_dir: Folder) -> dict:
    """The customer's status: eligible or not and why, kWh and ERE this year, the next payout."""
    with store.connect(data_dir) as con:
        document = _customer_status(con, who.partner_id, customer_ref)
    if document is None:
        raise not_found("customer", customer_ref)
    return document


@router.delete("/customers/{customer_ref}/mandate", response_model=CustomerStatus,
               responses={404: {"model": Problem}})
def revoke_mandate(customer_ref: CustomerRef, who: Authenticated, data_dir: Folder) -> dict:
    """Revoke the customer's mandate now: no kWh after this moment are booked. Revoking twice is a no-op."""
    with store.connect(data_dir) as con, store.transaction(con):
        document = _customer_status(con, who.partner_id, customer_ref)
        current = landing.latest_landed_customer(data_dir, who.partner_id, customer_ref)
        if document is None or current is None:
            raise not_found("customer", customer_ref)
        if current["revoked_at"] is None:
            revoked_at = clock.now()
            summary = {"mandate": {**document["mandate"], "revoked_at": revoked_at.isoformat()},
                       "charge_point_refs": document["charge_point_refs"]}
            seq = _accept(con, who.partner_id, customer_ref, "revocation",
                          hashlib.sha256(revoked_at.isoformat().encode()).hexdigest(), summary)
            files = landing.land_revocation(data_dir, load_registry(data_dir.partners_file).ids,
                                            who.partner_id, current, seq, revoked_at)
            con.execute("update accepted_requests set files = ? where seq = ?", [json.dumps(files), seq])
            document = _customer_status(con, who.partner_id, customer_ref)
    return document


def _standing_revocation(con: sqlite3.Connection, partner_id: str, enrolment: Enrolment) -> str | None:
    """What the warehouse will make of a revoked customer sent again (int_customers_latest): the revocation
    stands unless the enrolment is a new signing after it. Said now, so that the answer before the next run
    does not show the mandate active again."""
    current = _customer_status(con, partner_id, enrolment.customer_ref)
    revoked_at = (current or {}).get("mandate", {}).get("revoked_at")
    if revoked_at is None or enrolment.mandate.signed_at > datetime.fromisoformat(revoked_at):
        return None
    return revoked_at


def _replay(con: sqlite3.Connection, who: Caller, key: str, request_hash: str, response: Response) -> dict | None:
    row = con.execute("select request_sha256, status_code, response_body from idempotency "
                      "where partner_id = ? and idempotency_key = ?", [who.partner_id, key]).fetchone()
    if row is None:
        return None
    if row["request_sha256"] != request_hash:
        raise HTTPException(422, [{"loc": ["header", "idempotency-key"], "type": "value_error",
                                   "msg": "this Idempotency-Key was used for a different request; use a new key"}])
    response.status_code = row["status_code"]
    response.headers["Idempotent-Replayed"] = "true"
    return json.loads(row["response_body"])


def _remember(con: sqlite3.Connection, who: Caller, key: str, request_hash: str, status_code: int,
              document: dict) -> None:
    con.execute("insert into idempotency (partner_id, idempotency_key, request_sha256, status_code, response_body, "
                "created_at) values (?, ?, ?, ?, ?, ?)",
                [who.partner_id, key, request_hash, status_code, json.dumps(document, default=str),
                 clock.now().isoformat()])


def _accept(con: sqlite3.Connection, partner_id: str, ref: str, kind: str, content_hash: str, summary: dict) -> int:
    cursor = con.execute("insert into accepted_requests (partner_id, customer_ref, kind, content_sha256, "
                         "accepted_at, files, summary) values (?, ?, ?, ?, ?, '[]', ?)",
                         [partner_id, ref, kind, content_hash, clock.now().isoformat(), json.dumps(summary)])
    return cursor.lastrowid


def _latest_accepted(con: sqlite3.Connection, partner_id: str, ref: str) -> sqlite3.Row | None:
    return con.execute("select * from accepted_requests where partner_id = ? and customer_ref = ? "
                       "order by seq desc limit 1", [partner_id, ref]).fetchone()


def _snapshot(con: sqlite3.Connection, partner_id: str, ref: str) -> sqlite3.Row | None:
    return con.execute("select s.source_file, s.document, snapshots.built_at from customer_status s "
                       "join snapshots using (partner_id) where s.partner_id = ? and s.customer_ref = ?",
                       [partner_id, ref]).fetchone()


def _customer_status(con: sqlite3.Connection, partner_id: str, ref: str) -> dict | None:
    """The pipeline's status of the customer, or what the API accepted since (state `received`)."""
    snapshot, accepted = _snapshot(con, partner_id, ref), _latest_accepted(con, partner_id, ref)
    if snapshot is None and accepted is None:
        return None
    document = json.loads(snapshot["document"]) if snapshot else {"customer_ref": ref}
    document["state"] = "processed"
    if snapshot:  # the stored document holds no time, so that an unchanged one is not written again
        document["as_of"] = snapshot["built_at"]
    if accepted is not None and not _snapshot_has_seen(snapshot, accepted):
        summary = json.loads(accepted["summary"])
        document.update(state="received", received_at=accepted["accepted_at"],
                        mandate=summary["mandate"], charge_point_refs=summary["charge_point_refs"])
    return document


def _snapshot_has_seen(snapshot: sqlite3.Row | None, accepted: sqlite3.Row) -> bool:
    """Whether the pipeline's status already reflects the latest request the API accepted: the warehouse's
    row for the customer came from that request's file or a later one, or the snapshot is younger."""
    if snapshot is None:
        return False
    match = _API_FILE_SEQ.search(snapshot["source_file"] or "")
    if match and int(match.group(1)) >= accepted["seq"]:
        return True
    return datetime.fromisoformat(snapshot["built_at"]) > datetime.fromisoformat(accepted["accepted_at"])

