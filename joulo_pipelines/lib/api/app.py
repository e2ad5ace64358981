"""The partner API (FastAPI): enrol, revoke and follow customers, quarter summaries, webhooks.

A key belongs to one partner and every query is scoped to that partner: another partner's customer or
webhook is answered exactly like one that does not exist (404), so not even existence leaks."""

import hashlib
import json
import re
import sqlite3
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.api import keys, landing, store, webhook_targets, webhooks
from joulo_pipelines.lib.api.delivery import DeliveryWorker, RetryPolicy
from joulo_pipelines.lib.api.guards import AccessLog, BodySizeLimit, RateLimiter
from joulo_pipelines.lib.api.models import (CustomerStatus, DeliveryLog, Enrolment, EventPage, Problem,
                                            QuarterSummary, Webhook, WebhookCreated, WebhookIn)
from joulo_pipelines.lib.partners import load_registry
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter

CustomerRef = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
_API_FILE_SEQ = re.compile(r"customers_api_(\d+)\.csv$")


@dataclass(frozen=True)
class ApiSettings:
    rate_limit: str = "120/minute"
    max_body_bytes: int = 256 * 1024
    # Development and tests: webhooks may be http and go to loopback (never to other private networks).
    # Otherwise https to public addresses only: the API would else POST into our network on a partner's say-so.
    allow_http_webhooks: bool = False
    deliver_webhooks: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll_seconds: float = 1.0


@dataclass(frozen=True)
class Caller:
    partner_id: str
    key_id: str


_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer jk_...`: the partner's API key.")
_ERRORS = {401: {"model": Problem, "description": "No valid API key."},
           413: {"model": Problem, "description": "Request body too large."},
           429: {"model": Problem, "description": "Rate limit; see Retry-After."}}


def create_app(data_dir: DataDir, settings: ApiSettings = ApiSettings()) -> FastAPI:
    limiter = RateLimiter(settings.rate_limit)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        with store.connect(data_dir):
            pass  # the schema exists before the first request or delivery pass
        worker = DeliveryWorker(data_dir, settings.retry, settings.poll_seconds,
                                settings.allow_http_webhooks) if settings.deliver_webhooks else None
        if worker:
            worker.start()
        try:
            yield
        finally:
            if worker:
                worker.stop()

    # operationId = the function's name (enrol_customer, get_customer, ...): what generated clients call.
    app = FastAPI(title="Joulo partner API", version="1.0.0", lifespan=lifespan,
                  generate_unique_id_function=lambda route: route.name,
                  description="Enrol customers with their ERE mandate, follow their status, receive signed "
                              "webhooks (Standard Webhooks). Amounts in integer cents; kWh and ERE as decimal "
                              "strings.")

    def caller(request: Request,
               credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
        unauthorised = HTTPException(401, "a valid API key is required: Authorization: Bearer <key>",
                                     headers={"WWW-Authenticate": "Bearer"})
        if credentials is None:
            raise unauthorised
        with store.connect(data_dir) as con:
            key = keys.authenticate(con, credentials.credentials)
        if key is None or key.partner_id not in load_registry(data_dir.partners_file).ids:
            raise unauthorised
        request.state.key_id = key.key_id
        wait = limiter.retry_after(key.key_id)
        if wait is not None:
            raise HTTPException(429, f"rate limit {settings.rate_limit} per key exceeded",
                                headers={"Retry-After": str(wait)})
        return Caller(key.partner_id, key.key_id)

    Authenticated = Annotated[Caller, Depends(caller)]
    v1 = APIRouter(prefix="/v1", responses=_ERRORS)

    @v1.post("/customers", status_code=201, response_model=CustomerStatus, tags=["customers"],
             responses={200: {"model": CustomerStatus, "description": "Already enrolled: updated or unchanged."},
                        422: {"description": "Invalid field, or the Idempotency-Key was used for another "
                                             "request."}})
    def enrol_customer(enrolment: Enrolment, response: Response, who: Authenticated,
                       idempotency_key: Annotated[str, Header(min_length=1, max_length=255,
                                                              pattern=r"^[\x21-\x7e]+$")]) -> dict:
        """Enrol a customer (or change their enrolment) with the mandate they signed by ticking the box.

        Idempotent: the same `Idempotency-Key` replays the first answer; the same content again under a new
        key changes nothing (200). Lands as partner files on the pipeline's one path."""
        partner = load_registry(data_dir.partners_file).get(who.partner_id)
        problems = []
        if partner.payout_model == "direct" and enrolment.iban is None:
            problems.append({"loc": ["body", "iban"], "type": "missing",
                             "msg": "required: this partner pays its customers directly to their IBAN"})
        if enrolment.mandate.signed_at > clock.now():
            problems.append({"loc": ["body", "mandate", "signed_at"], "type": "value_error",
                             "msg": "is in the future"})
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
                                       "revoked_at": None},
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

    @v1.get("/customers/{customer_ref}", response_model=CustomerStatus, tags=["customers"],
            responses={404: {"model": Problem}})
    def get_customer(customer_ref: CustomerRef, who: Authenticated) -> dict:
        """The customer's status: eligible or not and why, kWh and ERE this year, the next payout."""
        with store.connect(data_dir) as con:
            document = _customer_status(con, who.partner_id, customer_ref)
        if document is None:
            raise _not_found("customer", customer_ref)
        return document

    @v1.delete("/customers/{customer_ref}/mandate", response_model=CustomerStatus, tags=["customers"],
               responses={404: {"model": Problem}})
    def revoke_mandate(customer_ref: CustomerRef, who: Authenticated) -> dict:
        """Revoke the customer's mandate now: no kWh after this moment are booked. Revoking twice is a no-op."""
        with store.connect(data_dir) as con, store.transaction(con):
            document = _customer_status(con, who.partner_id, customer_ref)
            current = landing.latest_landed_customer(data_dir, who.partner_id, customer_ref)
            if document is None or current is None:
                raise _not_found("customer", customer_ref)
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

    @v1.get("/quarters/{quarter}/summary", response_model=QuarterSummary, tags=["quarters"],
            responses={404: {"model": Problem}})
    def quarter_summary(quarter: Annotated[str, Path(pattern=r"^2[0-9]{3}-Q[1-4]$", examples=["2026-Q1"])],
                        who: Authenticated) -> dict:
        """The partner's totals for a quarter the pipeline has built."""
        with store.connect(data_dir) as con:
            row = con.execute("select document from quarter_summaries where partner_id = ? and quarter_start = ?",
                              [who.partner_id, Quarter.parse(quarter).start.isoformat()]).fetchone()
        if row is None:
            raise _not_found("quarter", quarter)
        return json.loads(row["document"])

    @v1.post("/webhooks", status_code=201, response_model=WebhookCreated, tags=["webhooks"])
    def create_webhook(subscription: WebhookIn, who: Authenticated) -> dict:
        """Register a URL for events; the answer holds the signing secret, shown this once."""
        try:
            webhook_targets.check(subscription.url, settings.allow_http_webhooks)
        except webhook_targets.RefusedTarget as exc:
            raise HTTPException(422, [{"loc": ["body", "url"], "type": "value_error", "msg": str(exc)}]) from None
        with store.connect(data_dir) as con:
            return webhooks.create_webhook(con, who.partner_id, subscription.url, list(subscription.event_types))

    @v1.get("/webhooks", response_model=list[Webhook], tags=["webhooks"])
    def list_webhooks(who: Authenticated) -> list[dict]:
        with store.connect(data_dir) as con:
            return webhooks.list_webhooks(con, who.partner_id)

    @v1.delete("/webhooks/{webhook_id}", status_code=204, tags=["webhooks"], responses={404: {"model": Problem}})
    def delete_webhook(webhook_id: Annotated[str, Path(max_length=64)], who: Authenticated) -> Response:
        with store.connect(data_dir) as con, store.transaction(con):
            if not webhooks.delete_webhook(con, who.partner_id, webhook_id):
                raise _not_found("webhook", webhook_id)
        return Response(status_code=204)

    @v1.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryLog, tags=["webhooks"],
            responses={404: {"model": Problem}})
    def delivery_log(webhook_id: Annotated[str, Path(max_length=64)], who: Authenticated,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
        """The webhook's deliveries and every attempt (status code or error, duration), newest first."""
        with store.connect(data_dir) as con:
            if webhooks.find_webhook(con, who.partner_id, webhook_id) is None:
                raise _not_found("webhook", webhook_id)
            return webhooks.delivery_log(con, webhook_id, limit)

    @v1.get("/events", response_model=EventPage, tags=["webhooks"])
    def list_events(who: Authenticated, after: Annotated[str | None, Query(max_length=64)] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
        """Every event of the partner, oldest first, the same bodies the webhooks carry: to catch up."""
        with store.connect(data_dir) as con:
            events, next_after = webhooks.list_events(con, who.partner_id, after, limit)
        return {"events": events, "next_after": next_after}

    app.include_router(v1)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog)
    return app


def _not_found(kind: str, ref: str) -> HTTPException:
    return HTTPException(404, f"no {kind} {ref!r} for this key")


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

