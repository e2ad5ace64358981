"""/v1/webhooks and /v1/events: the partner's webhook subscriptions, their delivery log, and every event
to catch up with."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response

from joulo_pipelines.lib.api import store, webhook_targets, webhooks
from joulo_pipelines.lib.api.dependencies import Authenticated, Folder, Settings, not_found
from joulo_pipelines.lib.api.models import DeliveryLog, EventPage, Problem, Webhook, WebhookCreated, WebhookIn

router = APIRouter(tags=["webhooks"])


@router.post("/webhooks", status_code=201, response_model=WebhookCreated)
def create_webhook(subscription: WebhookIn, who: Authenticated, data_dir: Folder, settings: Settings) -> dict:
    """Register a URL for events; the answer holds the signing secret, shown this once."""
    try:
        webhook_targets.check(subscription.url, settings.allow_http_webhooks)
    except webhook_targets.RefusedTarget as exc:
        raise HTTPException(422, [{"loc": ["body", "url"], "type": "value_error", "msg": str(exc)}]) from None
    with store.connect(data_dir) as con:
        return webhooks.create_webhook(con, who.partner_id, subscription.url, list(subscription.event_types))


@router.get("/webhooks", response_model=list[Webhook])
def list_webhooks(who: Authenticated, data_dir: Folder) -> list[dict]:
    with store.connect(data_dir) as con:
        return webhooks.list_webhooks(con, who.partner_id)


@router.delete("/webhooks/{webhook_id}", status_code=204, responses={404: {"model": Problem}})
def delete_webhook(webhook_id: Annotated[str, Path(max_length=64)], who: Authenticated, data_dir: Folder) -> Response:
    with store.connect(data_dir) as con, store.transaction(con):
        if not webhooks.delete_webhook(con, who.partner_id, webhook_id):
            raise not_found("webhook", webhook_id)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryLog, responses={404: {"model": Problem}})
def delivery_log(webhook_id: Annotated[str, Path(max_length=64)], who: Authenticated, data_dir: Folder,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    """The webhook's deliveries and every attempt (status code or error, duration), newest first."""
    with store.connect(data_dir) as con:
        if webhooks.find_webhook(con, who.partner_id, webhook_id) is None:
            raise not_found("webhook", webhook_id)
        return webhooks.delivery_log(con, webhook_id, limit)


@router.get("/events", response_model=EventPage)
def list_events(who: Authenticated, data_dir: Folder, after: Annotated[str | None, Query(max_length=64)] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    """Every event of the partner, oldest first, the same bodies the webhooks carry: to catch up."""
    with store.connect(data_dir) as con:
        events, next_after = webhooks.list_events(con, who.partner_id, after, limit)
    return {"events": events, "next_after": next_after}
